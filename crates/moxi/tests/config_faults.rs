//! Configuration faults through the moxi binary. At start-up a `-z` cfg file
//! that cannot be read or holds an invalid config stops moxi with exit code
//! 1 and one line saying what to fix. In REST mode a config server that is
//! down at start, gone mid-stream, or pushing a bad config never stops
//! moxi: it logs what happened, keeps serving with the last good topology,
//! retries, and applies the next good config when one comes.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testkit::rest_server::{Feed, RestServer};
use testkit::ChildServer;

/// Bound on every "eventually" here (REST retries back off up to seconds).
const EVENTUALLY: Duration = Duration::from_secs(20);

/// A directory of its own under the temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("moxi-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs moxi in `dir` with `-z z` on a free port; it must exit (within
/// 10 s). Returns the exit code and stderr.
fn refused(dir: &Path, z: &str) -> (Option<i32>, String) {
    let port = common::free_ports(1)[0];
    let mut child = Command::new(common::MOXI)
        .current_dir(dir)
        .args(["-l", "127.0.0.1", "-z", z])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("moxi -z {z:?} did not exit (port {port})");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code(), err)
}

#[test]
fn an_unreadable_cfg_file_stops_moxi_with_the_reason() {
    let tmp = TempDir::new("cfg-unreadable");
    let dir = &tmp.0;
    let missing = dir.join("missing.cfg");
    let (code, err) = refused(dir, missing.to_str().unwrap());
    assert_eq!(code, Some(1));
    let want = format!(
        "ERROR: could not read cfg file: {}: No such file or directory (os error 2)\n",
        missing.display()
    );
    assert_eq!(err, want);
    // The relative form, from moxi's working directory.
    let (code, err) = refused(dir, "./missing.cfg");
    assert_eq!(code, Some(1));
    let want =
        "ERROR: could not read cfg file: ./missing.cfg: No such file or directory (os error 2)\n";
    assert_eq!(err, want);
    // A directory cannot be read as a file, whoever runs the test. (A
    // chmod 000 file would be read anyway by root, as CI may run; it is
    // checked only when it really is unreadable.)
    let (code, err) = refused(dir, dir.to_str().unwrap());
    assert_eq!(code, Some(1));
    let want = format!(
        "ERROR: could not read cfg file: {}: Is a directory (os error 21)\n",
        dir.display()
    );
    assert_eq!(err, want);
    let locked = dir.join("locked.cfg");
    std::fs::write(&locked, "11211=127.0.0.1:11311").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&locked).is_err() {
        let (code, err) = refused(dir, locked.to_str().unwrap());
        assert_eq!(code, Some(1));
        assert!(
            err.ends_with(": Permission denied (os error 13)\n"),
            "{err}"
        );
    }
}

#[test]
fn an_invalid_cfg_file_stops_moxi_naming_the_file() {
    let tmp = TempDir::new("cfg-invalid");
    let dir = &tmp.0;
    let cases = [
        (
            "bad.cfg",
            "11211={\"hashAlgorithm\":",
            "Failed to parse data. Invalid JSON?",
        ),
        ("empty.cfg", "\n", "empty cfg"),
        (
            "weight.cfg",
            "11211=127.0.0.1:1:x",
            "bad server \"127.0.0.1:1:x\" in server list: bad weight",
        ),
        (
            "replicas.cfg",
            "11211={\"hashAlgorithm\":\"CRC\",\"serverList\":[\"a:1\"],\"vBucketMap\":[[0]]}",
            "Expected number <= 4 for numReplicas",
        ),
    ];
    for (name, text, why) in cases {
        std::fs::write(dir.join(name), text).unwrap();
        let (code, err) = refused(dir, &format!("./{name}"));
        assert_eq!(code, Some(1), "{name}");
        assert_eq!(err, format!("ERROR: in cfg file ./{name}: {why}\n"));
    }
    // Given inline, there is no file to name.
    let (code, err) = refused(dir, "11211={\"hashAlgorithm\":");
    assert_eq!(code, Some(1));
    assert_eq!(err, "ERROR: Failed to parse data. Invalid JSON?\n");
}

/// A vBucket config (a REST body for the `default` bucket) putting every
/// vBucket on `server`.
fn config_on(server: SocketAddr) -> String {
    format!(
        r#"{{"hashAlgorithm":"CRC","numReplicas":0,"serverList":["{server}"],"vBucketMap":[[0],[0],[0],[0]]}}"#
    )
}

/// A REST script streaming what `feed` is given, as configs.
fn streaming(feed: &Feed) -> impl Fn(&mut testkit::rest_server::RestConn) + Send + Sync {
    let feed = feed.clone();
    move |conn| {
        conn.start_chunked();
        while let Some(c) = feed.next() {
            conn.chunk(&c);
        }
    }
}

/// A REST script that streams `config` and holds the stream open.
fn serving(config: String) -> impl Fn(&mut testkit::rest_server::RestConn) + Send + Sync {
    move |conn| {
        conn.start_chunked();
        conn.chunk(format!("{config}\n\n\n\n").as_bytes());
        conn.hold(Duration::from_secs(60));
    }
}

/// moxi in REST mode on a free port, fetching `url`.
fn rest_moxi(url: &str) -> (ChildServer, SocketAddr) {
    common::moxi_on_free_port(|port| {
        [
            "-l",
            "127.0.0.1",
            "-t",
            "2",
            "-Z",
            &format!("port_listen={port}"),
            url,
        ]
        .iter()
        .map(|a| a.to_string())
        .collect()
    })
}

/// One request, read until the reply ends with `end` (or 5 s pass).
fn ask(addr: SocketAddr, req: &str, end: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    while !got.ends_with(end.as_bytes()) {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Sets `key` to `value` through moxi; true when stored.
fn stored(entry: SocketAddr, key: &str, value: &str) -> bool {
    let set = format!("set {key} 0 0 {}\r\n{value}\r\n", value.len());
    ask(entry, &set, "\r\n") == "STORED\r\n"
}

/// Whether the memcached at `server` holds `key` = `value`.
fn holds(server: SocketAddr, key: &str, value: &str) -> bool {
    let want = format!("VALUE {key} 0 {}\r\n{value}\r\nEND\r\n", value.len());
    ask(server, &format!("get {key}\r\n"), "END\r\n") == want
}

/// Polls until a key set through moxi lands on `server`: the config
/// naming it is applied. Returns how long that took.
fn lands_on(entry: SocketAddr, server: SocketAddr, tag: &str) -> Duration {
    let start = Instant::now();
    for i in 0.. {
        let key = format!("{tag}{i}");
        if stored(entry, &key, tag) && holds(server, &key, tag) {
            return start.elapsed();
        }
        assert!(start.elapsed() < EVENTUALLY, "{tag}: never on {server}");
        std::thread::sleep(Duration::from_millis(20));
    }
    unreachable!()
}

/// Polls moxi's stderr until it has `line` (a whole line).
fn logs(moxi: &ChildServer, line: &str) {
    let start = Instant::now();
    while !moxi.stderr_text().lines().any(|l| l == line) {
        assert!(
            start.elapsed() < EVENTUALLY,
            "never logged {line:?}; stderr:\n{}",
            moxi.stderr_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_rest_server_down_at_start_is_retried_until_it_serves() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mc = common::memcacheds(1).remove(0);
    let rest_addr = common::local(common::free_ports(1)[0]);
    let url = format!("http://{rest_addr}/pools/default/bucketsStreaming/default");
    let (moxi, entry) = rest_moxi(&url);
    // No config yet: moxi's reply for a pool without servers.
    assert_eq!(
        ask(entry, "set k 0 0 1\r\nx\r\n", "\r\n"),
        "SERVER_ERROR proxy write to downstream\r\n"
    );
    assert_eq!(ask(entry, "get k\r\n", "\r\n"), "END\r\n");
    logs(
        &moxi,
        &format!(
            "moxi: WARNING: could not contact REST server(s): {url} (connect: Connection refused (os error 111)); \
             perhaps they are unavailable or still initializing; retrying in 1s"
        ),
    );
    let _rest = RestServer::start_on(rest_addr, serving(config_on(mc.addr()))).unwrap();
    let took = lands_on(entry, mc.addr(), "up");
    eprintln!("serving {took:?} after the REST server came up");
}

#[test]
fn a_lost_rest_stream_keeps_the_last_topology_until_the_next_config() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mcs = common::memcacheds(2);
    let rest = RestServer::start(serving(config_on(mcs[0].addr()))).unwrap();
    let rest_addr = rest.addr();
    let url = rest.url("/pools/default/bucketsStreaming/default");
    let (moxi, entry) = rest_moxi(&url);
    lands_on(entry, mcs[0].addr(), "first");
    drop(rest);
    logs(
        &moxi,
        &format!("moxi: WARNING: REST stream ended: stream closed, from: {url}"),
    );
    logs(
        &moxi,
        &format!(
            "moxi: ERROR: could not contact REST server(s): {url} (connect: Connection refused (os error 111)); \
             perhaps they are unavailable or still initializing; retrying in 1s; \
             serving with the last config meanwhile"
        ),
    );
    // Still serving with the last topology.
    for i in 0..20 {
        let key = format!("kept{i}");
        assert!(stored(entry, &key, "v"), "{key}");
        assert!(holds(mcs[0].addr(), &key, "v"), "{key}");
    }
    let _rest = RestServer::start_on(rest_addr, serving(config_on(mcs[1].addr()))).unwrap();
    let took = lands_on(entry, mcs[1].addr(), "next");
    eprintln!("next config applied {took:?} after the REST server returned");
}

#[test]
fn a_bad_config_after_a_good_one_is_refused_and_the_good_one_kept() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mcs = common::memcacheds(2);
    let feed = Feed::new();
    let rest = RestServer::start(streaming(&feed)).unwrap();
    let (moxi, entry) = rest_moxi(&rest.url("/pools/default/bucketsStreaming/default"));
    feed.push(format!("{}\n\n\n\n", config_on(mcs[0].addr())).into_bytes());
    lands_on(entry, mcs[0].addr(), "good");
    let bad = [
        ("{\"hashAlgorithm\":", "Failed to parse data. Invalid JSON?"),
        (
            "{\"hashAlgorithm\":\"CRC\",\"numReplicas\":0,\"serverList\":[],\"vBucketMap\":[[0]]}",
            "Empty serverList",
        ),
    ];
    for (config, why) in bad {
        feed.push(format!("{config}\n\n\n\n").into_bytes());
        logs(
            &moxi,
            &format!("moxi: ERROR: config refused ({why}), keeping the current one: {config}"),
        );
        for i in 0..10 {
            let key = format!("still{i}");
            assert!(stored(entry, &key, "v") && holds(mcs[0].addr(), &key, "v"));
        }
    }
    feed.push(format!("{}\n\n\n\n", config_on(mcs[1].addr())).into_bytes());
    lands_on(entry, mcs[1].addr(), "next");
    feed.close();
}
