//! incr/decr edges over both protocols: wrap-around at 2^64, the floor at
//! 0, non-numeric values, bad deltas, memcached's in-place padding, and
//! binary incr with an initial value.

use crate::client::{arith_extras, bin, op, settings, start, start_clocked, status, Conn};

const NON_NUMERIC: &str = "CLIENT_ERROR cannot increment or decrement non-numeric value";
const BAD_DELTA: &str = "CLIENT_ERROR invalid numeric delta argument";

#[test]
fn ascii_wraps_floors_and_pads() {
    let server = start(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    assert_eq!(c.call("incr nothing 1"), "NOT_FOUND");
    assert_eq!(c.call("decr nothing 1"), "NOT_FOUND");
    assert_eq!(c.set("max", 0, b"18446744073709551615"), "STORED");
    assert_eq!(c.call("incr max 1"), "0", "incr must wrap at 2^64");
    // Shorter results are written in place, padded to the old length.
    assert_eq!(
        c.value("max").as_deref(),
        Some(&b"0                   "[..])
    );
    assert_eq!(
        c.call("incr max 18446744073709551615"),
        "18446744073709551615"
    );
    assert_eq!(c.call("incr max 2"), "1");
    assert_eq!(c.set("n", 0, b"10"), "STORED");
    assert_eq!(c.call("decr n 1"), "9");
    assert_eq!(
        c.value("n").as_deref(),
        Some(&b"9 "[..]),
        "no in-place padding"
    );
    // The padded value is still a number.
    assert_eq!(c.call("incr n 1"), "10");
    assert_eq!(c.value("n").as_deref(), Some(&b"10"[..]));
    assert_eq!(c.call("decr n 11"), "0", "decr must floor at 0");
    assert_eq!(c.call("decr n 18446744073709551615"), "0");
    // A longer result grows the value.
    assert_eq!(c.set("g", 0, b"99"), "STORED");
    assert_eq!(c.call("incr g 1"), "100");
    assert_eq!(c.value("g").as_deref(), Some(&b"100"[..]));
}

#[test]
fn ascii_errors() {
    let server = start(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    for (key, data) in [("word", &b"abc"[..]), ("neg", b"-5"), ("junk", b"5ab")] {
        assert_eq!(c.set(key, 0, data), "STORED");
        assert_eq!(c.call(&format!("incr {key} 1")), NON_NUMERIC, "{key}");
        assert_eq!(c.call(&format!("decr {key} 1")), NON_NUMERIC, "{key}");
        assert_eq!(c.value(key).as_deref(), Some(data), "{key} changed");
    }
    assert_eq!(c.store("set empty 0 0 0", b""), "STORED");
    assert_eq!(c.call("incr empty 1"), NON_NUMERIC);
    assert_eq!(c.set("n", 0, b"5"), "STORED");
    for delta in ["abc", "-1", "18446744073709551616", "1x"] {
        assert_eq!(c.call(&format!("incr n {delta}")), BAD_DELTA, "{delta}");
        assert_eq!(c.call(&format!("decr n {delta}")), BAD_DELTA, "{delta}");
    }
    assert_eq!(c.value("n").as_deref(), Some(&b"5"[..]));
    assert_eq!(c.call("incr n"), "ERROR");
    assert_eq!(c.call("incr n 0"), "5", "the connection still works");
}

#[test]
fn ascii_incr_keeps_flags_and_exptime() {
    let (server, clock) = start_clocked(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    assert_eq!(c.store("set k 42 10 1", b"1"), "STORED");
    clock.advance(5);
    assert_eq!(c.call("incr k 998"), "999");
    let hits = c.retrieve("get k");
    assert_eq!((hits[0].flags, hits[0].data.as_slice()), (42, &b"999"[..]));
    clock.advance(5);
    assert_eq!(c.value("k"), None, "incr must not reset the exptime");
}

fn counter(frame: &crate::client::Frame) -> u64 {
    assert_eq!(
        frame.value.len(),
        8,
        "incr replies carry 8 bytes: {frame:?}"
    );
    u64::from_be_bytes(frame.value.as_slice().try_into().unwrap())
}

#[test]
fn binary_initial_value_wrap_and_floor() {
    let server = start(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    let r = c.request(&bin(op::INCR, b"n", &arith_extras(1, 10, 0), b"", 1));
    assert_eq!((r.status, r.opaque, counter(&r)), (status::OK, 1, 10));
    assert!(r.cas > 0, "incr reply must carry the new CAS");
    let r = c.request(&bin(op::INCR, b"n", &arith_extras(5, 10, 0), b"", 2));
    assert_eq!((r.status, counter(&r)), (status::OK, 15));
    let r = c.request(&bin(op::DECR, b"n", &arith_extras(100, 0, 0), b"", 3));
    assert_eq!((r.status, counter(&r)), (status::OK, 0));
    // exptime 0xffffffff: do not create.
    let r = c.request(&bin(op::INCR, b"m", &arith_extras(1, 10, u32::MAX), b"", 4));
    assert_eq!(r.status, status::NOT_FOUND);
    // The created value is readable over ascii too.
    let r = c.request(&bin(op::DECR, b"d", &arith_extras(1, 7, 0), b"", 5));
    assert_eq!(
        (r.status, counter(&r)),
        (status::OK, 7),
        "decr creates with initial"
    );
    let mut a = Conn::open(server.local_addrs()[0]);
    assert_eq!(a.value("d").as_deref(), Some(&b"7"[..]));
    assert_eq!(a.set("big", 0, b"18446744073709551615"), "STORED");
    let r = c.request(&bin(op::INCR, b"big", &arith_extras(2, 0, 0), b"", 6));
    assert_eq!((r.status, counter(&r)), (status::OK, 1), "binary wrap");
    assert_eq!(a.set("ten", 0, b"10"), "STORED");
    let r = c.request(&bin(op::DECR, b"ten", &arith_extras(1, 0, 0), b"", 7));
    assert_eq!(counter(&r), 9);
    let r = c.request(&bin(op::GET, b"ten", b"", b"", 8));
    assert_eq!((r.status, r.value.as_slice()), (status::OK, &b"9 "[..]));
    assert_eq!(a.set("s", 0, b"abc"), "STORED");
    let r = c.request(&bin(op::INCR, b"s", &arith_extras(1, 0, 0), b"", 9));
    assert_eq!(r.status, status::NON_NUMERIC);
    assert_eq!(r.value, b"Non-numeric server-side value for incr or decr");
}

#[test]
fn binary_incr_with_cas() {
    let server = start(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    let r = c.request(&bin(op::INCR, b"n", &arith_extras(1, 1, 0), b"", 1));
    let cas = r.cas;
    let mut stale = bin(op::INCR, b"n", &arith_extras(1, 0, 0), b"", 2);
    stale.cas = cas + 1000;
    assert_eq!(c.request(&stale).status, status::EXISTS);
    let mut fresh = bin(op::INCR, b"n", &arith_extras(1, 0, 0), b"", 3);
    fresh.cas = cas;
    let r = c.request(&fresh);
    assert_eq!((r.status, counter(&r)), (status::OK, 2));
    assert_ne!(r.cas, cas, "an incr must change the CAS");
}
