//! Key stats and optimize_set through a running proxy.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use common::{memcacheds, servers_of, Client, Proxy};
use config::{Behaviors, PrefixSpec};
use proxy::clock::{Clock, ManualClock};
use proxy::features::Features;
use testkit::mock::{empty_cache_ascii_reply, MockServer, Received};

fn proxy(addrs: &[SocketAddr], b: &Behaviors) -> (Proxy, Arc<ManualClock>) {
    let mut topo = proxy::topology::build::hashed(&servers_of(addrs), b).unwrap();
    let (clock, hand) = Clock::manual();
    topo.features = Arc::new(Features::new(b, clock));
    (common::start(topo), hand)
}

/// `stats proxy keystats` rows of a pool, in order, prefix removed.
fn keystats(p: &Proxy) -> Vec<(String, u64)> {
    p.shared
        .topology()
        .features
        .keystats(11311, "b1")
        .into_iter()
        .map(|(k, v)| {
            let name = k.strip_prefix("11311:b1:keystats:").unwrap().to_owned();
            (name, v.parse().unwrap())
        })
        .collect()
}

#[test]
fn keystats_count_each_tracked_key() {
    let mcs = memcacheds(1);
    let b = Behaviors {
        key_stats_lifespan: Duration::from_secs(60),
        key_stats_spec: PrefixSpec::parse("ks"),
        key_stats_unspec: PrefixSpec::parse("ksx"),
        ..Behaviors::default()
    };
    let (p, hand) = proxy(&[mcs[0].addr()], &b);
    let mut c = Client::connect(p.addr());
    c.send(b"set ks-a 0 0 3\r\nabc\r\nset ksx-1 0 0 1\r\nx\r\n");
    c.expect(b"STORED\r\nSTORED\r\n");
    c.send(b"get ks-a ks-b ks-a other ksx-1\r\n");
    c.expect(b"VALUE ks-a 0 3\r\nabc\r\nVALUE ks-a 0 3\r\nabc\r\nVALUE ksx-1 0 1\r\nx\r\nEND\r\n");
    c.send(b"delete ks-b\r\n");
    c.expect(b"NOT_FOUND\r\n");
    let rows = keystats(&p);
    let names: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 14, "{names:?}");
    assert!(names[..7].iter().all(|n| n.starts_with("ks-a:")));
    assert!(names[7..].iter().all(|n| n.starts_with("ks-b:")));
    let stats: HashMap<String, u64> = rows.into_iter().collect();
    let want_a = [
        ("seen", 3),
        ("gets", 2),
        ("hits", 2),
        ("misses", 0),
        ("read_bytes", 6),
        ("sets", 1),
        ("write_bytes", 3),
    ];
    for (field, v) in want_a {
        assert_eq!(stats[&format!("ks-a:{field}")], v, "ks-a:{field}");
    }
    let want_b = [("seen", 2), ("gets", 1), ("hits", 0), ("misses", 1)];
    for (field, v) in want_b {
        assert_eq!(stats[&format!("ks-b:{field}")], v, "ks-b:{field}");
    }
    hand.advance(Duration::from_secs(60));
    assert!(keystats(&p).is_empty(), "past the lifespan");
}

/// A gate the mock's set waits on.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    cv: Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            let (o, timeout) = self.cv.wait_timeout(open, Duration::from_secs(10)).unwrap();
            open = o;
            if timeout.timed_out() {
                return;
            }
        }
    }

    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.cv.notify_all();
    }
}

/// An ascii server that holds each `set` reply until `gate` opens and
/// answers gets from what its own connection stored: a get sent on
/// another connection than the set would miss.
fn holding_mock(gate: Arc<Gate>) -> MockServer {
    MockServer::start(move |conn| {
        let mut store: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        while let Some(Received::Ascii { line, data }) = conn.read_request() {
            let words: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
            match words[0] {
                b"set" => {
                    gate.wait();
                    store.insert(words[1].to_vec(), data.unwrap_or_default());
                    conn.send(b"STORED\r\n");
                }
                b"get" => {
                    let mut out = Vec::new();
                    for key in &words[1..] {
                        if let Some(v) = store.get(*key) {
                            let k = String::from_utf8_lossy(key);
                            out.extend(format!("VALUE {k} 0 {}\r\n", v.len()).into_bytes());
                            out.extend(v);
                            out.extend(b"\r\n");
                        }
                    }
                    out.extend(b"END\r\n");
                    conn.send(&out);
                }
                _ => {
                    conn.send(empty_cache_ascii_reply(&line));
                }
            }
        }
    })
    .unwrap()
}

/// optimize_set answers STORED before the server does, the server's reply
/// is dropped, and the client's next get, queued behind the set on the
/// same connection, sees it.
#[test]
fn optimize_set_answers_before_the_server_and_keeps_order() {
    let gate = Arc::new(Gate::default());
    let mock = holding_mock(gate.clone());
    let b = Behaviors {
        downstream_protocol: config::DownstreamProtocol::Ascii,
        optimize_set: PrefixSpec::parse("opt"),
        ..Behaviors::default()
    };
    let (p, _hand) = proxy(&[mock.addr()], &b);
    // A set of a key optimize_set does not name waits for the server.
    let mut plain = Client::connect(p.addr());
    plain.send(b"set plain 0 0 1\r\ny\r\n");
    let mut c = Client::connect(p.addr());
    c.send(b"set opt-1 0 0 3\r\nabc\r\n");
    c.expect(b"STORED\r\n");
    c.send(b"get opt-1\r\n");
    plain.expect_silence(Duration::from_millis(100));
    gate.open();
    plain.expect(b"STORED\r\n");
    c.expect(b"VALUE opt-1 0 3\r\nabc\r\nEND\r\n");
    // The server's own STORED never reaches the client.
    c.send(b"delete opt-1\r\n");
    c.expect(b"NOT_FOUND\r\n");
    // add is not optimized either.
    c.send(b"add opt-2 0 0 1\r\nx\r\n");
    c.expect(b"STORED\r\n");
    assert_eq!(p.shared.topology().features.tot_optimize_sets(), 1);
    let mut metrics = String::new();
    proxy::stats::metrics::render(&mut metrics);
    let total = metrics
        .lines()
        .find_map(|l| l.strip_prefix("moxi_optimize_sets_total "))
        .unwrap();
    assert!(total.parse::<u64>().unwrap() >= 1);
}

/// Pipelined optimized sets and gets of the same keys against real
/// servers, with the front cache on for the same keys: every get sees the
/// set just before it.
#[test]
fn optimized_sets_are_seen_by_the_next_get() {
    let mcs = memcacheds(2);
    let addrs: Vec<SocketAddr> = mcs.iter().map(|m| m.addr()).collect();
    for protocol in [
        config::DownstreamProtocol::Ascii,
        config::DownstreamProtocol::Binary,
    ] {
        let b = Behaviors {
            downstream_protocol: protocol,
            optimize_set: PrefixSpec::parse("opt"),
            front_cache_lifespan: Duration::from_secs(60),
            front_cache_spec: PrefixSpec::parse("opt"),
            ..Behaviors::default()
        };
        let (p, _hand) = proxy(&addrs, &b);
        let mut c = Client::connect(p.addr());
        for i in 0..300 {
            let (key, v) = (format!("opt-{}", i % 7), format!("v{i}"));
            let req = format!("set {key} 0 0 {}\r\n{v}\r\nget {key}\r\n", v.len());
            c.send(req.as_bytes());
            let want = format!("STORED\r\nVALUE {key} 0 {}\r\n{v}\r\nEND\r\n", v.len());
            c.expect(want.as_bytes());
        }
        assert_eq!(p.shared.topology().features.tot_optimize_sets(), 300);
    }
}
