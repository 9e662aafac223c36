//! incr / decr (memcached `do_add_delta`), results checked against 1.6.18.

use super::*;
use crate::ArithOutcome;

fn arith(e: &Engine, key: &str, incr: bool, delta: u64) -> ArithOutcome {
    e.arith(key.as_bytes(), incr, delta, None, 0)
}

fn num(o: ArithOutcome) -> u64 {
    match o {
        ArithOutcome::Value { value, .. } => value,
        other => panic!("expected a value, got {other:?}"),
    }
}

#[test]
fn incr_wraps_and_decr_floors() {
    let (e, _c) = engine();
    set(&e, "k", "18446744073709551615", 0);
    assert_eq!(num(arith(&e, "k", true, 2)), 1);
    // In place: padded to the old 20 bytes.
    assert_eq!(value(&e, "k").unwrap(), format!("1{}", " ".repeat(19)));
    set(&e, "k", "10", 0);
    assert_eq!(num(arith(&e, "k", false, 100)), 0);
    assert_eq!(value(&e, "k").as_deref(), Some("0 "));
    assert_eq!(num(arith(&e, "k", true, u64::MAX)), u64::MAX);
}

#[test]
fn padding_rule() {
    let (e, _c) = engine();
    set(&e, "k", "10", 0);
    assert_eq!(num(arith(&e, "k", false, 1)), 9);
    assert_eq!(value(&e, "k").as_deref(), Some("9 "));
    // Growing back to two digits still fits in two bytes: in place.
    assert_eq!(num(arith(&e, "k", true, 1)), 10);
    assert_eq!(value(&e, "k").as_deref(), Some("10"));
    let before = e.stats().total_items;
    // Three digits need a fresh item holding just the digits.
    set(&e, "k", "99", 0);
    assert_eq!(num(arith(&e, "k", true, 1)), 100);
    assert_eq!(value(&e, "k").as_deref(), Some("100"));
    assert_eq!(e.stats().total_items, before + 2);
    set(&e, "z", "00000000000000000000000005", 0);
    assert_eq!(num(arith(&e, "z", true, 1)), 6);
    assert_eq!(value(&e, "z").unwrap(), format!("6{}", " ".repeat(25)));
}

#[test]
fn keeps_flags_exptime_and_changes_cas() {
    let (e, clock) = engine();
    let cas = stored_cas(e.store(StoreMode::Set, b"k", 5, 10, Bytes::from_static(b"99"), 0));
    let ArithOutcome::Value { cas: c1, .. } = arith(&e, "k", true, 1) else {
        panic!()
    };
    assert!(c1 > cas);
    assert_eq!(e.get(b"k").unwrap().cas, c1);
    let ArithOutcome::Value { cas: c2, .. } = arith(&e, "k", false, 1) else {
        panic!()
    };
    assert!(c2 > c1);
    assert_eq!(e.get(b"k").unwrap().flags, 5);
    clock.advance(10);
    assert_eq!(arith(&e, "k", true, 1), ArithOutcome::NotFound);
}

#[test]
fn non_numeric_values() {
    let (e, _c) = engine();
    for v in [
        "12abc",
        "-1",
        "",
        "abc",
        "111111111111111111111",
        "18446744073709551616",
        " ",
    ] {
        set(&e, "k", v, 0);
        assert_eq!(arith(&e, "k", true, 1), ArithOutcome::NonNumeric, "{v:?}");
        assert_eq!(value(&e, "k").as_deref(), Some(v));
    }
    for (v, want, stored) in [
        (" 12", 13, "13 "),
        ("12 ", 13, "13 "),
        ("+5", 6, "6 "),
        ("1 2", 2, "2  "),
    ] {
        set(&e, "k", v, 0);
        assert_eq!(num(arith(&e, "k", true, 1)), want, "{v:?}");
        assert_eq!(value(&e, "k").as_deref(), Some(stored));
    }
    set(&e, "k", "11111111111111111111", 0);
    assert_eq!(num(arith(&e, "k", true, 1)), 11_111_111_111_111_111_112);
}

#[test]
fn binary_create_and_cas() {
    let (e, clock) = engine();
    let o = e.arith(b"c", true, 5, Some((42, 10)), 0);
    let ArithOutcome::Value { value: 42, cas } = o else {
        panic!("{o:?}")
    };
    let item = e.get(b"c").unwrap();
    assert_eq!((item.flags, &item.data[..], item.cas), (0, &b"42"[..], cas));
    assert_eq!(
        e.arith(b"c", true, 5, Some((0, 0)), cas + 1),
        ArithOutcome::Exists
    );
    assert_eq!(num(e.arith(b"c", true, 5, Some((0, 0)), cas)), 47);
    clock.advance(10);
    assert!(e.get(b"c").is_none());
    let s = e.stats();
    assert_eq!(
        (s.incr_misses, s.incr_hits, s.cmd_set, s.total_items),
        (0, 1, 0, 1)
    );
}

#[test]
fn hit_and_miss_counters() {
    let (e, _c) = engine();
    set(&e, "k", "1", 0);
    set(&e, "s", "abc", 0);
    arith(&e, "k", true, 1);
    arith(&e, "k", false, 1);
    arith(&e, "k", false, 1);
    arith(&e, "nokey", true, 1);
    arith(&e, "nokey", false, 1);
    arith(&e, "s", true, 1);
    let s = e.stats();
    assert_eq!(
        (s.incr_hits, s.decr_hits, s.incr_misses, s.decr_misses),
        (1, 2, 1, 1)
    );
}
