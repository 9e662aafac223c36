//! Eviction under a small memory limit (`-m 2`): the cache stays within
//! its limit, counts evictions, and evicts the least recently used item.

use crate::client::{settings, start, Conn};
use server::settings::Settings;

const MIB: usize = 1024 * 1024;
const VALUE_LEN: usize = 100_000;

fn stat_of(stats: &[(String, String)], name: &str) -> u64 {
    stats
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or_else(|| panic!("no stat {name}"))
}

#[test]
fn small_memory_evicts_least_recently_used() {
    let server = start(Settings {
        max_bytes: 2 * MIB,
        item_size_max: MIB,
        ..settings()
    });
    let mut c = Conn::open(server.local_addrs()[0]);
    let value = |i: usize| vec![b'a' + (i % 26) as u8; VALUE_LEN];
    // About 20 such items fit in 2 MiB; store 60, reading "k0" after every
    // store so that it stays the most recently used.
    for i in 0..60 {
        assert_eq!(c.set(&format!("k{i}"), 0, &value(i)), "STORED", "k{i}");
        assert_eq!(c.value("k0"), Some(value(0)), "hot key lost after k{i}");
    }
    let stats = c.stats("");
    let limit = stat_of(&stats, "limit_maxbytes");
    assert_eq!(limit, 2 * MIB as u64);
    assert!(
        stat_of(&stats, "bytes") <= limit,
        "over the limit: {stats:?}"
    );
    let evictions = stat_of(&stats, "evictions");
    assert!(evictions >= 30, "too few evictions: {evictions}");
    let items = stat_of(&stats, "curr_items");
    assert!((10..=21).contains(&items), "curr_items {items}");
    assert_eq!(items + evictions, 60, "items and evictions must add up");
    // The oldest untouched items are gone, the newest and the hot one stay.
    assert_eq!(c.value("k1"), None, "oldest untouched key survived");
    assert_eq!(c.value("k2"), None);
    assert_eq!(c.value("k59"), Some(value(59)));
    assert_eq!(c.value("k0"), Some(value(0)));
    // Evicted items were never fetched.
    assert_eq!(stat_of(&stats, "evicted_unfetched"), evictions);
}

#[test]
fn no_evict_answers_out_of_memory() {
    let server = start(Settings {
        max_bytes: 2 * MIB,
        item_size_max: MIB,
        no_evict: true,
        ..settings()
    });
    let mut c = Conn::open(server.local_addrs()[0]);
    let mut refused = None;
    for i in 0..40 {
        let reply = c.set(&format!("k{i}"), 0, &vec![b'x'; VALUE_LEN]);
        if reply != "STORED" {
            refused = Some((i, reply));
            break;
        }
    }
    let (i, reply) = refused.expect("-M never refused a store");
    assert!(i >= 10, "refused too early, at k{i}");
    assert_eq!(reply, "SERVER_ERROR out of memory storing object");
    assert_eq!(
        c.value("k0").map(|v| v.len()),
        Some(VALUE_LEN),
        "-M evicted"
    );
    assert_eq!(c.stat("evictions"), 0);
    assert!(c.stat("store_no_memory") >= 1);
}
