//! Operating the binary: a malformed `-Z` value stops start-up naming its
//! key; `stats proxy` and its groups, parsed; per-server health on the
//! Prometheus page.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{local, MOXI};

#[test]
fn a_malformed_behavior_stops_start_up_naming_the_key() {
    for (z, key) in [
        ("downstream_max=x", "downstream_max"),
        ("cycle=1,eject_hosts=maybe", "eject_hosts"),
        ("wait_queue_timeout=-5", "wait_queue_timeout"),
    ] {
        let out = Command::new(MOXI)
            .args([
                "-l",
                "127.0.0.1",
                "-z",
                &format!("{}=127.0.0.1:1", testkit::free_port()),
            ])
            .args(["-Z", z])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{z}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("config error in key: {key}")),
            "{z}: {err}"
        );
    }
    let out = Command::new(MOXI)
        .args([
            "-l",
            "127.0.0.1",
            "-z",
            &format!("{}=127.0.0.1:1", testkit::free_port()),
        ])
        .args(["-Z", "no_such_key=1", "-Y", "y"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown behavior key: no_such_key"), "{err}");
    assert_eq!(out.status.code(), Some(0), "unknown keys only warn: {err}");
}

/// Every `STAT` line of `stats <group>` asked on `addr`.
fn stats(addr: SocketAddr, group: &str) -> Vec<(String, String)> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "stats {group}\r\n").unwrap();
    let mut r = BufReader::new(s);
    let mut out = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert!(line.ends_with("\r\n"), "{line:?}");
        let line = line.trim_end_matches("\r\n");
        if line == "END" || line == "OK" {
            return out;
        }
        let (name, value) = line.strip_prefix("STAT ").unwrap().split_once(' ').unwrap();
        out.push((name.to_owned(), value.to_owned()));
    }
}

#[test]
fn stats_proxy_groups_through_the_binary() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mcs = common::memcacheds(2);
    let addrs: Vec<SocketAddr> = mcs.iter().map(|m| m.addr()).collect();
    let [port, embedded] = common::free_ports(2)[..] else {
        unreachable!()
    };
    let z = format!("{port}={}", common::server_list(&addrs));
    let embedded_arg = embedded.to_string();
    let args = ["-l", "127.0.0.1", "-t", "2", "-p", &embedded_arg, "-z", &z];
    let _moxi = testkit::ChildServer::spawn(
        MOXI,
        args.iter().chain(&[
            "-Z",
            "time_stats=1,downstream_max=7,front_cache_lifespan=60000,front_cache_spec=a,\
             key_stats_lifespan=60000,key_stats_spec=a",
        ]),
        local(port),
    )
    .unwrap();
    let proxy = local(port);
    let mut c = TcpStream::connect(proxy).unwrap();
    c.write_all(b"set a 0 0 1\r\nx\r\nget a\r\n").unwrap();
    let mut got = [0u8; 29];
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n");
    let pre = format!("{port}:default");
    let all: HashMap<_, _> = stats(proxy, "proxy").into_iter().collect();
    assert_eq!(all["basic:nthreads"], "2");
    assert!(all["basic:version"].contains("moxi"));
    assert!(all.contains_key("basic:hostname"));
    assert_eq!(all["proxy_main:conf_type"], "static");
    assert_eq!(all["proxy_main:behavior:downstream_max"], "7");
    assert_eq!(all["proxy_main:behavior:time_stats"], "1");
    assert_eq!(all["proxy_main:behavior:downstream_protocol"], "8");
    assert_eq!(all["memcached:settings:num_threads"], "2");
    assert!(
        all.contains_key("memcached:stats:pid"),
        "the embedded server"
    );
    assert_eq!(all["proxy_main:stats:stat_proxy_starts"], "1");
    assert_eq!(all[&format!("{pre}:info:port")], port.to_string());
    assert_eq!(all[&format!("{pre}:info:name")], "default");
    assert_eq!(
        all[&format!("{pre}:info:config")],
        common::server_list(&addrs)
    );
    assert_eq!(all[&format!("{pre}:pstd_stats:tot_cmd_count")], "2");
    let upstream: u64 = all[&format!("{pre}:pstd_stats:tot_upstream")]
        .parse()
        .unwrap();
    assert!(upstream >= 2, "this client and the one asking");
    assert_eq!(all[&format!("{pre}:behavior:downstream_max")], "7");
    for (group, prefix) in [
        ("info", "basic:"),
        ("settings", "memcached:settings:"),
        ("behaviors", "proxy_main:behavior:"),
    ] {
        let lines = stats(proxy, &format!("proxy {group}"));
        assert!(!lines.is_empty(), "{group}");
        assert!(lines.iter().any(|(n, _)| n.starts_with(prefix)), "{group}");
        assert!(
            lines.iter().all(|(n, _)| all.contains_key(n)),
            "{group} ⊂ all"
        );
    }
    let front: HashMap<_, _> = stats(proxy, "proxy frontcache").into_iter().collect();
    assert!(
        front.contains_key(&format!("{pre}:frontcache:max")),
        "{front:?}"
    );
    assert!(
        front.keys().all(|k| all.contains_key(k)),
        "frontcache ⊂ all"
    );
    let keys = stats(proxy, "proxy keystats");
    assert!(
        keys.iter()
            .any(|(n, _)| n.starts_with(&format!("{pre}:keystats:a:"))),
        "{keys:?}"
    );
    let timings = stats(proxy, "proxy timings");
    let row = |name: &str| -> Vec<String> {
        timings
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    for name in ["connect", "reserved", "reserved:get", "reserved:set"] {
        let rows = row(&format!("{pre}:{name}"));
        assert!(!rows.is_empty(), "{name}: {timings:?}");
        for r in &rows {
            let (range, rest) = r.trim_start().split_once('=').unwrap();
            let (start, width) = range.trim_end().split_once('+').unwrap();
            assert!(start.parse::<u64>().is_ok() && width.trim().parse::<u64>().is_ok());
            assert!(rest.contains("% "), "{r}");
        }
        assert!(rows.last().unwrap().contains("100.00% "), "{name}");
    }
    let config = stats(proxy, "proxy config");
    assert_eq!(
        config,
        [(format!("{pre}:config"), common::server_list(&addrs))]
    );
    assert!(stats(proxy, "proxy bogus").is_empty());
    assert!(stats(proxy, "proxy reset").is_empty(), "answered OK");
    let after: HashMap<_, _> = stats(proxy, "proxy stats").into_iter().collect();
    assert_eq!(after[&format!("{pre}:pstd_stats:tot_cmd_count")], "0");
    assert!(stats(proxy, "proxy timings").is_empty(), "histograms reset");
}

fn http_metrics(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn the_metrics_page_shows_server_health() {
    let [port, admin, dead] = common::free_ports(3)[..] else {
        unreachable!()
    };
    let z = format!("{port}=127.0.0.1:{dead}");
    let admin_arg = format!("127.0.0.1:{admin}");
    let args = [
        "-l",
        "127.0.0.1",
        "-t",
        "1",
        "-z",
        &z,
        "--metrics",
        &admin_arg,
    ];
    let _moxi = testkit::ChildServer::spawn(
        MOXI,
        args.iter().chain(&["-Z", "connect_max_errors=2"]),
        local(port),
    )
    .unwrap();
    common::wait_accepting(local(admin));
    let mut c = TcpStream::connect(local(port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let down = format!("moxi_server_up{{server=\"127.0.0.1:{dead}\"}} 0");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        c.write_all(b"delete k\r\n").unwrap();
        let mut line = String::new();
        BufReader::new(&mut c).read_line(&mut line).unwrap();
        assert_eq!(line, "SERVER_ERROR proxy write to downstream 127.0.0.1\r\n");
        let page = http_metrics(local(admin));
        if page.contains(&down) {
            assert!(page.contains("# TYPE moxi_server_up gauge"));
            assert!(page.contains("moxi_wait_queue_timeouts_total 0"));
            assert!(page.contains(&format!(
                "moxi_server_marked_down_total{{server=\"127.0.0.1:{dead}\"}} 1"
            )));
            return;
        }
        assert!(Instant::now() < deadline, "never down: {page}");
    }
}
