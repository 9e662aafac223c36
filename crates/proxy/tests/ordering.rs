//! noreply and quiet commands keep their place: a client pipelining silent
//! updates interleaved with reads of the same keys always reads the latest
//! value, and nothing is written for the silent commands. (The original
//! moxi did not guarantee this; memcached's noreply.t was skipped for it.)
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::collections::HashMap;

use common::{bin, op, set_extras, status, Client};
use proxy::topology::{DownstreamProtocol, Timeouts};

const BOTH: [DownstreamProtocol; 2] = [DownstreamProtocol::Ascii, DownstreamProtocol::Binary];
const ROUNDS: usize = 400;

fn proxy_over_three(
    ds: DownstreamProtocol,
    mcs: &[testkit::Memcached],
) -> (common::Proxy, Vec<String>) {
    let addrs: Vec<_> = mcs.iter().map(|m| m.addr()).collect();
    let topo = common::topology(common::servers_of(&addrs), ds, Timeouts::default());
    let keys = common::key_per_server(&topo, &format!("o{ds:?}-"));
    (common::start(topo), keys)
}

/// One silent update of `key` in round `i`, applied to `model`; returns the
/// ascii command.
fn ascii_update(i: usize, key: &str, model: &mut HashMap<String, String>) -> String {
    match i % 5 {
        0 | 1 => {
            let v = format!("v{i}");
            let cmd = format!("set {key} 0 0 {} noreply\r\n{v}\r\n", v.len());
            model.insert(key.to_owned(), v);
            cmd
        }
        2 => {
            if let Some(v) = model.get_mut(key) {
                v.push('+');
            }
            format!("append {key} 0 0 1 noreply\r\n+\r\n")
        }
        3 => {
            let n = i.to_string();
            model.insert(key.to_owned(), (i + 1).to_string());
            format!(
                "set {key} 0 0 {} noreply\r\n{n}\r\nincr {key} 1 noreply\r\n",
                n.len()
            )
        }
        _ => {
            model.remove(key);
            format!("delete {key} noreply\r\n")
        }
    }
}

#[test]
fn ascii_noreply_updates_never_overtake_reads() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mcs = common::memcacheds(3);
    for ds in BOTH {
        let (p, keys) = proxy_over_three(ds, &mcs);
        let mut model = HashMap::new();
        let mut input = String::from("flush_all noreply\r\n");
        let mut want = String::new();
        for i in 0..ROUNDS {
            let key = &keys[i % keys.len()];
            input += &ascii_update(i, key, &mut model);
            input += &format!("get {key}\r\n");
            if let Some(v) = model.get(key) {
                want += &format!("VALUE {key} 0 {}\r\n{v}\r\n", v.len());
            }
            want += "END\r\n";
        }
        let mut c = Client::connect(p.addr());
        c.send(input.as_bytes());
        let got = c.finish();
        assert_eq!(
            testkit::escape_bytes(&got),
            testkit::escape_bytes(want.as_bytes()),
            "{ds:?}"
        );
    }
}

/// A binary incr/decr extras block: delta, initial, exptime.
fn arith_extras(delta: u64, initial: u64, exptime: u32) -> Vec<u8> {
    let mut e = delta.to_be_bytes().to_vec();
    e.extend_from_slice(&initial.to_be_bytes());
    e.extend_from_slice(&exptime.to_be_bytes());
    e
}

/// SETQ, APPENDQ, DELETEQ and INCRQ (creating a missing counter, which an
/// ascii server needs several steps for) interleaved with GETs.
#[test]
fn binary_quiet_updates_never_overtake_reads() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mcs = common::memcacheds(3);
    for ds in BOTH {
        let (p, keys) = proxy_over_three(ds, &mcs);
        let mut model: HashMap<&str, String> = HashMap::new();
        let mut c = Client::connect(p.addr());
        c.send(&bin(op::FLUSH, &[], &[], &[], 0));
        let flushed = c.read_frame();
        assert_eq!(flushed.status, status::OK);
        let mut input = Vec::new();
        let mut want: Vec<(u32, Option<String>)> = Vec::new();
        for i in 0..ROUNDS {
            // Rounds of four on one key: set, append, delete, incr.
            let key = keys[(i / 4) % keys.len()].as_str();
            let k = key.as_bytes();
            match i % 4 {
                0 => {
                    let v = format!("v{i}");
                    input.extend(bin(op::SETQ, k, &set_extras(0, 0), v.as_bytes(), 0));
                    model.insert(key, v);
                }
                1 => {
                    input.extend(bin(op::APPENDQ, k, &[], b"+", 0));
                    if let Some(v) = model.get_mut(key) {
                        v.push('+');
                    }
                }
                2 => {
                    input.extend(bin(op::DELETEQ, k, &[], &[], 0));
                    model.remove(key);
                }
                _ => {
                    // The key was just deleted: INCRQ creates it with 7.
                    input.extend(bin(op::INCRQ, k, &arith_extras(1, 7, 0), &[], 0));
                    model.insert(key, "7".to_owned());
                }
            }
            let opaque = 1000 + i as u32;
            input.extend(bin(op::GET, k, &[], &[], opaque));
            want.push((opaque, model.get(key).cloned()));
        }
        input.extend(bin(op::NOOP, &[], &[], &[], 1));
        c.send(&input);
        for (opaque, value) in want {
            let f = c.read_frame();
            assert_eq!((f.opcode, f.opaque), (op::GET, opaque), "{ds:?}");
            match value {
                Some(v) => {
                    assert_eq!(f.status, status::OK, "{ds:?} opaque {opaque}");
                    assert_eq!(
                        String::from_utf8_lossy(&f.value),
                        v,
                        "{ds:?} opaque {opaque}"
                    );
                }
                None => assert_eq!(f.status, status::NOT_FOUND, "{ds:?} opaque {opaque}"),
            }
        }
        let noop = c.read_frame();
        assert_eq!((noop.opcode, noop.opaque), (op::NOOP, 1), "{ds:?}");
        assert!(
            c.finish().is_empty(),
            "{ds:?}: quiet commands wrote nothing"
        );
    }
}

/// flush_all is a barrier: with two proxies in front of one memcached (a
/// fan-in, as moxi's fanoutin test), a flush sent to both must neither
/// overtake a store pipelined before it nor be overtaken by one after it.
#[test]
fn flush_all_neither_overtakes_nor_is_overtaken() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mcs = common::memcacheds(1);
    for ds in BOTH {
        let inner_a = common::proxy_for(&[mcs[0].addr()], ds);
        let inner_b = common::proxy_for(&[mcs[0].addr()], ds);
        let outer = common::proxy_for(&[inner_a.addr(), inner_b.addr()], ds);
        let mut input = String::new();
        let mut want = String::new();
        for i in 0..100 {
            input += &format!("set k{i} 0 0 1\r\nx\r\nflush_all\r\nget k{i}\r\n");
            want += "STORED\r\nOK\r\nEND\r\n";
            input += &format!("flush_all noreply\r\nset j{i} 0 0 1\r\ny\r\nget j{i}\r\n");
            want += &format!("STORED\r\nVALUE j{i} 0 1\r\ny\r\nEND\r\n");
        }
        let mut c = Client::connect(outer.addr());
        c.send(input.as_bytes());
        let got = c.finish();
        assert_eq!(
            testkit::escape_bytes(&got),
            testkit::escape_bytes(want.as_bytes()),
            "{ds:?}"
        );
    }
}
