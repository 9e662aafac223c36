//! The moxi binary with vBucket clusters: `-z PORT={json}`, the seed
//! README's `vbucket1.cfg` file form, an ascii downstream refused at
//! start-up, and REST URLs (positional, `-z url=` with `|` fallbacks and
//! `auth=`), all in front of real memcached.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{free_ports, local, memcacheds, MOXI};
use testkit::rest_server::RestServer;
use testkit::ChildServer;

/// The seed README's example file, byte for byte.
const README_CFG: &str = r#"  11211 = {
    "hashAlgorithm": "CRC",
    "numReplicas": 0,
    "serverList": ["memcached_svr1:11311"],
    "vBucketMap":
      [
        [0],
        [0]
      ]
  }
"#;

fn map_json(addrs: &[SocketAddr], vbuckets: usize) -> String {
    let servers: Vec<String> = addrs.iter().map(|a| format!("\"{a}\"")).collect();
    let map: Vec<String> = (0..vbuckets)
        .map(|vb| format!("[{}]", vb % addrs.len()))
        .collect();
    format!(
        r#"{{"hashAlgorithm":"CRC","numReplicas":0,"serverList":[{}],"vBucketMap":[{}]}}"#,
        servers.join(","),
        map.join(",")
    )
}

/// Sends `req` and reads until the reply ends with `end` (or 5 s pass).
fn ask(addr: SocketAddr, req: &[u8], end: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(req).unwrap();
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    while !got.ends_with(end) {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
        }
    }
    got
}

/// Retries `set` until it is stored: the REST config arrives a little
/// after the port opens (bounded polling, no fixed sleep).
fn wait_stored(addr: SocketAddr, key: &str) {
    let start = Instant::now();
    let req = format!("set {key} 0 0 1\r\nx\r\n");
    loop {
        let got = ask(addr, req.as_bytes(), b"\r\n");
        if got == b"STORED\r\n" {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no config applied: {}",
            String::from_utf8_lossy(&got)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn vbucket_json_on_the_command_line() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mcs = memcacheds(2);
    let addrs: Vec<SocketAddr> = mcs.iter().map(|m| m.addr()).collect();
    let json = map_json(&addrs, 16);
    let (_moxi, entry) = common::moxi_z(|port| format!("{port}={json}"), "");
    let port = entry.port();
    for i in 0..20 {
        let k = format!("key{i}");
        let set = format!("set {k} 0 0 {}\r\n{k}\r\n", k.len());
        assert_eq!(ask(local(port), set.as_bytes(), b"\r\n"), b"STORED\r\n");
        let vb = usize::from(routing::vbucket_id(k.as_bytes(), 16));
        let hit = format!("VALUE {k} 0 {}\r\n{k}\r\nEND\r\n", k.len());
        let get = format!("get {k}\r\n");
        assert_eq!(
            ask(addrs[vb % 2], get.as_bytes(), b"END\r\n"),
            hit.as_bytes()
        );
        assert_eq!(
            ask(addrs[1 - vb % 2], get.as_bytes(), b"END\r\n"),
            b"END\r\n"
        );
    }
}

#[test]
fn the_readme_vbucket_cfg_file() {
    let dir = std::env::temp_dir().join(format!("moxi-vbucket-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Verbatim but for the port, which must be free here.
    let path = dir.join("vbucket1.cfg");
    let (_moxi, entry) = common::moxi_z(
        |port| {
            std::fs::write(&path, README_CFG.replace("11211", &port.to_string())).unwrap();
            path.to_str().unwrap().to_string()
        },
        "connect_timeout=300",
    );
    let port = entry.port();
    // memcached_svr1 does not exist here; in vBucket mode gets see the error.
    let got = ask(local(port), b"get k\r\n", b"\r\n");
    assert_eq!(
        got,
        b"SERVER_ERROR proxy write to downstream memcached_svr1\r\n"
    );
    if testkit::require_tool("memcached") {
        let mcs = memcacheds(1);
        let path = dir.join("vbucket2.cfg");
        let (_moxi, entry) = common::moxi_z(
            |port| {
                let text = README_CFG
                    .replace("11211", &port.to_string())
                    .replace("memcached_svr1:11311", &mcs[0].addr().to_string());
                std::fs::write(&path, text).unwrap();
                path.to_str().unwrap().to_string()
            },
            "",
        );
        let port = entry.port();
        assert_eq!(
            ask(local(port), b"set a 0 0 1\r\nb\r\n", b"\r\n"),
            b"STORED\r\n"
        );
        let got = ask(mcs[0].addr(), b"get a\r\n", b"END\r\n");
        assert_eq!(got, b"VALUE a 0 1\r\nb\r\nEND\r\n");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ascii_downstream_is_refused_for_vbucket_maps() {
    let port = free_ports(1)[0];
    let json = map_json(&[local(11311)], 2);
    let out = Command::new(MOXI)
        .args(["-l", "127.0.0.1", "-z", &format!("{port}={json}")])
        .args(["-Z", "downstream_protocol=ascii"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("needs the binary downstream protocol"),
        "{err}"
    );
}

fn streaming_config(body: String) -> RestServer {
    RestServer::start(move |conn| {
        conn.start_chunked();
        conn.chunk(format!("{body}\n\n\n\n").as_bytes());
        conn.hold(Duration::from_secs(30));
    })
    .unwrap()
}

#[test]
fn a_rest_url_as_the_last_argument() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mcs = memcacheds(2);
    let addrs: Vec<SocketAddr> = mcs.iter().map(|m| m.addr()).collect();
    let rest = streaming_config(map_json(&addrs, 8));
    let port = free_ports(1)[0];
    let url = rest.url("/pools/default/bucketsStreamingConfig/default");
    let listen = format!("port_listen={port}");
    let args = ["-l", "127.0.0.1", "-t", "2", "-Z", &listen, &url];
    let _moxi = ChildServer::spawn(MOXI, args, local(port)).unwrap();
    wait_stored(local(port), "k");
    let got = ask(local(port), b"get k\r\n", b"END\r\n");
    assert_eq!(got, b"VALUE k 0 1\r\nx\r\nEND\r\n");
    assert_eq!(rest.requests().len(), 1, "one streaming request");
}

#[test]
fn rest_urls_fall_back_and_send_credentials() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mcs = memcacheds(1);
    let body = format!(
        r#"{{"buckets":[{{"name":"default","vBucketServerMap":{}}}]}}"#,
        map_json(&[mcs[0].addr()], 4)
    );
    let rest = streaming_config(body);
    let [port, dead] = free_ports(2)[..] else {
        unreachable!()
    };
    let z = format!(
        "auth=TheUser%ThePassword,url=http://127.0.0.1:{dead}/x|{}",
        rest.url("/pools/default/saslBucketsStreaming")
    );
    let listen = format!("port_listen={port}");
    let args = ["-l", "127.0.0.1", "-t", "2", "-Z", &listen, "-z", &z];
    let _moxi = ChildServer::spawn(MOXI, args, local(port)).unwrap();
    wait_stored(local(port), "k");
    let head = &rest.requests()[0];
    // base64("TheUser:ThePassword")
    assert!(
        head.contains("Authorization: Basic VGhlVXNlcjpUaGVQYXNzd29yZA=="),
        "{head}"
    );
    assert!(head.starts_with("GET /pools/default/saslBucketsStreaming HTTP/1.1"));
}
