//! protocol.txt "Expiration times", as memcached's `realtime()` applies them.

use super::*;

#[test]
fn zero_never_expires() {
    let (e, clock) = engine();
    set(&e, "k", "v", 0);
    clock.advance(100 * 86_400);
    assert_eq!(value(&e, "k").as_deref(), Some("v"));
}

#[test]
fn relative_expiry_is_inclusive() {
    let (e, clock) = engine();
    set(&e, "k", "v", 10);
    clock.advance(9);
    assert!(value(&e, "k").is_some());
    clock.advance(1);
    assert!(value(&e, "k").is_none());
    assert_eq!(e.stats().get_expired, 1);
}

#[test]
fn thirty_days_is_still_relative() {
    let (e, clock) = engine();
    set(&e, "rel", "v", 2_592_000);
    // One second more is an absolute time in January 1970: already dead.
    assert_eq!(
        set(&e, "abs", "v", 2_592_001),
        StoreOutcome::Stored { cas: 2 }
    );
    assert!(value(&e, "abs").is_none());
    clock.advance(2_591_999);
    assert!(value(&e, "rel").is_some());
    clock.advance(1);
    assert!(value(&e, "rel").is_none());
}

#[test]
fn absolute_times() {
    let (e, clock) = engine();
    set(&e, "future", "v", (START + 100) as i64);
    set(&e, "now", "v", START as i64);
    set(&e, "past", "v", (START - 1000) as i64);
    assert!(value(&e, "now").is_none());
    assert!(value(&e, "past").is_none());
    clock.advance(99);
    assert!(value(&e, "future").is_some());
    clock.advance(1);
    assert!(value(&e, "future").is_none());
}

#[test]
fn negative_and_past_items_are_stored_but_invisible() {
    let (e, _clock) = engine();
    assert!(matches!(
        set(&e, "neg", "x", -1),
        StoreOutcome::Stored { .. }
    ));
    let s = e.stats();
    assert_eq!((s.curr_items, s.total_items), (1, 1));
    assert!(value(&e, "neg").is_none());
    let s = e.stats();
    assert_eq!((s.curr_items, s.get_expired, s.get_misses), (0, 1, 1));
    // add sees the dead item as absent (and counts get_expired), like memcached.
    set(&e, "neg2", "x", -1);
    assert!(matches!(
        store(&e, StoreMode::Add, "neg2", "y", 0),
        StoreOutcome::Stored { .. }
    ));
    assert_eq!(e.stats().get_expired, 2);
}

#[test]
fn touch_and_gat_change_exptime_not_cas() {
    let (e, clock) = engine();
    let cas = stored_cas(set(&e, "k", "v", 10));
    assert_eq!(e.touch(b"k", 100), Some(cas));
    clock.advance(50);
    let item = e.touch_get(b"k", 5).unwrap();
    assert_eq!((item.cas, &item.data[..]), (cas, &b"v"[..]));
    clock.advance(5);
    assert!(e.touch_get(b"k", 0).is_none());
    assert_eq!(e.touch(b"missing", 0), None);
    // gat with a negative exptime returns the item once, then it is gone.
    set(&e, "g", "v", 0);
    assert!(e.touch_get(b"g", -1).is_some());
    assert!(e.get(b"g").is_none());
}

#[test]
fn clock_going_backwards_does_not_resurrect_or_panic() {
    let (e, clock) = engine();
    set(&e, "k", "v", 10);
    clock.set(0);
    assert!(value(&e, "k").is_some());
    clock.set(START + 10);
    assert!(value(&e, "k").is_none());
}
