//! Downstream failures a real memcached cannot be made to produce, played by
//! `testkit::mock`: a server that stalls, closes mid-reply, dribbles its
//! reply byte by byte, answers garbage, or is not there at all. Each must
//! give the client moxi's reply (behaviour inventory 5.5), never hang it,
//! and leave the client connection usable.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::time::{Duration, Instant};

use common::{bin, op, set_extras, status, Client};
use proxy::topology::DownstreamProtocol;
use testkit::mock::{
    binary_reply, empty_cache_ascii_reply, empty_cache_binary_reply, MockServer, Received,
};

const BOTH: [DownstreamProtocol; 2] = [DownstreamProtocol::Ascii, DownstreamProtocol::Binary];

/// A proxy in front of `mocks` with `downstream_timeout` = `timeout_ms`.
fn proxy(mocks: &[std::net::SocketAddr], ds: DownstreamProtocol, timeout_ms: u64) -> common::Proxy {
    common::start(common::topology_with_timeout(
        common::servers_of(mocks),
        ds,
        timeout_ms,
    ))
}

/// Answers like an empty memcached, in either protocol.
fn answer_empty(conn: &mut testkit::mock::MockConn, req: &Received) {
    match req {
        Received::Ascii { line, .. } => conn.send(empty_cache_ascii_reply(line)),
        Received::Binary(b) => conn.send(&empty_cache_binary_reply(b)),
    };
}

#[test]
fn stalled_server_times_out_with_moxis_replies() {
    let mock = MockServer::stalling().unwrap();
    for ds in BOTH {
        let p = proxy(&[mock.addr()], ds, 300);
        let mut c = Client::connect(p.addr());
        let started = Instant::now();
        c.send(b"set k 0 0 1\r\nx\r\n");
        c.expect(b"SERVER_ERROR proxy downstream timeout 127.0.0.1\r\n");
        assert!(started.elapsed() >= Duration::from_millis(300));
        c.send(b"get k\r\nget a b c\r\n");
        c.expect(b"END\r\nEND\r\n");
        c.send(b"flush_all\r\n");
        c.expect(b"SERVER_ERROR proxy downstream timeout\r\n");
        let mut b = Client::connect(p.addr());
        b.send(&bin(op::SET, b"k", &set_extras(0, 0), b"x", 7));
        b.send(&bin(op::GETK, b"k", &[], &[], 8));
        for opaque in [7, 8] {
            let f = b.read_frame();
            assert_eq!((f.status, f.opaque), (status::EBUSY, opaque), "{ds:?}");
            assert_eq!(f.value, b"System is busy");
        }
    }
}

#[test]
fn refused_connection_is_a_write_error() {
    let port = testkit::free_port();
    let nobody = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    for ds in BOTH {
        let p = proxy(&[nobody], ds, 1000);
        let mut c = Client::connect(p.addr());
        c.send(b"set k 0 0 1\r\nx\r\nincr k 1\r\ndelete k\r\nget k\r\n");
        c.expect(b"SERVER_ERROR proxy write to downstream 127.0.0.1\r\n");
        c.expect(b"SERVER_ERROR proxy write to downstream 127.0.0.1\r\n");
        c.expect(b"SERVER_ERROR proxy write to downstream 127.0.0.1\r\n");
        c.expect(b"END\r\n");
        c.send(b"flush_all\r\n");
        c.expect(b"SERVER_ERROR proxy write to downstream\r\n");
        let mut b = Client::connect(p.addr());
        b.send(&bin(op::SET, b"k", &set_extras(0, 0), b"x", 1));
        b.send(&bin(op::GET, b"k", &[], &[], 2));
        for opaque in [1, 2] {
            let f = b.read_frame();
            assert_eq!((f.status, f.opaque), (status::EINTERNAL, opaque), "{ds:?}");
        }
    }
}

/// A server that closes right after reading a request: moxi retries once,
/// then reports the close.
#[test]
fn server_closing_on_every_request_is_retried_once_then_reported() {
    for ds in BOTH {
        let mock = MockServer::start(|conn| {
            let _ = conn.read_request();
        })
        .unwrap();
        let p = proxy(&[mock.addr()], ds, 2000);
        let mut c = Client::connect(p.addr());
        c.send(b"set k 0 0 1\r\nx\r\n");
        c.expect(b"SERVER_ERROR proxy downstream closed 127.0.0.1\r\n");
        assert_eq!(mock.sessions(), 2, "{ds:?}: the set is sent twice");
        c.send(b"get k\r\n");
        c.expect(b"END\r\n");
    }
}

/// Every reply cut short: after the `VALUE` line, inside the data, inside a
/// second value, inside the binary header. The client sees a miss (`END`),
/// and the next request, on a fresh downstream connection, works.
#[test]
fn close_mid_value_reads_as_a_miss() {
    let ascii_cuts: [&[u8]; 4] = [
        b"VALUE k 0 5\r\n",
        b"VALUE k 0 5\r\nhel",
        b"VALUE k 0 5\r\nhello\r\nVALUE m 0 3\r\nab",
        b"VALU",
    ];
    for cut in ascii_cuts {
        let mock = MockServer::start(move |conn| {
            while let Some(req) = conn.read_request() {
                if req.line().is_some_and(|l| l.starts_with(b"get")) && conn.session() < 2 {
                    conn.send(cut);
                    return;
                }
                answer_empty(conn, &req);
            }
        })
        .unwrap();
        let p = proxy(&[mock.addr()], DownstreamProtocol::Ascii, 2000);
        let mut c = Client::connect(p.addr());
        c.send(b"get k m\r\n");
        c.expect(b"END\r\n");
        c.send(b"set k 0 0 1\r\nx\r\n");
        c.expect(b"STORED\r\n");
    }
    let mock = MockServer::start(|conn| {
        while let Some(Received::Binary(req)) = conn.read_request() {
            if req.opcode == op::GETKQ && conn.session() < 2 {
                let full = binary_reply(&req, 0, 9, &[0, 0, 0, 0], &req.key, b"hello");
                conn.send(&full[..full.len() - 2]);
                return;
            }
            conn.send(&empty_cache_binary_reply(&req));
        }
    })
    .unwrap();
    let p = proxy(&[mock.addr()], DownstreamProtocol::Binary, 2000);
    let mut c = Client::connect(p.addr());
    c.send(b"get k m\r\n");
    c.expect(b"END\r\n");
    c.send(b"set k 0 0 1\r\nx\r\n");
    c.expect(b"STORED\r\n");
}

#[test]
fn replies_dribbled_byte_by_byte_arrive_whole() {
    let gap = Duration::from_micros(200);
    let mock = MockServer::start(move |conn| {
        while let Some(req) = conn.read_request() {
            let reply: Vec<u8> = match &req {
                Received::Ascii { line, .. } if line.starts_with(b"get") => {
                    b"VALUE k 3 5\r\nhello\r\nVALUE m 0 0\r\n\r\nEND\r\n".to_vec()
                }
                Received::Ascii { .. } => b"STORED\r\n".to_vec(),
                Received::Binary(b) if b.opcode == op::GETKQ && b.key == b"m" => {
                    binary_reply(b, 0, 5, &[0, 0, 0, 0], &b.key, b"")
                }
                Received::Binary(b) if b.opcode == op::GETKQ => {
                    binary_reply(b, 0, 5, &[0, 0, 0, 3], &b.key, b"hello")
                }
                Received::Binary(b) => empty_cache_binary_reply(b),
            };
            conn.dribble(&reply, gap);
        }
    })
    .unwrap();
    for ds in BOTH {
        let p = proxy(&[mock.addr()], ds, 3000);
        let mut c = Client::connect(p.addr());
        // (Both keys asked for: moxi refuses a VALUE for a key it did not
        // ask for as out of step.)
        c.send(b"set k 3 0 5\r\nhello\r\nget k m\r\n");
        c.expect(b"STORED\r\nVALUE k 3 5\r\nhello\r\nVALUE m 0 0\r\n\r\nEND\r\n");
    }
}

/// Garbage from the server: an unknown ascii line, a binary frame with an
/// opaque nobody asked for. The request fails, the client connection stays,
/// and the next request (on a new downstream connection) works.
#[test]
fn wrong_replies_fail_the_request_not_the_client() {
    let mock = MockServer::start(|conn| {
        while let Some(req) = conn.read_request() {
            match &req {
                Received::Ascii { line, .. } if line.ends_with(b"garbage") => {
                    conn.send(b"HELLO THERE\r\n");
                }
                Received::Binary(b) if b.key == b"garbage" => {
                    let mut wrong = b.clone();
                    wrong.opaque ^= 0xdead_beef;
                    conn.send(&empty_cache_binary_reply(&wrong));
                }
                _ => answer_empty(conn, &req),
            }
        }
    })
    .unwrap();
    for ds in BOTH {
        let p = proxy(&[mock.addr()], ds, 2000);
        let mut c = Client::connect(p.addr());
        c.send(b"delete garbage\r\n");
        let line = c.read_line();
        assert!(
            line.starts_with(b"SERVER_ERROR proxy downstream closed"),
            "{ds:?}: {}",
            testkit::escape_bytes(&line)
        );
        c.send(b"set k 0 0 1\r\nx\r\nget garbage\r\nset k 0 0 1\r\nx\r\n");
        c.expect(b"STORED\r\nEND\r\nSTORED\r\n");
    }
}

/// One stalled server does not hold up clients whose keys live elsewhere,
/// and a multi-get spanning both returns the healthy server's hits once the
/// stalled one times out.
#[test]
fn a_stalled_server_does_not_disturb_the_healthy_one() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mcs = common::memcacheds(1);
    let stall = MockServer::stalling().unwrap();
    let addrs = [stall.addr(), mcs[0].addr()];
    for ds in BOTH {
        let topo = common::topology_with_timeout(common::servers_of(&addrs), ds, 700);
        let keys = common::key_per_server(&topo, "k");
        let (stalled_key, healthy_key) = (&keys[0], &keys[1]);
        let p = common::start(topo);
        let mut waiting = Client::connect(p.addr());
        waiting.send(format!("set {stalled_key} 0 0 1\r\nx\r\n").as_bytes());
        let started = Instant::now();
        let mut other = Client::connect(p.addr());
        for i in 0..50 {
            other.send(
                format!("set {healthy_key} 0 0 2\r\n{i:02}\r\nget {healthy_key}\r\n").as_bytes(),
            );
            other.expect(
                format!("STORED\r\nVALUE {healthy_key} 0 2\r\n{i:02}\r\nEND\r\n").as_bytes(),
            );
        }
        assert!(
            started.elapsed() < Duration::from_millis(700),
            "{ds:?}: the healthy server's client waited for the stalled one"
        );
        waiting.expect(b"SERVER_ERROR proxy downstream timeout 127.0.0.1\r\n");
        waiting.send(format!("get {stalled_key} {healthy_key}\r\n").as_bytes());
        waiting.expect(format!("VALUE {healthy_key} 0 2\r\n49\r\nEND\r\n").as_bytes());
    }
}
