//! A scripted session whose counters were read from memcached 1.6.18 after
//! the same commands (fresh `memcached -U 0`).

use super::*;

#[test]
fn counters_match_memcached_after_a_script() {
    let (e, _c) = engine();
    set(&e, "a", "1", 0);
    set(&e, "neg", "x", -1);
    assert_eq!(e.stats().curr_items, 2);
    assert!(e.get(b"neg").is_none());
    set(&e, "past", "x", 1_000_000_000);
    assert!(e.get(b"past").is_none());
    assert_eq!(
        store(&e, StoreMode::Add, "a", "2", 0),
        StoreOutcome::NotStored
    );
    e.store(StoreMode::Add, b"neg2", 0, -1, Bytes::from_static(b"2"), 0);
    assert!(matches!(
        store(&e, StoreMode::Add, "neg2", "3", 0),
        StoreOutcome::Stored { .. }
    ));
    assert_eq!(
        store(&e, StoreMode::Replace, "zz", "2", 0),
        StoreOutcome::NotStored
    );
    assert_eq!(
        store(&e, StoreMode::Append, "zz", "2", 0),
        StoreOutcome::NotStored
    );
    assert!(matches!(
        store(&e, StoreMode::Prepend, "a", "0", 0),
        StoreOutcome::Stored { .. }
    ));
    let cas = e.get(b"a").unwrap().cas;
    assert_eq!(
        store(&e, StoreMode::Cas, "a", "5", cas + 100),
        StoreOutcome::Exists
    );
    assert!(matches!(
        store(&e, StoreMode::Cas, "a", "5", cas),
        StoreOutcome::Stored { .. }
    ));
    assert_eq!(
        store(&e, StoreMode::Cas, "nokey", "5", cas),
        StoreOutcome::NotFound
    );
    for k in ["a", "b", "a", "nokey", "c"] {
        e.get(k.as_bytes());
    }
    assert!(e.touch(b"a", 100).is_some());
    assert!(e.touch(b"nokey", 100).is_none());
    assert!(e.touch_get(b"a", 100).is_some());
    assert!(e.touch_get(b"nokey", 100).is_none());
    e.arith(b"a", true, 1, None, 0);
    e.arith(b"a", false, 1, None, 0);
    e.arith(b"nokey", true, 1, None, 0);
    e.arith(b"nokey", false, 1, None, 0);
    set(&e, "s", "abc", 0);
    e.arith(b"s", true, 1, None, 0);
    assert_eq!(e.delete(b"a", 0), crate::DeleteOutcome::Deleted);
    assert_eq!(e.delete(b"a", 0), crate::DeleteOutcome::NotFound);
    let big = Bytes::from(vec![b'x'; 2_000_000]);
    assert_eq!(
        e.store(StoreMode::Set, b"big", 0, 0, big, 0),
        StoreOutcome::TooLarge
    );
    e.flush_all(0);
    set(&e, "after", "1", 0);
    assert!(e.get(b"after").is_some());
    assert!(e.get(b"s").is_none());

    let s = e.stats();
    let want = [
        ("cmd_get", 10),
        ("cmd_set", 14),
        ("cmd_flush", 1),
        ("cmd_touch", 4),
        ("get_hits", 4),
        ("get_misses", 6),
        ("get_expired", 3),
        ("get_flushed", 1),
        ("delete_misses", 1),
        ("delete_hits", 1),
        ("incr_misses", 1),
        ("incr_hits", 1),
        ("decr_misses", 1),
        ("decr_hits", 1),
        ("cas_misses", 1),
        ("cas_hits", 1),
        ("cas_badval", 1),
        ("touch_hits", 2),
        ("touch_misses", 2),
        ("store_too_large", 1),
        ("store_no_memory", 0),
        ("limit_maxbytes", 64 * 1024 * 1024),
        ("bytes", 129),
        ("curr_items", 2),
        ("total_items", 9),
        ("expired_unfetched", 0),
        ("evicted_unfetched", 0),
        ("evictions", 0),
        ("reclaimed", 0),
    ];
    let got = s.pairs();
    for (name, value) in want {
        assert!(
            got.contains(&(name, value)),
            "{name}: want {value}, got {got:?}"
        );
    }

    e.reset_stats();
    let s = e.stats();
    assert_eq!((s.cmd_get, s.total_items, s.cmd_flush), (0, 0, 0));
    assert_eq!((s.curr_items, s.bytes), (2, 129));
}
