//! Unit tests of [`super::FrontCache`], on a manual clock.

use std::sync::Arc;

use super::*;
use crate::clock::ManualClock;

fn config(max: usize, spec: &str, unspec: &str) -> FrontCacheConfig {
    FrontCacheConfig {
        max,
        lifespan: Duration::from_millis(3000),
        spec: PrefixSpec::parse(spec),
        unspec: PrefixSpec::parse(unspec),
        max_bytes: DEFAULT_MAX_BYTES,
    }
}

fn cache(cfg: FrontCacheConfig) -> (FrontCache, Arc<ManualClock>) {
    let (clock, hand) = Clock::manual();
    (FrontCache::new(cfg, clock), hand)
}

fn value(key: &str, data: &str) -> Value {
    Value {
        key: Key::new(key.as_bytes().to_vec()),
        flags: 7,
        cas: 99,
        data: Bytes::from(data.as_bytes().to_vec()),
    }
}

fn keys(ks: &[&str]) -> Vec<Key> {
    ks.iter().map(|k| Key::new(k.as_bytes().to_vec())).collect()
}

#[test]
fn spec_and_unspec_prefixes_choose_the_keys() {
    let (c, _) = cache(config(10, "yes|a", "yesno|ab"));
    assert!(c.matches(b"yes-1"));
    assert!(c.matches(b"a"));
    assert!(!c.matches(b"yesno-1"), "unspec wins");
    assert!(!c.matches(b"abc"));
    assert!(!c.matches(b"nah-1"));
    for off in [
        FrontCacheConfig {
            lifespan: Duration::ZERO,
            ..config(10, "a", "")
        },
        config(0, "a", ""),
        config(10, "", ""),
    ] {
        let (c, _) = cache(off);
        assert!(!c.matches(b"a"));
        assert!(!c.add(&value("a", "x"), c.ticket()));
        assert!(c.is_empty());
    }
}

#[test]
fn entries_live_for_the_lifespan_without_cas() {
    let (c, hand) = cache(config(10, "k", ""));
    let t = c.ticket();
    assert!(c.add(&value("k1", "hello"), t));
    let hit = c.get(b"k1").unwrap();
    assert_eq!((hit.flags, hit.cas, &hit.data[..]), (7, 0, &b"hello"[..]));
    hand.advance(Duration::from_millis(2999));
    assert!(c.get(b"k1").is_some());
    hand.advance(Duration::from_millis(1));
    assert!(c.get(b"k1").is_none(), "expired at now + lifespan");
    assert!(c.get(b"k2").is_none());
    let n = c.counters();
    assert_eq!((n.get_hits, n.get_expires, n.get_misses), (2, 1, 2));
    assert_eq!((n.get_bytes, n.adds, n.add_bytes), (10, 1, 5));
    assert!(c.is_empty());
}

#[test]
fn adds_never_replace_a_live_entry() {
    let (c, hand) = cache(config(10, "k", ""));
    assert!(c.add(&value("k", "old"), c.ticket()));
    assert!(!c.add(&value("k", "new"), c.ticket()));
    assert_eq!(&c.get(b"k").unwrap().data[..], b"old");
    hand.advance(Duration::from_secs(4));
    assert!(c.add(&value("k", "new"), c.ticket()), "expired: replaced");
    assert_eq!(&c.get(b"k").unwrap().data[..], b"new");
    assert_eq!(c.counters().add_skips, 1);
    assert_eq!(c.len(), 1);
}

#[test]
fn invalidation_drops_the_key_and_refuses_older_fetches() {
    let (c, _) = cache(config(10, "k", ""));
    assert!(c.add(&value("k", "v1"), c.ticket()));
    let before = c.ticket();
    c.invalidate(b"k");
    assert!(c.get(b"k").is_none());
    assert!(
        !c.add(&value("k", "v1"), before),
        "fetched before the update"
    );
    let after = c.ticket();
    assert!(c.add(&value("k", "v2"), after));
    c.invalidate(b"zzz");
    assert_eq!(c.counters().deletes, 1);
}

#[test]
fn flush_all_empties_the_cache() {
    let (c, hand) = cache(config(10, "k", ""));
    hand.advance(Duration::from_millis(1234));
    let before = c.ticket();
    assert!(c.add(&value("k1", "a"), before));
    assert!(c.add(&value("k2", "b"), before));
    c.flush();
    assert!(c.is_empty());
    assert_eq!(c.bytes(), 0);
    assert!(!c.add(&value("k3", "c"), before));
    assert!(c.add(&value("k3", "c"), c.ticket()));
    let stats: HashMap<String, String> = c.stats("").into_iter().collect();
    assert_eq!(stats["frontcache:oldest_live"], "1234");
}

#[test]
fn least_recently_used_entries_go_first() {
    let (c, _) = cache(config(2, "k", ""));
    let t = c.ticket();
    assert!(c.add(&value("ka", "1"), t));
    assert!(c.add(&value("kb", "2"), t));
    assert!(c.get(b"ka").is_some(), "ka is now the most recent");
    assert!(c.add(&value("kc", "3"), t));
    assert!(c.get(b"kb").is_none(), "kb evicted");
    assert!(c.get(b"ka").is_some());
    assert!(c.get(b"kc").is_some());
    assert_eq!(c.counters().evictions, 1);
    assert_eq!(c.len(), 2);
}

#[test]
fn the_byte_budget_bounds_memory() {
    let (c, _) = cache(FrontCacheConfig {
        max_bytes: 10,
        ..config(100, "k", "")
    });
    let t = c.ticket();
    assert!(c.add(&value("k1", "abc"), t)); // 5 bytes
    assert!(c.add(&value("k2", "abc"), t)); // 10
    assert!(c.add(&value("k3", "a"), t)); // 3: k1 goes
    assert_eq!(c.bytes(), 8);
    assert!(c.get(b"k1").is_none());
    assert!(
        !c.add(&value("k4", "0123456789"), t),
        "larger than the budget"
    );
    assert_eq!(c.counters().add_fails, 1);
    assert_eq!(c.len(), 2);
}

#[test]
fn entries_are_copies_not_views_of_read_buffers() {
    let (c, _) = cache(config(10, "k", ""));
    let buf = Bytes::from_static(b"k1 big-buffer-with-the-value");
    let v = Value {
        key: Key(buf.slice(0..2)),
        flags: 0,
        cas: 0,
        data: buf.slice(3..6),
    };
    assert!(c.add(&v, c.ticket()));
    let hit = c.get(b"k1").unwrap();
    assert_ne!(hit.data.as_ptr(), v.data.as_ptr());
    assert_eq!(&hit.data[..], b"big");
}

#[test]
fn lookup_returns_each_matching_key_once() {
    let (c, _) = cache(config(10, "k", "kx"));
    let t = c.ticket();
    assert!(c.add(&value("k1", "a"), t));
    let (found, ticket) = c.lookup(&keys(&["k1", "k2", "k1", "kx1", "z"]));
    assert_eq!(found.len(), 1);
    assert_eq!(&found[&Key::new(&b"k1"[..])].data[..], b"a");
    assert_eq!(ticket, c.ticket());
    let n = c.counters();
    assert_eq!(
        (n.get_hits, n.get_misses),
        (1, 1),
        "k2 only; kx1 and z are not cached"
    );
}

#[test]
fn stats_use_moxi_names_and_reset_keeps_entries() {
    let (c, _) = cache(config(5, "k", ""));
    assert!(c.add(&value("k", "v"), c.ticket()));
    let _ = c.get(b"k");
    let names: Vec<String> = c.stats("11211:default:").into_iter().map(|r| r.0).collect();
    let want = [
        "size",
        "max",
        "oldest_live",
        "tot_get_hits",
        "tot_get_expires",
        "tot_get_misses",
        "tot_get_bytes",
        "tot_adds",
        "tot_add_skips",
        "tot_add_fails",
        "tot_add_bytes",
        "tot_deletes",
        "tot_evictions",
    ];
    let want: Vec<String> = want
        .iter()
        .map(|n| format!("11211:default:frontcache:{n}"))
        .collect();
    assert_eq!(names, want);
    let stats: HashMap<String, String> = c.stats("").into_iter().collect();
    assert_eq!(stats["frontcache:size"], "1");
    assert_eq!(stats["frontcache:max"], "5");
    assert_eq!(stats["frontcache:tot_get_hits"], "1");
    c.reset_stats();
    assert_eq!(c.counters(), Counters::default());
    assert_eq!(c.len(), 1);
}
