//! Faults under load, end to end through the moxi binary: a downstream
//! memcached killed (`kill -9`) and restarted on its port, one stopped
//! (SIGSTOP) and continued, a connection reset in the middle of a value,
//! and a downstream answering garbage. Several clients keep moxi busy
//! meanwhile, each checking every reply against its own request (unique
//! keys and values), so a failure must stay with the requests it concerns:
//! clients of the healthy server see no error at all, and nobody's replies
//! shift.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;
mod faults_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use faults_support::load::{assert_none, assert_none_wrong, tally, Kind, Load, Op, Outcome};
use faults_support::store_mock::{self, Fault, FaultLog, POISON};
use faults_support::{moxi_on_free_port, placement, Stopped};
use testkit::frames::{parse_response, Frame, RequestFrame, HEADER_LEN};

/// Scheduling slack on top of a bound moxi promises (a loaded 2-core
/// machine runs a debug build here).
const SLACK: Duration = Duration::from_millis(1000);

/// The bound: traffic to a server that listens again works within
/// a second.
const BACK_WITHIN: Duration = Duration::from_secs(1);

/// Two real memcached behind moxi (`downstream_protocol=ds` and
/// `downstream_timeout`), two clients busy on each, warmed up; `[0]` stays
/// healthy.
fn loaded_pair(
    ds: &str,
    timeout: Duration,
) -> (Vec<testkit::Memcached>, testkit::ChildServer, Load) {
    let mcs = common::memcacheds(2);
    let addrs: Vec<SocketAddr> = mcs.iter().map(|m| m.addr()).collect();
    let list = common::server_list(&addrs);
    let behaviors = format!(
        "downstream_protocol={ds},downstream_timeout={}",
        timeout.as_millis()
    );
    let (moxi, entry) = moxi_on_free_port(|port| format!("{port}={list}"), &behaviors);
    let load = Load::start(entry, "k", &[0, 0, 1, 1], placement(&addrs));
    load.wait_each("warmed up", 20, |o| o.outcome == Outcome::Ok);
    (mcs, moxi, load)
}

/// Every operation for `server` is right.
fn assert_all_ok(ops: &[Op], server: usize) {
    assert_none(ops, "failures for the healthy server", |o| {
        o.server == server && o.outcome != Outcome::Ok
    });
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
    assert!(
        bad.is_empty(),
        "still failing: {:?}",
        &bad[..bad.len().min(5)]
    );
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
    for ds in ["binary", "ascii"] {
        kill_9_and_restart(ds);
    }
}

fn kill_9_and_restart(ds: &str) {
    let timeout = Duration::from_millis(1000);
    let (mut mcs, _moxi, load) = loaded_pair(ds, timeout);
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
    for o in ops.iter().filter(|o| o.server == 1) {
        if o.end < killed_at {
            assert_eq!(o.outcome, Outcome::Ok, "{ds}: before the kill: {o:?}");
        }
        assert!(o.took() <= timeout + SLACK, "{ds}: took too long: {o:?}");
        match (&o.outcome, o.kind) {
            (Outcome::Ok, _) => {}
            (Outcome::Failed(line), Kind::Set) => assert!(
                line == "SERVER_ERROR proxy write to downstream 127.0.0.1"
                    || line == "SERVER_ERROR proxy downstream closed 127.0.0.1",
                "{ds}: {o:?}"
            ),
            (Outcome::Failed(line), Kind::Get) => assert_eq!(line, "END", "{ds}: {o:?}"),
            // Stored by the killed process, gone with it.
            (Outcome::Lost, Kind::Get) => {
                assert!(set_before(&ops, o).end < restarting, "{ds}: {o:?}")
            }
            _ => panic!("{ds}: {o:?}"),
        }
    }
    ok_from(&ops, 1, listening + BACK_WITHIN);
    let back = first_ok_after(&ops, 1, listening);
    eprintln!(
        "{ds}: back {back:?} after the restart; {:?}",
        tally(&ops, 1)
    );
}

#[test]
fn sigstop_times_out_that_servers_requests_and_sigcont_recovers() {
    if !testkit::require_tool("memcached") {
        return;
    }
    for ds in ["binary", "ascii"] {
        stop_and_continue(ds);
    }
}

fn stop_and_continue(ds: &str) {
    let timeout = Duration::from_millis(300);
    let (mut mcs, _moxi, load) = loaded_pair(ds, timeout);
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
        "{ds}: healthy clients held up: {slow} of {} waited {timeout:?}",
        healthy.len()
    );
    let inside = timed_out_while_stopped(&ops, stopped_at, continued, timeout);
    assert!(inside >= 6, "{ds}: {inside} requests inside the stop");
    ok_from(&ops, 1, continued + BACK_WITHIN);
    let back = first_ok_after(&ops, 1, continued);
    eprintln!("{ds}: back {back:?} after SIGCONT; {:?}", tally(&ops, 1));
}

/// Checks the stopped server's operations: none took longer than
/// `timeout` and slack; those wholly inside the stop each waited `timeout`
/// and got moxi's timeout reply (a miss for gets). Returns how many.
fn timed_out_while_stopped(ops: &[Op], from: Instant, to: Instant, timeout: Duration) -> usize {
    let mut inside = 0;
    for o in ops.iter().filter(|o| o.server == 1) {
        assert!(o.took() <= timeout + SLACK, "took too long: {o:?}");
        if o.start < from || o.end > to {
            continue;
        }
        inside += 1;
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
    inside
}

/// moxi in front of a storing mock that misbehaves for poisoned keys,
/// with `downstream_protocol=ds`; clients of healthy keys run meanwhile.
fn behind_mock(fault: Fault, ds: &str) -> (Arc<FaultLog>, Load, TestRig) {
    let (mock, log) = store_mock::start(fault);
    let mock_port = mock.addr().port();
    let behaviors = format!("downstream_protocol={ds},downstream_timeout=1000");
    let (moxi, entry) = moxi_on_free_port(|p| format!("{p}=127.0.0.1:{mock_port}"), &behaviors);
    let load = Load::start(entry, "o", &[0, 0, 0], Arc::new(|_: &[u8]| 0));
    load.wait_each("warmed up", 20, |o| o.outcome == Outcome::Ok);
    (
        log,
        load,
        TestRig {
            mock,
            _moxi: moxi,
            entry,
        },
    )
}

/// What must outlive a mock test.
struct TestRig {
    mock: testkit::mock::MockServer,
    _moxi: testkit::ChildServer,
    entry: SocketAddr,
}

/// Connects a client with a bounded read wait.
fn client(addr: SocketAddr) -> TcpStream {
    let c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c
}

/// Writes `req` and checks the reply is exactly `want`, within
/// `downstream_timeout` (1 s) and slack.
fn exchange(c: &mut TcpStream, req: &str, want: &str) {
    let started = Instant::now();
    c.write_all(req.as_bytes()).unwrap();
    let mut got = vec![0u8; want.len()];
    c.read_exact(&mut got)
        .unwrap_or_else(|e| panic!("{e} waiting for {want:?} after {req:?}"));
    assert_eq!(String::from_utf8_lossy(&got), want, "after {req:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1) + SLACK,
        "{req:?}"
    );
}

/// Checks that `c` is still in step: a set and a get of a key of its own.
fn still_in_step(c: &mut TcpStream, key: &str) {
    exchange(
        c,
        &format!("set {key} 0 0 5\r\nhello\r\nget {key}\r\n"),
        &format!("STORED\r\nVALUE {key} 0 5\r\nhello\r\nEND\r\n"),
    );
}

/// A binary client's GET of `key`, then a SET and GETK of its own key on
/// the same connection; returns the GET's reply status.
fn binary_get_then_in_step(addr: SocketAddr, key: &str, own: &str) -> u16 {
    let mut c = client(addr);
    let mut get = RequestFrame::new(0x00);
    get.key = key.as_bytes().to_vec();
    get.opaque = 7;
    let mut set = RequestFrame::new(0x01);
    set.key = own.as_bytes().to_vec();
    set.extras = vec![0; 8];
    set.value = b"mine".to_vec();
    set.opaque = 8;
    let mut getk = RequestFrame::new(0x0c);
    getk.key = own.as_bytes().to_vec();
    getk.opaque = 9;
    let frames: Vec<Frame> = [get, set, getk]
        .iter()
        .map(|f| {
            c.write_all(&f.to_bytes()).unwrap();
            read_frame(&mut c)
        })
        .collect();
    let opaques: Vec<u32> = frames.iter().map(|f| f.opaque).collect();
    assert_eq!(opaques, [7, 8, 9]);
    assert_eq!((frames[1].status, frames[2].status), (0, 0));
    assert_eq!(frames[2].value, b"mine");
    frames[0].status
}

fn read_frame(c: &mut TcpStream) -> Frame {
    let mut head = vec![0u8; HEADER_LEN];
    c.read_exact(&mut head).unwrap();
    let body = u32::from_be_bytes([head[8], head[9], head[10], head[11]]) as usize;
    head.resize(HEADER_LEN + body, 0);
    c.read_exact(&mut head[HEADER_LEN..]).unwrap();
    parse_response(&head).unwrap().0.to_frame()
}

/// Lets the load run on past `after`, stops it, and checks every reply.
fn load_unaffected(load: Load, after: Instant) {
    load.wait_each("ran on", 20, |o| o.start >= after);
    let ops = load.stop();
    assert_none_wrong(&ops);
    assert_all_ok(&ops, 0);
}

/// Binary EINTERNAL, moxi's status for a failed request.
const EINTERNAL: u16 = 0x0084;

#[test]
fn a_reset_mid_value_fails_that_request_only() {
    for ds in ["ascii", "binary"] {
        let (log, load, rig) = behind_mock(Fault::ResetMidValue, ds);
        let mut c = client(rig.entry);
        for i in 0..20 {
            // ascii gets read a failure as a miss (moxi's reply).
            exchange(&mut c, &format!("get {POISON}{i}\r\n"), "END\r\n");
            still_in_step(&mut c, &format!("mine{i}"));
        }
        // A multi-get sharing the connection loses its other hits too.
        exchange(&mut c, &format!("get mine0 {POISON}9\r\n"), "END\r\n");
        still_in_step(&mut c, "mine9");
        let status = binary_get_then_in_step(rig.entry, POISON, "bin");
        assert_eq!(status, EINTERNAL, "{ds}");
        assert!(log.played() >= 22, "{ds}: {} resets", log.played());
        load_unaffected(load, Instant::now());
        assert!(rig.mock.sessions() > 22, "{ds}: a new connection per reset");
        eprintln!(
            "{ds}: {} resets, {} sessions",
            log.played(),
            rig.mock.sessions()
        );
    }
}

#[test]
fn garbage_closes_that_connection_and_fails_only_its_request() {
    for ds in ["ascii", "binary"] {
        let (log, load, rig) = behind_mock(Fault::Garbage, ds);
        let mut c = client(rig.entry);
        let closed = "SERVER_ERROR proxy downstream closed 127.0.0.1\r\n";
        for i in 0..5 {
            exchange(&mut c, &format!("set {POISON}{i} 0 0 1\r\nx\r\n"), closed);
            exchange(&mut c, &format!("delete {POISON}{i}\r\n"), closed);
            exchange(&mut c, &format!("get {POISON}{i}\r\n"), "END\r\n");
            still_in_step(&mut c, &format!("mine{i}"));
        }
        let status = binary_get_then_in_step(rig.entry, POISON, "bin");
        assert_eq!(status, EINTERNAL, "{ds}");
        load_unaffected(load, Instant::now());
        // One garbage reply per request (a protocol error is not retried),
        // and moxi closed every connection that carried one.
        assert_eq!(log.played(), 16, "{ds}");
        let start = Instant::now();
        while log.closed_after.lock().unwrap().len() < 16 {
            assert!(start.elapsed() < Duration::from_secs(5), "{ds}: not closed");
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(rig);
    }
}

/// A server that answers a set twice. ascii replies carry no opaque: an
/// extra reply would be taken as the answer to the next request on that
/// connection, another client's, and every later reply would go to the
/// wrong request. moxi closes the connection at the first reply that cannot
/// answer its request (a STORED for a get, a VALUE for a set or for a key
/// not asked for; binary: an opaque not asked for), so the requests queued
/// on it may fail, but no client ever gets a reply meant for another.
#[test]
fn a_doubled_reply_fails_requests_but_never_shifts_replies() {
    for ds in ["ascii", "binary"] {
        let (log, load, rig) = behind_mock(Fault::ExtraReply, ds);
        let doubling = Load::pipelined(rig.entry, POISON, &[0, 0], Arc::new(|_: &[u8]| 0));
        doubling.wait_each("doubled replies", 300, |_| true);
        load.wait_each("ran alongside", 100, |_| true);
        let doubled = doubling.stop();
        let calm = Instant::now();
        load.wait_each("ran on", 20, |o| o.start >= calm);
        let ops = load.stop();
        eprintln!(
            "{ds}: {} doubled; other clients {:?}, doubling ones {:?}",
            log.played(),
            tally(&ops, 0),
            tally(&doubled, 0)
        );
        assert_none_wrong(&doubled);
        assert_none_wrong(&ops);
        ok_from(&ops, 0, calm);
    }
}

/// A server that stops reading, so that moxi's write to it blocks on a full
/// socket, and then answers garbage. The garbage ends the connection, and
/// moxi must close it then, in the middle of its write: its writer used to
/// hold the socket open for as long as the server read nothing.
#[test]
fn garbage_while_a_write_is_blocked_still_closes_the_connection() {
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let (_moxi, entry) = moxi_on_free_port(
        |p| format!("{p}=127.0.0.1:{port}"),
        "downstream_protocol=ascii,downstream_timeout=0",
    );
    // 24 MB of sets: more than the loopback socket buffers on both sides
    // hold, so moxi's writer is left waiting on the server.
    let writer = std::thread::spawn(move || {
        let mut c = TcpStream::connect(entry).unwrap();
        let value = vec![b'v'; 512 * 1024];
        for i in 0..48 {
            let mut req = format!("set big{i} 0 0 {}\r\n", value.len()).into_bytes();
            req.extend_from_slice(&value);
            req.extend_from_slice(b"\r\n");
            if c.write_all(&req).is_err() {
                break;
            }
        }
        c
    });
    let (mut down, _) = server.accept().unwrap();
    let _client = writer.join().unwrap();
    // Time for moxi to queue the sets and block writing them.
    std::thread::sleep(Duration::from_millis(500));
    down.write_all(b"garbage\r\n").unwrap();
    // Once moxi closes its socket (with these bytes unread), the server's
    // writes fail; while moxi holds it open, they land in its buffer.
    let start = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(20));
        if down.write_all(&[b'x'; 1024]).is_err() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "moxi kept the connection open"
        );
    }
}
