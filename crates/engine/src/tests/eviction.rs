//! Memory limit, LRU eviction across shards, reclaiming dead items first.

use super::*;
use crate::{ArithOutcome, MIB};

fn small(evict: bool) -> (Engine, Arc<ManualClock>) {
    engine_with(Config {
        max_bytes: MIB,
        item_size_max: 64 * 1024,
        evict,
        shards: 64,
        ..Config::default()
    })
}

fn fill(e: &Engine, prefix: &str, n: usize, len: usize) {
    for i in 0..n {
        let o = e.store(
            StoreMode::Set,
            format!("{prefix}{i}").as_bytes(),
            0,
            0,
            Bytes::from(vec![b'x'; len]),
            0,
        );
        assert!(
            matches!(o, StoreOutcome::Stored { .. }),
            "{prefix}{i}: {o:?}"
        );
    }
}

#[test]
fn bytes_stay_under_the_limit_and_evictions_are_counted() {
    let (e, _c) = small(true);
    fill(&e, "k", 5000, 1000);
    let s = e.stats();
    assert!(s.bytes <= MIB as u64, "{}", s.bytes);
    assert!(s.bytes > (MIB - 2000) as u64, "{}", s.bytes);
    assert_eq!(s.curr_items + s.evictions, 5000);
    assert_eq!(s.evicted_unfetched, s.evictions);
    // The newest items survived, the oldest went.
    assert!(e.get(b"k4999").is_some());
    assert!(e.get(b"k0").is_none());
}

#[test]
fn recently_read_items_survive() {
    let (e, _c) = small(true);
    let item = e.item_size(4, 0, 1000);
    let fit = MIB / item;
    fill(&e, "a", fit, 1000);
    assert_eq!(e.stats().evictions, 0);
    // Read the oldest ten, then push in enough new items to evict half.
    for i in 0..10 {
        assert!(e.get(format!("a{i}").as_bytes()).is_some());
    }
    fill(&e, "b", fit / 2, 1000);
    for i in 0..10 {
        assert!(
            e.get(format!("a{i}").as_bytes()).is_some(),
            "a{i} was read and must survive"
        );
    }
    assert!(e.get(b"a10").is_none());
    let s = e.stats();
    assert!(s.evictions >= (fit / 2) as u64);
}

#[test]
fn one_large_item_evicts_many_small_ones_in_other_shards() {
    let (e, _c) = small(true);
    fill(&e, "s", 10_000, 50);
    let big = Bytes::from(vec![b'b'; 60_000]);
    for i in 0..20 {
        let o = e.store(
            StoreMode::Set,
            format!("big{i}").as_bytes(),
            0,
            0,
            big.clone(),
            0,
        );
        assert!(matches!(o, StoreOutcome::Stored { .. }), "{o:?}");
    }
    assert!(e.stats().bytes <= MIB as u64);
}

#[test]
fn expired_items_are_reclaimed_before_live_ones_are_evicted() {
    let (e, clock) = small(true);
    let item = e.item_size(4, 0, 1000);
    let fit = MIB / item;
    for i in 0..fit / 2 {
        e.store(
            StoreMode::Set,
            format!("x{i}").as_bytes(),
            0,
            5,
            Bytes::from(vec![b'x'; 1000]),
            0,
        );
    }
    fill(&e, "l", fit - fit / 2, 1000);
    clock.advance(5);
    fill(&e, "n", 10, 1000);
    let s = e.stats();
    assert_eq!(s.evictions, 0);
    assert!(s.reclaimed >= 10);
    assert_eq!(s.expired_unfetched, s.reclaimed);
}

#[test]
fn no_evict_answers_out_of_memory() {
    let (e, clock) = small(false);
    set(&e, "seta", "x", 0);
    let item = e.item_size(4, 0, 1000);
    fill(&e, "a", MIB / item - 10, 1000);
    for i in 0..5 {
        e.store(
            StoreMode::Set,
            format!("x{i}").as_bytes(),
            0,
            1,
            Bytes::from(vec![b'x'; 1000]),
            0,
        );
    }
    let mut i = 0;
    while matches!(
        set(&e, &format!("p{i}"), "x", 0),
        StoreOutcome::Stored { .. }
    ) {
        i += 1;
    }
    // Memory is now full to within one small item.
    let o = e.store(
        StoreMode::Set,
        b"seta",
        0,
        0,
        Bytes::from(vec![b'x'; 2000]),
        0,
    );
    assert_eq!(o, StoreOutcome::OutOfMemory);
    // A SET that failed for memory removes the old value, as memcached does.
    assert!(e.get(b"seta").is_none());
    // Same-size overwrites fit in the room the old value leaves.
    assert!(matches!(
        set(&e, "a0", &"y".repeat(1000), 0),
        StoreOutcome::Stored { .. }
    ));
    let s = e.stats();
    assert_eq!((s.evictions, s.store_no_memory), (0, 2));
    // Growing an item needs memory too.
    assert_eq!(
        store(&e, StoreMode::Append, "a1", &"z".repeat(200), 0),
        StoreOutcome::NotStored
    );
    let long_key = "c".repeat(100);
    assert_eq!(
        e.arith(long_key.as_bytes(), true, 1, Some((5, 0)), 0),
        ArithOutcome::OutOfMemory
    );
    // Expired items are still reclaimed without eviction, even away from the tails.
    clock.advance(1);
    let o = e.store(
        StoreMode::Set,
        b"fresh",
        0,
        0,
        Bytes::from(vec![b'x'; 4000]),
        0,
    );
    assert!(matches!(o, StoreOutcome::Stored { .. }), "{o:?}");
    assert_eq!(e.stats().evictions, 0);
}

#[test]
fn append_and_incr_grow_under_pressure() {
    let (e, _c) = small(true);
    fill(&e, "f", 2000, 500);
    set(&e, "n", "9", 0);
    for _ in 0..100 {
        assert!(matches!(
            store(&e, StoreMode::Append, "n", "9", 0),
            StoreOutcome::Stored { .. }
        ));
    }
    set(&e, "c", "99", 0);
    assert!(matches!(
        e.arith(b"c", true, 1, None, 0),
        ArithOutcome::Value { value: 100, .. }
    ));
    assert!(e.stats().bytes <= MIB as u64);
}

#[test]
fn an_item_larger_than_memory_evicts_nothing() {
    let config = Config {
        max_bytes: 4096,
        item_size_max: 8192,
        ..Config::default()
    };
    let (e, _c) = engine_with(config);
    set(&e, "keep", "v", 0);
    let o = e.store(
        StoreMode::Set,
        b"huge",
        0,
        0,
        Bytes::from(vec![b'x'; 5000]),
        0,
    );
    assert_eq!(o, StoreOutcome::OutOfMemory);
    assert!(e.get(b"keep").is_some());
    assert_eq!(e.stats().evictions, 0);
}

#[test]
fn a_lower_limit_at_run_time_bounds_later_stores() {
    let (e, _c) = small(true);
    fill(&e, "k", 500, 1000);
    e.set_max_bytes(MIB / 4);
    assert_eq!(e.max_bytes(), MIB / 4);
    assert_eq!(e.stats().limit_maxbytes, (MIB / 4) as u64);
    // Nothing went at once; the next stores make room down to the new limit.
    assert_eq!(e.stats().curr_items, 500);
    fill(&e, "n", 100, 1000);
    assert!(e.stats().bytes <= (MIB / 4) as u64, "{}", e.stats().bytes);
    e.set_max_bytes(MIB);
    fill(&e, "m", 400, 1000);
    assert!(e.stats().bytes > (MIB / 2) as u64);
}
