//! Server health with real memcached stopped (killed) and restarted on the
//! same port: after `connect_max_errors` failed connects the server is
//! marked down and its requests fail at once; a probe brings it back as
//! soon as it answers (within a second, with the default behaviors); with
//! `eject_hosts=true` its keys go to the other servers meanwhile.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Client;
use config::Behaviors;
use proxy::health::ServerHealth;

/// Sends `set key` until the proxy has marked `health`'s server down
/// (each reply must be an error meanwhile); bounded.
fn fail_until_down(c: &mut Client, health: &ServerHealth, key: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !health.is_down() {
        assert!(Instant::now() < deadline, "never marked down");
        c.send(format!("set {key} 0 0 1\r\nx\r\n").as_bytes());
        let line = c.read_line();
        assert!(line.starts_with(b"SERVER_ERROR proxy"), "{line:?}");
    }
}

/// Polls with `set key` until it is stored; returns how long that took.
fn stored_again(c: &mut Client, key: &str, limit: Duration) -> Duration {
    let back = Instant::now();
    loop {
        c.send(format!("set {key} 0 0 2\r\nok\r\n").as_bytes());
        if c.read_line() == b"STORED\r\n" {
            return back.elapsed();
        }
        assert!(back.elapsed() < limit, "not back after {limit:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_killed_server_fails_fast_and_returns_within_a_second_of_its_restart() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mut mc = common::memcacheds(1).remove(0);
    let b = Behaviors::default();
    let topo = proxy::topology::build::hashed(&common::servers_of(&[mc.addr()]), &b).unwrap();
    let health: Arc<ServerHealth> = topo.health[0].clone();
    let p = common::start(topo);
    let mut c = Client::connect(p.addr());
    c.send(b"set k 0 0 1\r\nx\r\n");
    c.expect(b"STORED\r\n");
    mc.stop();
    fail_until_down(&mut c, &health, "k");
    // Down: every request fails at once, far below connect_timeout.
    for _ in 0..20 {
        let asked = Instant::now();
        c.send(b"set k 0 0 1\r\nx\r\nget k\r\n");
        c.expect(b"SERVER_ERROR proxy write to downstream 127.0.0.1\r\nEND\r\n");
        assert!(
            asked.elapsed() < b.connect_timeout / 4,
            "{:?}",
            asked.elapsed()
        );
    }
    let t = p.shared.runtime().totals();
    assert!(t.tot_downstream_connect_interval >= 40, "{t:?}");
    mc.restart().unwrap();
    let took = stored_again(&mut c, "k", Duration::from_secs(1));
    eprintln!("back {took:?} after the restart");
    assert!(!health.is_down());
    c.send(b"get k\r\n");
    c.expect(b"VALUE k 0 2\r\nok\r\nEND\r\n");
}

#[test]
fn with_eject_hosts_a_down_servers_keys_go_elsewhere_until_it_returns() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mut mcs = common::memcacheds(2);
    let addrs: Vec<_> = mcs.iter().map(|m| m.addr()).collect();
    let b = Behaviors {
        eject_hosts: true,
        ..Behaviors::default()
    };
    let topo = proxy::topology::build::hashed(&common::servers_of(&addrs), &b).unwrap();
    let keys = common::key_per_server(&topo, "ej");
    let health = topo.health[1].clone();
    let p = common::start(topo);
    let mut c = Client::connect(p.addr());
    mcs[1].stop();
    fail_until_down(&mut c, &health, &keys[1]);
    // Ejected: the key is served by server 0 now.
    c.send(format!("set {} 0 0 5\r\nmoved\r\n", keys[1]).as_bytes());
    c.expect(b"STORED\r\n");
    let mut direct = Client::connect(addrs[0]);
    direct.send(format!("get {}\r\n", keys[1]).as_bytes());
    direct.expect(format!("VALUE {} 0 5\r\nmoved\r\nEND\r\n", keys[1]).as_bytes());
    c.send(format!("set {} 0 0 1\r\nz\r\n", keys[0]).as_bytes());
    c.expect(b"STORED\r\n");
    // Back: the key goes home again (where it is not stored yet).
    mcs[1].restart().unwrap();
    let back = Instant::now();
    while health.is_down() {
        assert!(back.elapsed() < Duration::from_secs(1), "not back in 1 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    c.send(format!("get {}\r\n", keys[1]).as_bytes());
    c.expect(b"END\r\n");
}

#[test]
fn a_server_that_never_answers_is_probed_not_retried_by_traffic() {
    let port = testkit::free_port();
    let nobody = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let b = Behaviors {
        connect_max_errors: 2,
        ..Behaviors::default()
    };
    let topo = proxy::topology::build::hashed(&common::servers_of(&[nobody]), &b).unwrap();
    let health = topo.health[0].clone();
    let p = common::start(topo);
    let mut c = Client::connect(p.addr());
    fail_until_down(&mut c, &health, "k");
    let connects = |h: &ServerHealth| {
        let mut t = proxy::stats::Totals::default();
        h.add_to(&mut t);
        t.tot_downstream_conn
    };
    let before = connects(&health);
    for _ in 0..50 {
        c.send(b"delete k\r\n");
        c.expect(b"SERVER_ERROR proxy write to downstream 127.0.0.1\r\n");
    }
    assert_eq!(connects(&health), before, "no connects while down");
    assert_eq!(health.errors(), 2);
}
