//! Expiry through the wire, with time moved by a `ManualClock`: relative and
//! absolute exptimes, negative ones, touch/gat, and delayed `flush_all`.

use crate::client::{settings, start_clocked, Conn, T0};

#[test]
fn relative_exptime_expires_exactly_on_time() {
    let (server, clock) = start_clocked(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    assert_eq!(c.set("k", 10, b"v"), "STORED");
    assert_eq!(c.set("forever", 0, b"f"), "STORED");
    assert_eq!(c.value("k").as_deref(), Some(&b"v"[..]));
    clock.advance(9);
    assert_eq!(
        c.value("k").as_deref(),
        Some(&b"v"[..]),
        "gone a second early"
    );
    // memcached: an item is dead once exptime <= now.
    clock.advance(1);
    assert_eq!(c.value("k"), None, "still there at its exptime");
    clock.advance(1);
    assert_eq!(c.value("k"), None);
    clock.advance(100_000);
    assert_eq!(c.value("forever").as_deref(), Some(&b"f"[..]));
}

#[test]
fn absolute_unix_exptime() {
    let (server, clock) = start_clocked(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    let at = T0 + 20;
    assert_eq!(c.set("abs", at as i64, b"v"), "STORED");
    clock.advance(19);
    assert_eq!(c.value("abs").as_deref(), Some(&b"v"[..]));
    clock.advance(1);
    assert_eq!(c.value("abs"), None);
    // A unix time in the past is dead on arrival.
    assert_eq!(c.set("past", (T0 - 100) as i64, b"v"), "STORED");
    assert_eq!(c.value("past"), None);
    // Over 30 days (2592000 s) a number is a unix time: 2592001 is 1970.
    assert_eq!(c.set("old", 2_592_001, b"v"), "STORED");
    assert_eq!(c.value("old"), None);
    // Exactly 30 days is still relative.
    assert_eq!(c.set("month", 2_592_000, b"v"), "STORED");
    clock.advance(2_591_999);
    assert_eq!(c.value("month").as_deref(), Some(&b"v"[..]));
}

#[test]
fn negative_exptime_is_immediately_invisible() {
    let (server, _clock) = start_clocked(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    assert_eq!(c.set("k", 0, b"old"), "STORED");
    assert_eq!(c.set("k", -1, b"new"), "STORED");
    assert_eq!(c.value("k"), None, "negative exptime must replace and hide");
    assert_eq!(
        c.store("add k 0 0 1", b"a"),
        "STORED",
        "the slot is free again"
    );
    assert_eq!(c.value("k").as_deref(), Some(&b"a"[..]));
}

#[test]
fn touch_extends_life() {
    let (server, clock) = start_clocked(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    assert_eq!(c.set("k", 10, b"v"), "STORED");
    clock.advance(8);
    assert_eq!(c.call("touch k 10"), "TOUCHED");
    assert_eq!(c.call("touch missing 10"), "NOT_FOUND");
    clock.advance(8); // 16 s after the set, 8 after the touch
    assert_eq!(
        c.value("k").as_deref(),
        Some(&b"v"[..]),
        "touch did not extend"
    );
    clock.advance(2); // 10 s after the touch
    assert_eq!(c.value("k"), None, "touch made it immortal");
    // Touch to 0 means never expire.
    assert_eq!(c.set("z", 5, b"v"), "STORED");
    assert_eq!(c.call("touch z 0"), "TOUCHED");
    clock.advance(1000);
    assert_eq!(c.value("z").as_deref(), Some(&b"v"[..]));
}

#[test]
fn gat_and_gats_extend_life_and_return_the_value() {
    let (server, clock) = start_clocked(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    assert_eq!(c.store("set a 7 10 2", b"va"), "STORED");
    assert_eq!(c.store("set b 9 10 2", b"vb"), "STORED");
    clock.advance(8);
    let hits = c.retrieve("gat 10 a nope");
    assert_eq!(hits.len(), 1);
    assert_eq!((hits[0].key.as_str(), hits[0].flags), ("a", 7));
    assert_eq!((hits[0].data.as_slice(), hits[0].cas), (&b"va"[..], None));
    let hits = c.retrieve("gats 10 b");
    assert_eq!(hits.len(), 1);
    assert!(hits[0].cas.is_some_and(|cas| cas > 0), "gats shows the CAS");
    clock.advance(8);
    let hits = c.retrieve("get a b");
    assert_eq!(hits.len(), 2, "gat/gats did not extend: {hits:?}");
    clock.advance(2);
    assert!(c.retrieve("get a b").is_empty());
    // gat with a negative exptime returns the item one last time.
    assert_eq!(c.set("last", 0, b"x"), "STORED");
    assert_eq!(c.retrieve("gat -1 last").len(), 1);
    assert_eq!(c.value("last"), None);
}

#[test]
fn delayed_flush_all() {
    let (server, clock) = start_clocked(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    assert_eq!(c.set("a", 0, b"1"), "STORED");
    assert_eq!(c.call("flush_all 5"), "OK");
    assert_eq!(
        c.value("a").as_deref(),
        Some(&b"1"[..]),
        "flushed too early"
    );
    clock.advance(2);
    assert_eq!(c.set("b", 0, b"2"), "STORED", "set before the flush time");
    clock.advance(1);
    assert_eq!(c.retrieve("get a b").len(), 2, "flushed before its time");
    // memcached makes items older than (now + delay - 1) invisible once that
    // second arrives, so the flush shows one second before the delay ends.
    clock.advance(1);
    assert!(c.retrieve("get a b").is_empty(), "not flushed at +4 s");
    clock.advance(1);
    assert!(c.retrieve("get a b").is_empty(), "not flushed at +5 s");
    clock.advance(1);
    assert_eq!(c.set("c", 0, b"3"), "STORED");
    clock.advance(100);
    assert_eq!(
        c.value("c").as_deref(),
        Some(&b"3"[..]),
        "set after the flush"
    );
    assert_eq!(c.value("a"), None);
}

#[test]
fn immediate_flush_spares_later_stores_in_the_same_second() {
    let (server, clock) = start_clocked(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    assert_eq!(c.set("a", 0, b"1"), "STORED");
    assert_eq!(c.call("flush_all"), "OK");
    assert_eq!(c.value("a"), None);
    // Same clock second as the flush: memcached tells them apart by CAS.
    assert_eq!(c.set("b", 0, b"2"), "STORED");
    assert_eq!(c.value("b").as_deref(), Some(&b"2"[..]));
    clock.advance(3);
    assert_eq!(c.value("b").as_deref(), Some(&b"2"[..]));
    assert_eq!(c.value("a"), None);
}
