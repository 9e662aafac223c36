//! Downstream failures through the moxi binary, so the `-Z` timeouts are
//! covered from the command line: a server that accepts and never answers
//! (`-Z downstream_timeout=300`) and a server that is not there. Replies are
//! moxi's words (behaviour inventory 5.5 and 11).
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use testkit::mock::MockServer;

/// Sends `input` and reads exactly `want.len()` bytes (or fails after 5 s).
fn ask(addr: SocketAddr, input: &[u8], want: &[u8]) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(input).unwrap();
    let mut got = vec![0u8; want.len()];
    s.read_exact(&mut got)
        .unwrap_or_else(|e| panic!("{e} waiting for {}", testkit::escape_bytes(want)));
    assert_eq!(testkit::escape_bytes(&got), testkit::escape_bytes(want));
}

#[test]
fn stalled_server_times_out_after_downstream_timeout() {
    let mock = MockServer::stalling().unwrap();
    for ds in ["ascii", "binary"] {
        let mock_port = mock.addr().port();
        let behaviors = format!("downstream_protocol={ds},downstream_timeout=300");
        let (_moxi, entry) =
            common::moxi_z(|port| format!("{port}=127.0.0.1:{mock_port}"), &behaviors);
        let started = Instant::now();
        ask(
            entry,
            b"set a 0 0 1\r\nx\r\n",
            b"SERVER_ERROR proxy downstream timeout 127.0.0.1\r\n",
        );
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(300) && waited < Duration::from_secs(3),
            "{ds}: answered after {waited:?}"
        );
        ask(entry, b"get a b\r\n", b"END\r\n");
        ask(
            entry,
            b"flush_all\r\n",
            b"SERVER_ERROR proxy downstream timeout\r\n",
        );
    }
}

#[test]
fn absent_server_is_a_write_error() {
    for ds in ["ascii", "binary"] {
        // A port nothing listens on.
        let dead = common::free_ports(1)[0];
        let (_moxi, entry) = common::moxi_z(
            |port| format!("{port}=127.0.0.1:{dead}"),
            &format!("downstream_protocol={ds}"),
        );
        ask(
            entry,
            b"incr a 1\r\nget a\r\n",
            b"SERVER_ERROR proxy write to downstream 127.0.0.1\r\nEND\r\n",
        );
    }
}
