//! The front cache against real memcached servers, updated behind the
//! proxy's back to tell a cached answer from a fresh one. The cache reads
//! a manual clock: lifespans pass without sleeping.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::{memcacheds, servers_of, stat, Client, Proxy};
use config::{Behaviors, PrefixSpec};
use proxy::clock::{Clock, ManualClock};
use proxy::features::Features;
use proxy::topology::DownstreamProtocol;

const PROTOCOLS: [DownstreamProtocol; 2] = [DownstreamProtocol::Ascii, DownstreamProtocol::Binary];

fn behaviors(protocol: DownstreamProtocol, max: u32, spec: &str, unspec: &str) -> Behaviors {
    Behaviors {
        downstream_protocol: match protocol {
            DownstreamProtocol::Ascii => config::DownstreamProtocol::Ascii,
            DownstreamProtocol::Binary => config::DownstreamProtocol::Binary,
        },
        front_cache_max: max,
        front_cache_lifespan: Duration::from_millis(3000),
        front_cache_spec: PrefixSpec::parse(spec),
        front_cache_unspec: PrefixSpec::parse(unspec),
        ..Behaviors::default()
    }
}

/// A proxy over `addrs` built from `b`, its features on a manual clock.
fn proxy(addrs: &[SocketAddr], b: &Behaviors) -> (Proxy, Arc<ManualClock>) {
    let mut topo = proxy::topology::build::hashed(&servers_of(addrs), b).unwrap();
    let (clock, hand) = Clock::manual();
    topo.features = Arc::new(Features::new(b, clock));
    (common::start(topo), hand)
}

fn set(c: &mut Client, key: &str, value: &str) {
    c.send(format!("set {key} 0 0 {}\r\n{value}\r\n", value.len()).as_bytes());
    c.expect(b"STORED\r\n");
}

/// `get`/`gets` of several keys: the values in reply order, `key=value`.
fn get(c: &mut Client, cmd: &str, keys: &[&str]) -> Vec<String> {
    c.send(format!("{cmd} {}\r\n", keys.join(" ")).as_bytes());
    let mut out = Vec::new();
    loop {
        let line = String::from_utf8(c.read_line()).unwrap();
        if line == "END\r\n" {
            return out;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[0], "VALUE", "{line:?}");
        let len: usize = words[3].parse().unwrap();
        let data = c.read_n(len + 2);
        out.push(format!(
            "{}={}",
            words[1],
            String::from_utf8_lossy(&data[..len])
        ));
    }
}

fn frontcache(p: &Proxy) -> HashMap<String, u64> {
    let topo = p.shared.topology();
    topo.features
        .frontcache_stats(11211, "default")
        .into_iter()
        .map(|(k, v)| {
            let name = k.trim_start_matches("11211:default:frontcache:").to_owned();
            (name, v.parse().unwrap())
        })
        .collect()
}

/// Keys fetched by a server so far (memcached's `cmd_get` counts keys).
fn fetched(addrs: &[SocketAddr]) -> u64 {
    addrs.iter().map(|a| stat(*a, "cmd_get")).sum()
}

/// MB-2980: with spec `yes` and unspec `no`, `yes-*` keys are served from
/// the cache, stale after a direct update, until the lifespan passes;
/// `nah-*` and `no-*` always come from the servers. A multi-get mixes both
/// in key order.
#[test]
fn cached_keys_are_served_stale_until_the_lifespan_passes() {
    let mcs = memcacheds(2);
    let addrs: Vec<SocketAddr> = mcs.iter().map(|m| m.addr()).collect();
    for protocol in PROTOCOLS {
        let (p, hand) = proxy(&addrs, &behaviors(protocol, 100, "yes", "no"));
        let mut c = Client::connect(p.addr());
        let mut direct: Vec<Client> = addrs.iter().map(|a| Client::connect(*a)).collect();
        for k in ["yes-1", "yes-2", "nah-1", "no-1"] {
            set(&mut c, k, "a");
        }
        let all = ["yes-1", "nah-1", "yes-2", "no-1", "yes-1"];
        assert_eq!(get(&mut c, "get", &all).len(), 5, "{protocol:?}");
        for d in &mut direct {
            for k in ["yes-1", "yes-2", "nah-1", "no-1"] {
                set(d, k, "b");
            }
        }
        let before = fetched(&addrs);
        assert_eq!(get(&mut c, "get", &["yes-1"]), ["yes-1=a"]);
        assert_eq!(
            get(&mut c, "get", &["yes-2", "yes-1"]),
            ["yes-2=a", "yes-1=a"]
        );
        assert_eq!(
            fetched(&addrs),
            before,
            "{protocol:?}: hits never reach a server"
        );
        assert_eq!(
            get(&mut c, "get", &all),
            ["yes-1=a", "nah-1=b", "yes-2=a", "no-1=b", "yes-1=a"],
            "{protocol:?}"
        );
        assert_eq!(get(&mut c, "gets", &["yes-1"]).len(), 1);
        let s = frontcache(&p);
        assert_eq!((s["size"], s["tot_adds"], s["tot_get_hits"]), (2, 2, 5));
        hand.advance(Duration::from_millis(2999));
        assert_eq!(get(&mut c, "get", &["yes-1"]), ["yes-1=a"]);
        hand.advance(Duration::from_millis(1));
        assert_eq!(
            get(&mut c, "get", &["yes-1", "yes-2"]),
            ["yes-1=b", "yes-2=b"]
        );
        assert_eq!(frontcache(&p)["tot_get_expires"], 2);
        // gets never reads the cache (moxi: only `get` does).
        set(&mut direct[0], "yes-1", "c");
        set(&mut direct[1], "yes-1", "c");
        assert_eq!(get(&mut c, "get", &["yes-1"]), ["yes-1=b"]);
        let gets = get(&mut c, "gets", &["yes-1"]);
        assert_eq!(gets, ["yes-1=c"], "{protocol:?}");
        c.send(b"flush_all\r\n");
        c.expect(b"OK\r\n");
    }
}

/// Updates, deletes, incr, append, touch and flush_all through the proxy
/// drop the key, so the next get sees the server's value.
#[test]
fn writes_through_the_proxy_invalidate() {
    let mcs = memcacheds(1);
    let addrs = [mcs[0].addr()];
    for protocol in PROTOCOLS {
        let (p, _hand) = proxy(&addrs, &behaviors(protocol, 100, "k", ""));
        let mut c = Client::connect(p.addr());
        let mut direct = Client::connect(addrs[0]);
        // Primes the cache with "1", then changes the server to "5" behind
        // the proxy's back: a get still answers "1".
        let mut prime = |c: &mut Client, key: &str| {
            set(c, key, "1");
            assert_eq!(get(c, "get", &[key]), [format!("{key}=1")]);
            set(&mut direct, key, "5");
            assert_eq!(get(c, "get", &[key]), [format!("{key}=1")], "{protocol:?}");
        };
        prime(&mut c, "k1");
        set(&mut c, "k1", "2");
        assert_eq!(get(&mut c, "get", &["k1"]), ["k1=2"]);
        prime(&mut c, "k2");
        c.send(b"delete k2\r\n");
        c.expect(b"DELETED\r\n");
        assert!(get(&mut c, "get", &["k2"]).is_empty());
        prime(&mut c, "k3");
        c.send(b"incr k3 2\r\n");
        c.expect(b"7\r\n");
        assert_eq!(get(&mut c, "get", &["k3"]), ["k3=7"]);
        prime(&mut c, "k4");
        c.send(b"append k4 0 0 1\r\nx\r\n");
        c.expect(b"STORED\r\n");
        assert_eq!(get(&mut c, "get", &["k4"]), ["k4=5x"]);
        prime(&mut c, "k5");
        c.send(b"touch k5 0\r\n");
        c.expect(b"TOUCHED\r\n");
        assert_eq!(get(&mut c, "get", &["k5"]), ["k5=5"]);
        // noreply, pipelined with the get: invalidated before the get starts.
        prime(&mut c, "k6");
        c.send(b"set k6 0 0 1 noreply\r\n9\r\nget k6\r\n");
        c.expect(b"VALUE k6 0 1\r\n9\r\nEND\r\n");
        prime(&mut c, "k7");
        c.send(b"flush_all\r\n");
        c.expect(b"OK\r\n");
        assert!(get(&mut c, "get", &["k7"]).is_empty());
        let s = frontcache(&p);
        assert_eq!(s["size"], 0, "{protocol:?}");
        assert!(s["oldest_live"] > 0);
        assert!(s["tot_deletes"] >= 5, "{s:?}");
    }
}

/// At `front_cache_max` entries the least recently used goes.
#[test]
fn the_least_recently_used_entry_is_evicted_at_max() {
    let mcs = memcacheds(1);
    let addrs = [mcs[0].addr()];
    let (p, _hand) = proxy(&addrs, &behaviors(DownstreamProtocol::Binary, 2, "k", ""));
    let mut c = Client::connect(p.addr());
    let mut direct = Client::connect(addrs[0]);
    for k in ["k1", "k2", "k3"] {
        set(&mut c, k, "old");
    }
    get(&mut c, "get", &["k1", "k2"]);
    get(&mut c, "get", &["k1"]);
    get(&mut c, "get", &["k3"]);
    for k in ["k1", "k2", "k3"] {
        set(&mut direct, k, "new");
    }
    assert_eq!(
        get(&mut c, "get", &["k1", "k2", "k3"]),
        ["k1=old", "k2=new", "k3=old"]
    );
    let s = frontcache(&p);
    assert_eq!((s["size"], s["max"]), (2, 2));
    assert!(
        s["tot_evictions"] >= 2,
        "k2 went for k3, then k1 for k2: {s:?}"
    );
}

/// A reload of the same pool keeps the cache; another configuration
/// starts empty.
#[test]
fn reloads_keep_the_cache_when_configured_the_same() {
    let mcs = memcacheds(1);
    let addrs = [mcs[0].addr()];
    let b = behaviors(DownstreamProtocol::Binary, 10, "k", "");
    let (p, _hand) = proxy(&addrs, &b);
    let mut c = Client::connect(p.addr());
    let mut direct = Client::connect(addrs[0]);
    set(&mut c, "k", "old");
    get(&mut c, "get", &["k"]);
    set(&mut direct, "k", "new");
    p.shared
        .replace_topology(proxy::topology::build::hashed(&servers_of(&addrs), &b).unwrap());
    assert_eq!(get(&mut c, "get", &["k"]), ["k=old"]);
    let other = Behaviors {
        front_cache_max: 11,
        ..b
    };
    p.shared
        .replace_topology(proxy::topology::build::hashed(&servers_of(&addrs), &other).unwrap());
    assert_eq!(get(&mut c, "get", &["k"]), ["k=new"]);
}
