//! Multi-gets through the proxy: split per server, each distinct key asked
//! once, hits written in the request's key order (duplicates repeated) with
//! one `END`; binary quiet-get runs ended by a NOOP.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::sync::{Arc, Mutex};

use common::{bin, op, set_extras, status, Client};
use proxy::topology::{DownstreamProtocol, Timeouts};
use testkit::mock::{empty_cache_ascii_reply, empty_cache_binary_reply, MockServer, Received};

const BOTH: [DownstreamProtocol; 2] = [DownstreamProtocol::Ascii, DownstreamProtocol::Binary];

fn total(addrs: &[std::net::SocketAddr], name: &str) -> u64 {
    addrs.iter().map(|&a| common::stat(a, name)).sum()
}

/// `get a b a c` over four memcached: VALUEs in request order, one END, and
/// the servers were asked for three keys, not four.
#[test]
fn multi_get_keeps_key_order_and_asks_each_key_once() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mcs = common::memcacheds(4);
    let addrs: Vec<_> = mcs.iter().map(|m| m.addr()).collect();
    for ds in BOTH {
        let topo = common::topology(common::servers_of(&addrs), ds, Timeouts::default());
        // One key per server; request them in reverse server order.
        let mut keys = common::key_per_server(&topo, &format!("{ds:?}-"));
        keys.reverse();
        let (a, b, c) = (&keys[0], &keys[1], &keys[2]);
        let p = common::start(topo);
        let mut cl = Client::connect(p.addr());
        for (i, k) in keys.iter().enumerate() {
            cl.send(format!("set {k} {i} 0 2\r\nv{i}\r\n").as_bytes());
            cl.expect(b"STORED\r\n");
        }
        let value = |i: usize| format!("VALUE {} {i} 2\r\nv{i}\r\n", keys[i]);
        let want = format!("{}{}{}{}END\r\n", value(0), value(1), value(0), value(2));
        for cmd in ["get", "gets", "gat 1000", "gats 1000"] {
            let (gets, touches) = (total(&addrs, "cmd_get"), total(&addrs, "cmd_touch"));
            cl.send(format!("{cmd} {a} {b} {a} {c} missing-{ds:?}\r\n").as_bytes());
            if cmd.starts_with("gets") || cmd.starts_with("gats") {
                // The CAS differs per item: check the shape line by line.
                let mut lines = Vec::new();
                while lines.last().map(Vec::as_slice) != Some(b"END\r\n".as_slice()) {
                    lines.push(cl.read_line());
                }
                let shown: String = lines
                    .iter()
                    .map(|l| String::from_utf8_lossy(l).into_owned())
                    .map(|l| match l.strip_prefix("VALUE ") {
                        Some(v) => format!("VALUE {}\r\n", v.rsplit_once(' ').unwrap().0),
                        None => l,
                    })
                    .collect();
                assert_eq!(shown, want, "{ds:?} {cmd}");
            } else {
                cl.expect(want.as_bytes());
            }
            let asked = if cmd.starts_with("ga") {
                total(&addrs, "cmd_touch") - touches
            } else {
                total(&addrs, "cmd_get") - gets
            };
            assert_eq!(asked, 4, "{ds:?} {cmd}: a, b, c and the miss, each once");
        }
    }
}

/// What a mock downstream receives for a multi-get with duplicates.
#[test]
fn duplicates_are_requested_once_on_the_wire() {
    let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
    let log = seen.clone();
    let mock = MockServer::start(move |conn| {
        while let Some(req) = conn.read_request() {
            log.lock().unwrap().push(req.clone());
            match &req {
                Received::Ascii { line, .. } => conn.send(empty_cache_ascii_reply(line)),
                Received::Binary(b) => conn.send(&empty_cache_binary_reply(b)),
            };
        }
    })
    .unwrap();
    for ds in BOTH {
        let p = common::proxy_for(&[mock.addr()], ds);
        let mut c = Client::connect(p.addr());
        c.send(b"get a b a c\r\ngets b b\r\ngat 10 c a c\r\n");
        c.expect(b"END\r\nEND\r\nEND\r\n");
        let got: Vec<Received> = std::mem::take(&mut *seen.lock().unwrap());
        match ds {
            DownstreamProtocol::Ascii => {
                let lines: Vec<&[u8]> = got.iter().filter_map(Received::line).collect();
                assert_eq!(
                    lines,
                    [&b"get a b c"[..], b"gets b", b"gat 10 c a"],
                    "{ds:?}"
                );
            }
            DownstreamProtocol::Binary => {
                let frames: Vec<(u8, Vec<u8>)> = got
                    .iter()
                    .filter_map(Received::binary)
                    .map(|b| (b.opcode, b.key.clone()))
                    .collect();
                let (getkq, gatkq, noop) = (0x0d, 0x24, op::NOOP);
                let want: Vec<(u8, Vec<u8>)> = [
                    (getkq, "a"),
                    (getkq, "b"),
                    (getkq, "c"),
                    (noop, ""),
                    (getkq, "b"),
                    (noop, ""),
                    (gatkq, "c"),
                    (gatkq, "a"),
                    (noop, ""),
                ]
                .into_iter()
                .map(|(o, k)| (o, k.as_bytes().to_vec()))
                .collect();
                assert_eq!(frames, want, "{ds:?}");
            }
        }
    }
}

/// Binary GETKQ/GETQ/GETK runs over four servers, ended by a NOOP: hits
/// answer (in request order), misses are silent, the NOOP comes last.
#[test]
fn binary_quiet_get_runs_end_with_the_noop() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mcs = common::memcacheds(4);
    let addrs: Vec<_> = mcs.iter().map(|m| m.addr()).collect();
    for ds in BOTH {
        let topo = common::topology(common::servers_of(&addrs), ds, Timeouts::default());
        let keys = common::key_per_server(&topo, &format!("q{ds:?}-"));
        let p = common::start(topo);
        let mut c = Client::connect(p.addr());
        for (i, k) in keys.iter().enumerate() {
            c.send(&bin(
                op::SETQ,
                k.as_bytes(),
                &set_extras(i as u32, 0),
                k.as_bytes(),
                0,
            ));
        }
        let k = |i: usize| keys[i].as_bytes();
        c.send(&bin(op::GETKQ, k(3), &[], &[], 1));
        c.send(&bin(op::GETKQ, b"missing", &[], &[], 2));
        c.send(&bin(op::GETQ, k(1), &[], &[], 3));
        c.send(&bin(op::GETQ, b"missing", &[], &[], 4));
        c.send(&bin(op::GETK, k(0), &[], &[], 5));
        c.send(&bin(op::GETKQ, k(2), &[], &[], 6));
        c.send(&bin(op::NOOP, &[], &[], &[], 7));
        let want: [(u8, u32, usize, bool); 4] = [
            (op::GETKQ, 1, 3, true),
            (op::GETQ, 3, 1, false),
            (op::GETK, 5, 0, true),
            (op::GETKQ, 6, 2, true),
        ];
        for (opcode, opaque, i, with_key) in want {
            let f = c.read_frame();
            assert_eq!(
                (f.opcode, f.status, f.opaque),
                (opcode, status::OK, opaque),
                "{ds:?}"
            );
            assert_eq!(f.extras, (i as u32).to_be_bytes(), "{ds:?}: flags");
            assert_eq!(f.value, k(i), "{ds:?}");
            let key: &[u8] = if with_key { k(i) } else { b"" };
            assert_eq!(f.key, key, "{ds:?}");
            assert_ne!(f.cas, 0, "{ds:?}: a hit carries its CAS");
        }
        let noop = c.read_frame();
        assert_eq!((noop.opcode, noop.opaque), (op::NOOP, 7), "{ds:?}");
        assert!(c.finish().is_empty(), "{ds:?}: nothing after the NOOP");
    }
}
