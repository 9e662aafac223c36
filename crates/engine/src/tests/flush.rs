//! flush_all, with memcached's watermark: `oldest_live = flush time - 1`
//! plus a CAS watermark for flushes that take effect this second.

use super::*;

#[test]
fn immediate_flush_spares_later_stores_in_the_same_second() {
    let (e, clock) = engine();
    set(&e, "old", "v", 0);
    e.flush_all(0);
    set(&e, "new", "v", 0);
    assert!(value(&e, "old").is_none());
    assert!(value(&e, "new").is_some());
    clock.advance(1);
    assert!(value(&e, "new").is_some());
    let s = e.stats();
    assert_eq!((s.cmd_flush, s.get_flushed), (1, 1));
}

#[test]
fn negative_delay_is_immediate() {
    let (e, _c) = engine();
    set(&e, "old", "v", 0);
    e.flush_all(-5);
    assert!(value(&e, "old").is_none());
}

#[test]
fn delayed_flush_takes_effect_one_second_early() {
    // Observed on memcached 1.6.18: `flush_all 3` at T hides everything
    // stored up to T+2 from T+2 on; items stored at T+3 survive.
    let (e, clock) = engine();
    set(&e, "a", "v", 0);
    e.flush_all(3);
    set(&e, "b0", "v", 0);
    clock.advance(1);
    set(&e, "b1", "v", 0);
    assert!(value(&e, "a").is_some() && value(&e, "b0").is_some() && value(&e, "b1").is_some());
    clock.advance(1);
    set(&e, "b2", "v", 0);
    for k in ["a", "b0", "b1", "b2"] {
        assert!(value(&e, k).is_none(), "{k}");
    }
    clock.advance(1);
    set(&e, "b3", "v", 0);
    clock.advance(10);
    assert!(value(&e, "b3").is_some());
}

#[test]
fn flush_with_absolute_time() {
    let (e, clock) = engine();
    set(&e, "a", "v", 0);
    e.flush_all((START + 10) as i64);
    clock.advance(8);
    assert!(value(&e, "a").is_some());
    clock.advance(1);
    assert!(value(&e, "a").is_none());
}

#[test]
fn flush_with_a_past_absolute_time_does_nothing() {
    // realtime() pins it to 1, so the watermark becomes 0 = "no flush".
    let (e, _c) = engine();
    set(&e, "a", "v", 0);
    e.flush_all((START - 100) as i64);
    assert!(value(&e, "a").is_some());
}

#[test]
fn without_cas_same_second_stores_are_flushed_too() {
    let (e, clock) = engine_with(Config {
        cas_enabled: false,
        ..Config::default()
    });
    set(&e, "old", "v", 0);
    e.flush_all(0);
    set(&e, "same", "v", 0);
    assert!(value(&e, "old").is_none());
    assert!(value(&e, "same").is_none());
    clock.advance(1);
    set(&e, "later", "v", 0);
    assert!(value(&e, "later").is_some());
}

#[test]
fn flushed_items_count_until_touched_or_crawled() {
    let (e, _c) = engine();
    for i in 0..10 {
        set(&e, &format!("k{i}"), "v", 0);
    }
    e.flush_all(0);
    assert_eq!(e.stats().curr_items, 10);
    assert!(value(&e, "k0").is_none());
    assert_eq!(e.crawl(), 9);
    let s = e.stats();
    assert_eq!(
        (s.curr_items, s.bytes, s.crawler_reclaimed, s.get_flushed),
        (0, 0, 9, 1)
    );
}

#[test]
fn a_later_flush_replaces_a_pending_one() {
    let (e, clock) = engine();
    set(&e, "a", "v", 0);
    e.flush_all(100);
    e.flush_all(5);
    clock.advance(4);
    assert!(value(&e, "a").is_none());
}
