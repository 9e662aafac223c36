//! The `--metrics` endpoint: scraped and parsed after traffic through the
//! proxy in front of the embedded server.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::http_get;

mod common;

/// `name{labels}` -> value, for every sample line.
fn parse(text: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (name, value) = line.rsplit_once(' ').unwrap();
        out.insert(
            name.to_string(),
            value
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("bad sample {line}")),
        );
    }
    out
}

#[test]
fn metrics_endpoint_counts_requests_and_reports_ready() {
    // Picked together, so that no two are the same port.
    let ports = testkit::topology::free_ports(3).unwrap();
    let (server_port, proxy_port, admin_port) = (ports[0], ports[1], ports[2]);
    let proxy: SocketAddr = ([127, 0, 0, 1], proxy_port).into();
    let admin: SocketAddr = ([127, 0, 0, 1], admin_port).into();
    let z = format!("{proxy_port}=127.0.0.1:{server_port}");
    let metrics_arg = admin.to_string();
    let server_arg = server_port.to_string();
    let args = [
        "-l",
        "127.0.0.1",
        "-t",
        "2",
        "-p",
        &server_arg,
        "-z",
        &z,
        "--metrics",
        &metrics_arg,
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_moxi"))
        .args(args)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(admin).is_err() {
        assert!(std::time::Instant::now() < deadline, "moxi did not start");
        std::thread::yield_now();
    }
    let mut c = TcpStream::connect(proxy).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"set a 0 0 1\r\nx\r\nget a\r\nget nope\r\nincr a 1\r\n")
        .unwrap();
    let want = b"STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\nEND\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n";
    let mut got = vec![0; want.len()];
    c.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));

    let (status, body) = http_get(admin, "/readyz");
    assert_eq!((status, body.as_str()), (200, "ready\n"));
    let (status, text) = http_get(admin, "/metrics");
    assert_eq!(status, 200);
    let m = parse(&text);
    assert_eq!(
        m["moxi_requests_total{command=\"set\",result=\"ok\"}"], 1.0,
        "{text}"
    );
    assert_eq!(m["moxi_requests_total{command=\"get\",result=\"ok\"}"], 1.0);
    assert_eq!(
        m["moxi_requests_total{command=\"get\",result=\"miss\"}"],
        1.0
    );
    assert_eq!(
        m["moxi_requests_total{command=\"incr\",result=\"error\"}"],
        1.0
    );
    assert_eq!(
        m["moxi_request_duration_seconds_count{command=\"get\"}"],
        2.0
    );
    assert_eq!(
        m["moxi_request_duration_seconds_bucket{command=\"get\",le=\"+Inf\"}"],
        2.0
    );
    assert!(m["moxi_client_read_bytes_total"] >= 40.0);
    assert!(m["moxi_client_connections"] >= 1.0);
    assert_eq!(m["moxi_config_version"], 1.0);
    // Every bucket is there and the counts are cumulative.
    let mut last = 0.0;
    for le in ["0.00005", "0.0001", "0.00025", "0.0005", "0.001", "5"] {
        let key = format!("moxi_request_duration_seconds_bucket{{command=\"get\",le=\"{le}\"}}");
        let v = *m
            .get(&key)
            .unwrap_or_else(|| panic!("missing {key}:\n{text}"));
        assert!(v >= last, "{key} is not cumulative");
        last = v;
    }
    assert_eq!(last, 2.0);
    assert_eq!(http_get(admin, "/nope").0, 404);
    child.kill().unwrap();
    let _ = child.wait();
}
