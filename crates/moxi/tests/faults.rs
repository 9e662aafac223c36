//! Faults under load, end to end through the moxi binary: a downstream
//! memcached killed (`kill -9`) and restarted on its port, one stopped
//! (SIGSTOP) and continued, a connection reset in the middle of a value,
//! and a downstream answering garbage. Several clients keep moxi busy
//! meanwhile, each checking every reply against its own request (unique
//! keys and values), so a failure must stay with the requests it concerns:
//! clients of the healthy server see no error at all, and nobody's replies
//! shift.
#![allow(clippy::unwrap_used)]

mod common;
mod faults_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use faults_support::load::{assert_none_wrong, tally, Kind, Load, Op, Outcome};
use faults_support::{placement, Stopped};

/// Scheduling slack on top of a bound moxi promises (a loaded 2-core
/// machine runs a debug build here).
const SLACK: Duration = Duration::from_millis(1000);

/// The bound: traffic to a server that listens again works within
/// a second.
const BACK_WITHIN: Duration = Duration::from_secs(1);

/// Two real memcached behind moxi; `[0]` stays healthy.
fn two_servers(behaviors: &str) -> (Vec<testkit::Memcached>, testkit::ChildServer, SocketAddr) {
    let mcs = common::memcacheds(2);
    let addrs: Vec<SocketAddr> = mcs.iter().map(|m| m.addr()).collect();
    let port = common::free_ports(1)[0];
    let z = format!("{port}={}", common::server_list(&addrs));
    let moxi = common::moxi(&z, behaviors, &[port]);
    (mcs, moxi, common::local(port))
}

fn on(server: usize) -> impl Fn(&Op) -> bool {
    move |o| o.server == server
}

/// Every operation for `server` is right.
fn assert_all_ok(ops: &[Op], server: usize) {
    let bad: Vec<&Op> = ops
        .iter()
        .filter(|o| o.server == server && o.outcome != Outcome::Ok)
        .collect();
    assert!(
        bad.is_empty(),
        "{} failures for the healthy server, e.g. {:?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
}

/// Every operation for `server` that started at or after `from` is right,
/// and there are some.
fn ok_from(ops: &[Op], server: usize, from: Instant) {
    let after: Vec<&Op> = ops
        .iter()
        .filter(|o| o.server == server && o.start >= from)
        .collect();
    assert!(!after.is_empty(), "no traffic after {from:?}");
    let bad: Vec<&&Op> = after.iter().filter(|o| o.outcome != Outcome::Ok).collect();
    assert!(bad.is_empty(), "still failing: {:?}", &bad[..bad.len().min(5)]);
}

/// How long after `from` the first right operation for `server` (sent
/// after `from`) was answered.
fn first_ok_after(ops: &[Op], server: usize, from: Instant) -> Duration {
    ops.iter()
        .filter(|o| o.server == server && o.start >= from && o.outcome == Outcome::Ok)
        .map(|o| o.end - from)
        .min()
        .unwrap()
}

/// The set that `get` followed.
fn set_before<'a>(ops: &'a [Op], get: &Op) -> &'a Op {
    ops.iter()
        .filter(|o| o.thread == get.thread && o.kind == Kind::Set && o.end <= get.start)
        .max_by_key(|o| o.end)
        .unwrap()
}

#[test]
fn kill_9_under_load_fails_only_that_servers_requests_and_recovers() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let timeout = Duration::from_millis(1000);
    let (mut mcs, _moxi, entry) = two_servers("downstream_timeout=1000");
    let addrs: Vec<SocketAddr> = mcs.iter().map(|m| m.addr()).collect();
    let load = Load::start(entry, "k", &[0, 0, 1, 1], placement(&addrs));
    load.wait_each("warmed up", 20, |o| o.outcome == Outcome::Ok);
    let killed_at = Instant::now();
    mcs[1].stop();
    let failed = move |o: &Op| o.server == 1 && o.start >= killed_at && o.outcome != Outcome::Ok;
    // Five failed connects mark the server down: this covers both phases.
    load.wait_until("saw the victim fail", |ops| {
        ops.iter().filter(|o| failed(o)).count() >= 12
    });
    let restarting = Instant::now();
    mcs[1].restart().unwrap();
    let listening = Instant::now();
    load.wait_each("ran on after the restart", 20, |o| {
        o.start >= listening + BACK_WITHIN
    });
    let ops = load.stop();
    assert_none_wrong(&ops);
    assert_all_ok(&ops, 0);
    for o in ops.iter().filter(|o| on(1)(o)) {
        if o.end < killed_at {
            assert_eq!(o.outcome, Outcome::Ok, "before the kill: {o:?}");
        }
        assert!(o.took() <= timeout + SLACK, "took too long: {o:?}");
        match (&o.outcome, o.kind) {
            (Outcome::Ok, _) => {}
            (Outcome::Failed(line), Kind::Set) => assert!(
                line == "SERVER_ERROR proxy write to downstream 127.0.0.1"
                    || line == "SERVER_ERROR proxy downstream closed 127.0.0.1",
                "{o:?}"
            ),
            (Outcome::Failed(line), Kind::Get) => assert_eq!(line, "END", "{o:?}"),
            // Stored by the killed process, gone with it.
            (Outcome::Lost, Kind::Get) => {
                assert!(set_before(&ops, o).end < restarting, "{o:?}")
            }
            _ => panic!("{o:?}"),
        }
    }
    ok_from(&ops, 1, listening + BACK_WITHIN);
    let back = first_ok_after(&ops, 1, listening);
    eprintln!("back {back:?} after the restart; {:?}", tally(&ops, 1));
}

#[test]
fn sigstop_times_out_that_servers_requests_and_sigcont_recovers() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let timeout = Duration::from_millis(300);
    let (mut mcs, _moxi, entry) = two_servers("downstream_timeout=300");
    let addrs: Vec<SocketAddr> = mcs.iter().map(|m| m.addr()).collect();
    let load = Load::start(entry, "k", &[0, 0, 1, 1], placement(&addrs));
    load.wait_each("warmed up", 20, |o| o.outcome == Outcome::Ok);
    let stopped = Stopped::stop(mcs[1].server().pid());
    let stopped_at = stopped.at;
    load.wait_until("saw the victim time out", |ops| {
        let timed_out = |o: &&Op| o.server == 1 && o.start >= stopped_at;
        ops.iter().filter(timed_out).count() >= 12
    });
    let continued = stopped.resume();
    load.wait_each("ran on after SIGCONT", 20, |o| {
        o.start >= continued + BACK_WITHIN
    });
    let ops = load.stop();
    assert_none_wrong(&ops);
    assert_all_ok(&ops, 0);
    let healthy: Vec<&Op> = ops
        .iter()
        .filter(|o| o.server == 0 && o.start >= stopped_at && o.end <= continued)
        .collect();
    let slow = healthy.iter().filter(|o| o.took() >= timeout).count();
    assert!(
        healthy.len() >= 20 && slow * 100 <= healthy.len(),
        "healthy clients held up: {slow} of {} waited {timeout:?}",
        healthy.len()
    );
    let mut timeouts = 0;
    for o in ops.iter().filter(|o| on(1)(o)) {
        assert!(o.took() <= timeout + SLACK, "took too long: {o:?}");
        if o.start < stopped_at || o.end > continued {
            continue;
        }
        // Wholly inside the stop: each waited downstream_timeout, no less.
        timeouts += 1;
        assert!(o.took() >= timeout, "{o:?}");
        match (&o.outcome, o.kind) {
            (Outcome::Failed(line), Kind::Set) => {
                assert_eq!(line, "SERVER_ERROR proxy downstream timeout 127.0.0.1")
            }
            (Outcome::Failed(line), Kind::Get) => assert_eq!(line, "END"),
            (Outcome::Lost, Kind::Get) => {}
            _ => panic!("served while stopped: {o:?}"),
        }
    }
    assert!(timeouts >= 6, "{timeouts} requests inside the stop");
    ok_from(&ops, 1, continued + BACK_WITHIN);
    let back = first_ok_after(&ops, 1, continued);
    eprintln!("back {back:?} after SIGCONT; {:?}", tally(&ops, 1));
    drop(mcs);
}
