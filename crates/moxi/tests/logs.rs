//! What an operator reads at `-v`, `-vv` and `-vvv`: one line per server
//! state change with its cause (refused, unresolvable, timeout, protocol
//! error with the bytes), not one per request; at `-vv` a line per failed
//! request; at `-vvv` a line per request.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use testkit::ChildServer;

/// moxi with `flags` in front of the single server `server`.
fn moxi(server: &str, flags: &[&str]) -> (ChildServer, SocketAddr) {
    common::moxi_on_free_port(|port| {
        let z = format!("{port}={server}");
        common::argv(&[&["-l", "127.0.0.1", "-t", "1", "-z", &z], flags].concat())
    })
}

/// Sends `req` on a new connection and returns the first reply line.
fn ask(addr: SocketAddr, req: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    line
}

/// The lines of moxi's log that contain `what`, once at least one does
/// (bounded wait: the log is written as requests fail).
fn lines_with(moxi: &ChildServer, what: &str) -> Vec<String> {
    let start = Instant::now();
    loop {
        let found: Vec<String> = moxi
            .stderr_text()
            .lines()
            .filter(|l| l.contains(what))
            .map(String::from)
            .collect();
        if !found.is_empty() {
            return found;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "never logged {what:?}:\n{}",
            moxi.stderr_text()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A port nothing listens on (bound, then closed).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_refused_server_is_one_line_with_its_cause() {
    let server = format!("127.0.0.1:{}", closed_port());
    let (moxi, addr) = moxi(&server, &["-v", "-Z", "connect_max_errors=0"]);
    for i in 0..20 {
        let reply = ask(addr, &format!("set k{i} 0 0 1\r\nx\r\n"));
        assert!(
            reply.starts_with("SERVER_ERROR proxy write to downstream"),
            "{reply}"
        );
    }
    let want = format!("downstream {server}: failing: connect refused");
    let lines = lines_with(&moxi, &want);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(" INFO proxy::health::server_log: "),
        "{}",
        lines[0]
    );
    // -v is not -vv: no line per failed request.
    assert!(!moxi.stderr_text().contains("request to"));
}

#[test]
fn an_unresolvable_server_says_so() {
    let (moxi, addr) = moxi(
        "no-such-host.invalid:11211",
        &["-v", "-Z", "connect_timeout=5000"],
    );
    ask(addr, "set k 0 0 1\r\nx\r\n");
    lines_with(
        &moxi,
        "downstream no-such-host.invalid:11211: failing: unresolvable (",
    );
}

/// A server that accepts and answers each request with `reply` (or with
/// nothing when `reply` is empty: a stopped server).
fn scripted_server(reply: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = conn.read(&mut buf) {
                    if n == 0 {
                        return;
                    }
                    if !reply.is_empty() && conn.write_all(reply).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn a_protocol_error_shows_the_bytes_escaped() {
    let server = scripted_server(b"HELLO\x01 GARBAGE\r\n");
    let (moxi, addr) = moxi(
        &server.to_string(),
        &["-v", "-Z", "downstream_protocol=ascii"],
    );
    let reply = ask(addr, "set k 0 0 1\r\nx\r\n");
    assert!(reply.starts_with("SERVER_ERROR"), "{reply}");
    let lines = lines_with(
        &moxi,
        &format!("downstream {server}: failing: protocol error: "),
    );
    assert!(lines[0].contains(r"HELLO\x01 GARBAGE\r\n"), "{}", lines[0]);
}

#[test]
fn a_stopped_server_is_a_timeout_and_each_failure_shows_at_vv() {
    let server = scripted_server(b"");
    let (moxi, addr) = moxi(
        &server.to_string(),
        &["-vv", "-Z", "downstream_timeout=100"],
    );
    for i in 0..3 {
        let reply = ask(addr, &format!("set k{i} 0 0 1\r\nx\r\n"));
        assert_eq!(
            reply,
            format!("SERVER_ERROR proxy downstream timeout {server}\r\n")
        );
    }
    let lines = lines_with(
        &moxi,
        &format!("downstream {server}: failing: request timeout"),
    );
    assert_eq!(lines.len(), 1, "{lines:?}");
    let failed = format!(" DEBUG proxy::dispatch: request to {server} failed: timeout");
    let start = Instant::now();
    while lines_with(&moxi, &failed).len() < 3 {
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn every_request_shows_at_vvv() {
    let server = format!("127.0.0.1:{}", closed_port());
    let (moxi, addr) = moxi(&server, &["-vvv", "--log-format", "json"]);
    ask(addr, "get some_key\r\n");
    let lines = lines_with(&moxi, "\"command\":\"get\"");
    let v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(v["level"], "TRACE");
    assert_eq!(v["key"], "some_key");
    assert_eq!(v["result"], "miss");
}

#[test]
fn a_server_marked_down_says_why_without_v() {
    let server = format!("127.0.0.1:{}", closed_port());
    let (moxi, addr) = moxi(&server, &["-Z", "connect_max_errors=2"]);
    for i in 0..2 {
        ask(addr, &format!("set k{i} 0 0 1\r\nx\r\n"));
    }
    let want = format!(
        " WARN proxy::health: downstream {server}: down after 2 failed connects (last: connect refused)"
    );
    lines_with(&moxi, &want);
    assert!(
        !moxi.stderr_text().contains(" INFO proxy"),
        "{}",
        moxi.stderr_text()
    );
}
