//! A client connection gives back the room a large request or reply took
//! once it is done with it: moxi's memory follows what is in flight, not
//! the largest message each connection ever carried. (The soak saw moxi
//! at 300 MB and climbing with 500 clients and values up to 200 KB.)
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// VmRSS of `pid`, in kB.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap()
}

/// Stores and reads back a `len`-byte value on a new connection, which
/// stays open.
fn large_round_trip(addr: std::net::SocketAddr, key: &str, len: usize) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let value = vec![b'v'; len];
    let mut req = format!("set {key} 0 0 {len}\r\n").into_bytes();
    req.extend_from_slice(&value);
    req.extend_from_slice(format!("\r\nget {key}\r\n").as_bytes());
    s.write_all(&req).unwrap();
    let want = format!("STORED\r\nVALUE {key} 0 {len}\r\n").len() + len + "\r\nEND\r\n".len();
    let mut got = vec![0u8; want];
    s.read_exact(&mut got).unwrap();
    assert!(got.ends_with(b"\r\nEND\r\n"));
    s
}

#[test]
fn idle_connections_do_not_keep_large_buffers() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mc = common::memcacheds(1);
    let servers = common::server_list(&[mc[0].addr()]);
    let (moxi, entry) = common::moxi_z(
        |port| format!("{port}={servers}"),
        "downstream_protocol=ascii",
    );
    const LEN: usize = 600 * 1024;
    // Warm up: the first large messages size the allocator's pools.
    let _warm: Vec<TcpStream> = (0..2)
        .map(|i| large_round_trip(entry, &format!("w{i}"), LEN))
        .collect();
    let before = rss_kb(moxi.pid());
    let conns: Vec<TcpStream> = (0..48)
        .map(|i| large_round_trip(entry, &format!("k{i}"), LEN))
        .collect();
    let grown = rss_kb(moxi.pid()).saturating_sub(before);
    // Kept buffers would be 48 x (600 KB read + 600 KB write) = 56 MB.
    assert!(
        grown < 16 * 1024,
        "moxi grew {grown} kB for {} idle connections",
        conns.len()
    );
}
