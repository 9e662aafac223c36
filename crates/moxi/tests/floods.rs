//! Floods and limits through the real binary, for the embedded server
//! (`moxi -p`) and the proxy (`moxi -z` in front of a real memcached):
//!
//! - a client pipelines 100,000 gets of 1 KiB values (or 100,000 sets of
//!   1 KiB values) and reads nothing. moxi must stop reading a client whose
//!   replies it cannot write, so its RSS stays bounded, and a second client
//!   on the same worker is served as usual meanwhile. Then the flooding
//!   client reads every reply, in order, and moxi's memory comes back;
//! - 10,000 connections that never send anything, against `-c 1000`: the
//!   limit holds, the others are told `ERROR Too many open connections` and
//!   closed, an established client is still served, and once the silent
//!   ones close new clients are accepted again.
//!
//! The numbers these tests measure are in docs/reliability/floods.md; run
//! with `--nocapture` to see them.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::io::{BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use common::targets::{tcp_queues, Kind, Line, Target};

/// Requests of one flood.
const REQUESTS: usize = 100_000;
/// Value size of the flood's gets and sets.
const VALUE_LEN: usize = 1024;
/// The flood cycles through this many keys (so the cache stays small).
const KEYS: usize = 100;
/// RSS growth allowed while a client owes replies (a debug build).
const MAX_GROWTH_MIB: f64 = 64.0;
/// How close to its baseline moxi's RSS must come back after the flood.
const SETTLED_MIB: f64 = 16.0;
/// Silent connections opened against the limit.
const HALF_OPEN: usize = 10_000;
/// `-c` for the connection test.
const LIMIT: usize = 1000;
/// What memcached (and moxi) write to a connection over the limit.
const TOO_MANY: &[u8] = b"ERROR Too many open connections\r\n";

/// The tests that open thousands of sockets run one at a time, so the test
/// process stays within its descriptor limit.
static MANY_FDS: Mutex<()> = Mutex::new(());

/// One flood at a time: each is heavy for a debug build on two cores, and
/// its memory samples should not see another's.
static ONE_FLOOD: Mutex<()> = Mutex::new(());

/// A value that names its writer: `tag` and `i`, padded to [`VALUE_LEN`].
fn value(tag: &str, i: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(VALUE_LEN);
    put_value(&mut v, tag, i);
    v
}

/// Appends [`value`]`(tag, i)` (without building it on its own).
fn put_value(out: &mut Vec<u8>, tag: &str, i: usize) {
    const PAD: [u8; VALUE_LEN] = [b'.'; VALUE_LEN];
    let head = format!("{tag}{i}:");
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(&PAD[head.len()..]);
}

#[derive(Clone, Copy, Debug)]
enum Flood {
    /// `get k<i % KEYS>`; every key holds `value("v", key)`.
    Gets,
    /// `set k<i % KEYS>` with `value("s", i)`.
    Sets,
}

impl Flood {
    /// Appends request `i`.
    fn put_request(self, i: usize, out: &mut Vec<u8>) {
        let key = i % KEYS;
        match self {
            Flood::Gets => out.extend_from_slice(format!("get k{key}\r\n").as_bytes()),
            Flood::Sets => {
                out.extend_from_slice(format!("set k{key} 0 0 {VALUE_LEN}\r\n").as_bytes());
                put_value(out, "s", i);
                out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// The replies, by `i % KEYS`.
    fn replies(self) -> Vec<Vec<u8>> {
        (0..KEYS)
            .map(|key| match self {
                Flood::Gets => {
                    let mut r = format!("VALUE k{key} 0 {VALUE_LEN}\r\n").into_bytes();
                    put_value(&mut r, "v", key);
                    r.extend_from_slice(b"\r\nEND\r\n");
                    r
                }
                Flood::Sets => b"STORED\r\n".to_vec(),
            })
            .collect()
    }

    /// Bytes of all requests.
    fn request_bytes(self) -> usize {
        let mut one = Vec::new();
        (0..REQUESTS)
            .map(|i| {
                one.clear();
                self.put_request(i, &mut one);
                one.len()
            })
            .sum()
    }
}

/// Writes every request of the flood, in batches; returns how many bytes
/// went out (all of them, unless the connection failed).
fn write_flood(mut stream: TcpStream, flood: Flood) -> usize {
    let mut sent = 0;
    let mut bytes = Vec::new();
    for batch in (0..REQUESTS).step_by(1000) {
        bytes.clear();
        for i in batch..batch + 1000 {
            flood.put_request(i, &mut bytes);
        }
        if stream.write_all(&bytes).is_err() {
            break;
        }
        sent += bytes.len();
    }
    sent
}

/// One round trip of the client that is not flooding.
fn side_round(side: &mut Line, round: usize) {
    let v = value("side", round);
    assert_eq!(side.set("side", &v), "STORED", "round {round}");
    assert_eq!(side.get("side"), Some(v), "round {round}");
}

/// What was seen while the flood went unanswered.
struct Stall {
    peak_mib: f64,
    rounds: usize,
    took: Duration,
    /// Reply bytes waiting in the kernel's socket buffers.
    replies_queued: u64,
    /// Request bytes moxi had not read (in the kernel's socket buffers).
    requests_unread: u64,
}

/// Serves the side client and samples RSS until the replies queued for
/// the flooding client stop growing: moxi has stopped answering it.
fn until_stalled(t: &Target, side: &mut Line, base: f64, flooder: &TcpStream) -> Stall {
    let client = flooder.local_addr().unwrap();
    // (reply bytes, request bytes) in the socket buffers of both ends.
    let queued = || {
        let (c_tx, c_rx) = tcp_queues(client, t.entry).unwrap_or_default();
        let (m_tx, m_rx) = tcp_queues(t.entry, client).unwrap_or_default();
        (c_rx + m_tx, c_tx + m_rx)
    };
    let start = Instant::now();
    let (mut peak_mib, mut rounds, mut still) = (base, 0, 0);
    let mut last = queued();
    while still < 5 {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "{:?}: the replies to the flood never stopped growing",
            t.kind
        );
        side_round(side, rounds);
        rounds += 1;
        peak_mib = peak_mib.max(t.rss_mib());
        thread::sleep(Duration::from_millis(50));
        let now = queued();
        still = if now.0 > 0 && now.0 == last.0 {
            still + 1
        } else {
            0
        };
        last = now;
    }
    Stall {
        peak_mib,
        rounds,
        took: start.elapsed(),
        replies_queued: last.0,
        requests_unread: last.1,
    }
}

/// Reads every reply of the flood and checks each against its request.
fn read_replies(stream: &TcpStream, flood: Flood, t: &Target, peak: &mut f64) {
    let mut rd = BufReader::with_capacity(256 * 1024, stream.try_clone().unwrap());
    let replies = flood.replies();
    let mut got = Vec::new();
    for i in 0..REQUESTS {
        let want = &replies[i % KEYS];
        got.resize(want.len(), 0);
        if let Err(e) = rd.read_exact(&mut got) {
            panic!("{:?} {flood:?}: reply {i} of {REQUESTS}: {e}", t.kind);
        }
        assert!(
            got == *want,
            "{:?} {flood:?}: reply {i} is {:?}, want {:?}",
            t.kind,
            testkit::escape_short(&got),
            testkit::escape_short(want)
        );
        if i % 10_000 == 0 {
            *peak = peak.max(t.rss_mib());
        }
    }
}

/// Polls until RSS is within [`SETTLED_MIB`] of `base` (10 s at most);
/// returns the last sample.
fn settle(t: &Target, base: f64) -> f64 {
    let start = Instant::now();
    loop {
        let rss = t.rss_mib();
        if rss <= base + SETTLED_MIB || start.elapsed() > Duration::from_secs(10) {
            return rss;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

fn flood(kind: Kind, flood: Flood) {
    let _one = ONE_FLOOD.lock().unwrap_or_else(|e| e.into_inner());
    if kind == Kind::Proxy && !testkit::require_tool("memcached") {
        return;
    }
    let began = Instant::now();
    let t = Target::start(kind, &[]);
    let mut side = Line::connect(t.entry);
    for key in 0..KEYS {
        assert_eq!(side.set(&format!("k{key}"), &value("v", key)), "STORED");
    }
    side_round(&mut side, 0);
    let base = t.rss_mib();
    let flooder = TcpStream::connect(t.entry).unwrap();
    flooder
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let writer = {
        let stream = flooder.try_clone().unwrap();
        thread::spawn(move || write_flood(stream, flood))
    };
    let stall = until_stalled(&t, &mut side, base, &flooder);
    let mut peak = stall.peak_mib;
    let replies = flood.replies();
    let owed: usize = (0..REQUESTS).map(|i| replies[i % KEYS].len()).sum();
    read_replies(&flooder, flood, &t, &mut peak);
    let sent = writer.join().unwrap();
    assert_eq!(sent, flood.request_bytes());
    drop(flooder);
    let after = settle(&t, base);
    eprintln!(
        "{kind:?} {flood:?}: {:.1} s, moxi {:.1} CPU s; \
         base {base:.1} MiB, peak {peak:.1} MiB, after {after:.1} MiB; \
         stalled after {:?} with {} of {owed} reply bytes and {} request bytes \
         in socket buffers; {} side round trips meanwhile",
        began.elapsed().as_secs_f64(),
        t.cpu_secs(),
        stall.took,
        stall.replies_queued,
        stall.requests_unread,
        stall.rounds
    );
    assert!(
        peak - base < MAX_GROWTH_MIB,
        "{kind:?} {flood:?}: RSS grew from {base:.1} to {peak:.1} MiB"
    );
    assert!(
        after <= base + SETTLED_MIB,
        "{kind:?} {flood:?}: RSS still {after:.1} MiB after the flood (base {base:.1})"
    );
    if let Flood::Gets = flood {
        // Backpressure, not a finished flood: moxi left requests unread.
        assert!(
            stall.requests_unread > 0,
            "{kind:?}: moxi read every request of a client that reads nothing"
        );
    }
    // The sets were applied in order: each key holds its last value.
    if let Flood::Sets = flood {
        for key in 0..KEYS {
            let last = REQUESTS - KEYS + key;
            assert_eq!(side.get(&format!("k{key}")), Some(value("s", last)));
        }
    }
    side_round(&mut side, 1);
}

#[test]
fn server_get_flood_is_bounded() {
    flood(Kind::Server, Flood::Gets);
}

#[test]
fn server_set_flood_is_bounded() {
    flood(Kind::Server, Flood::Sets);
}

#[test]
fn proxy_get_flood_is_bounded() {
    flood(Kind::Proxy, Flood::Gets);
}

#[test]
fn proxy_set_flood_is_bounded() {
    flood(Kind::Proxy, Flood::Sets);
}

/// Raises the soft descriptor limit to at least `want` (within the hard one).
fn ensure_fd_limit(want: u64) {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if soft < want {
        setrlimit(Resource::RLIMIT_NOFILE, want.min(hard), hard).unwrap();
    }
    let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    assert!(
        soft >= want,
        "need {want} file descriptors, the hard limit is {hard}"
    );
}

/// Waits until every refused connection has been told so and closed;
/// returns how many were (the rest never heard anything).
fn count_refused(conns: &[TcpStream], want: usize) -> usize {
    let mut heard: Vec<Option<Vec<u8>>> = vec![Some(Vec::new()); conns.len()];
    let mut refused = 0;
    let start = Instant::now();
    while refused < want && start.elapsed() < Duration::from_secs(10) {
        for (conn, seen) in conns.iter().zip(heard.iter_mut()) {
            let Some(bytes) = seen else { continue };
            let mut buf = [0u8; 64];
            match (&*conn).read(&mut buf) {
                Ok(0) => {
                    assert_eq!(bytes.as_slice(), TOO_MANY, "a refused connection");
                    *seen = None;
                    refused += 1;
                }
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("reading a silent connection: {e}"),
            }
        }
    }
    // The others heard nothing at all.
    for bytes in heard.iter().flatten() {
        assert!(bytes.is_empty(), "an accepted connection got {bytes:?}");
    }
    refused
}

fn half_open(kind: Kind) {
    if kind == Kind::Proxy && !testkit::require_tool("memcached") {
        return;
    }
    let _alone = MANY_FDS.lock().unwrap_or_else(|e| e.into_inner());
    ensure_fd_limit(HALF_OPEN as u64 + 1000);
    let limit = LIMIT.to_string();
    // A backlog that holds the burst: the 10,000 connects come faster than
    // a loaded machine runs the acceptor, and an overflow costs a 1 s SYN retry.
    let t = Target::start(kind, &["-c", &limit, "-b", "4096"]);
    let mut established = Line::connect(t.entry);
    side_round(&mut established, 0);
    // The start-up probe's slot is released: one client holds one slot.
    t.await_metric("moxi_client_connections", 1.0);
    let started = Instant::now();
    let conns: Vec<TcpStream> = (0..HALF_OPEN)
        .map(|_| TcpStream::connect(t.entry).unwrap())
        .collect();
    let opened = started.elapsed();
    for c in &conns {
        c.set_nonblocking(true).unwrap();
    }
    let held = LIMIT - 1;
    let refused = count_refused(&conns, HALF_OPEN - held);
    assert_eq!(refused, HALF_OPEN - held, "{kind:?}: refused connections");
    assert_eq!(t.metric("moxi_client_connections"), LIMIT as f64);
    assert_eq!(
        t.metric("moxi_client_connections_rejected_total"),
        refused as f64
    );
    // Full: the established client is served, a new one is refused cleanly.
    side_round(&mut established, 1);
    assert_eq!(Line::connect(t.entry).until_closed(), TOO_MANY);
    drop(conns);
    t.await_metric("moxi_client_connections", 1.0);
    for round in 0..3 {
        side_round(&mut Line::connect(t.entry), round);
    }
    side_round(&mut established, 2);
    eprintln!(
        "{kind:?}: {HALF_OPEN} connections opened in {opened:?}, {held} held, {refused} refused, \
         all checked after {:?}; RSS {:.1} MiB",
        started.elapsed(),
        t.rss_mib()
    );
}

#[test]
fn server_half_open_connections_against_the_limit() {
    half_open(Kind::Server);
}

#[test]
fn proxy_half_open_connections_against_the_limit() {
    half_open(Kind::Proxy);
}
