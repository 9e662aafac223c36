//! `-R` (requests per batch before yielding) and `-o idle_timeout`.

use std::time::{Duration, Instant};

use crate::client::{settings, start, Conn};

#[test]
fn reqs_per_event_yields_and_counts_conn_yields() {
    let server = start(server::settings::Settings {
        reqs_per_event: 2,
        ..settings()
    });
    let mut c = Conn::open(server.local_addrs()[0]);
    // Ten requests in one write: answered in full and in order, with yields
    // after every second one.
    c.send("version\r\n".repeat(10));
    for _ in 0..10 {
        assert!(c.line().starts_with("VERSION "));
    }
    assert!(c.stat("conn_yields") >= 4, "conn_yields not counted");
}

#[test]
fn idle_connections_are_closed_after_idle_timeout() {
    let server = start(server::settings::Settings {
        idle_timeout: 1,
        ..settings()
    });
    let addr = server.local_addrs()[0];
    let mut idle = Conn::open(addr);
    assert!(idle.call("version").starts_with("VERSION "));
    let started = Instant::now();
    assert_eq!(idle.until_closed(), b"");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900),
        "closed too early: {waited:?}"
    );
    // Only the idle connection went: the server still serves new ones,
    // and counts the kick where memcached does (after auth_errors).
    let mut c = Conn::open(addr);
    assert!(c.call("version").starts_with("VERSION "));
    assert_eq!(c.stat("idle_kicks"), 1);
    let stats = c.stats("");
    let at = stats.iter().position(|(n, _)| n == "idle_kicks").unwrap();
    assert_eq!(stats[at - 1].0, "auth_errors");
}

#[test]
fn idle_kicks_is_absent_without_idle_timeout() {
    let server = start(settings());
    let stats = Conn::open(server.local_addrs()[0]).stats("");
    assert!(stats.iter().all(|(n, _)| n != "idle_kicks"));
}
