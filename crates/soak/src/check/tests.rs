//! Tests of the parent module.

use std::time::Instant;

use super::*;
use crate::epoch::Epochs;
use crate::model::KeyKind;
use crate::value::Origin;

fn set(mode: StoreMode, seq: u64, cas: u64) -> Write {
    let origin = Origin {
        client: 1,
        key: 1,
        seq,
    };
    Write::Store {
        mode,
        data: value::segment(origin, 3),
        flags: value::flags(1, seq),
        cas,
    }
}

fn hit(seq: u64, cas: u64) -> Hit {
    let origin = Origin {
        client: 1,
        key: 1,
        seq,
    };
    Hit {
        flags: value::flags(1, seq),
        cas,
        data: value::segment(origin, 3),
    }
}

#[test]
fn a_trusted_model_predicts_exactly() {
    let e = Epochs::default();
    let w = || Window {
        sent: e.now(),
        recv: e.now(),
        at: Instant::now(),
    };
    let mut m = KeyModel::new(1, 1, KeyKind::Blob, Instant::now());
    assert!(check_write(
        &mut m,
        &set(StoreMode::Add, 1, 0),
        &Outcome::NotStored,
        &w()
    )
    .is_err());
    check_write(
        &mut m,
        &set(StoreMode::Add, 1, 0),
        &Outcome::Stored(5),
        &w(),
    )
    .unwrap();
    assert!(check_read(&mut m, None, &w(), false).is_err(), "miss");
    assert!(
        check_read(&mut m, Some(&hit(2, 5)), &w(), false).is_err(),
        "stale"
    );
    assert!(
        check_read(&mut m, Some(&hit(1, 4)), &w(), false).is_err(),
        "cas"
    );
    check_read(&mut m, Some(&hit(1, 5)), &w(), false).unwrap();
    let append = set(StoreMode::Append, 3, 0);
    check_write(&mut m, &append, &Outcome::Stored(0), &w()).unwrap();
    let mut both = hit(1, 6);
    both.data = [hit(1, 0).data, hit(3, 0).data].concat().into();
    check_read(&mut m, Some(&both), &w(), false).unwrap();
    let stale = set(StoreMode::Cas, 4, 5);
    check_write(&mut m, &stale, &Outcome::Exists, &w()).unwrap();
    let fresh = set(StoreMode::Cas, 4, 6);
    assert!(check_write(&mut m, &fresh, &Outcome::Exists, &w()).is_err());
    check_write(&mut m, &fresh, &Outcome::Stored(7), &w()).unwrap();
    assert!(check_write(&mut m, &Write::Delete, &Outcome::NotFound, &w()).is_err());
    assert!(check_write(&mut m, &Write::Touch, &Outcome::Deleted, &w()).is_err());
}

#[test]
fn counters_and_quiet_writes() {
    let w = Window::quiet(Instant::now());
    let mut m = KeyModel::new(1, 0, KeyKind::Counter, Instant::now());
    let incr = Write::Arith {
        incr: true,
        delta: 5,
        create: Some(10),
    };
    quiet_success(&mut m, &incr, &w).unwrap();
    let decr = Write::Arith {
        incr: false,
        delta: 20,
        create: None,
    };
    assert!(check_write(&mut m, &decr, &Outcome::Numeric(1, 0), &w).is_err());
    check_write(&mut m, &decr, &Outcome::Numeric(0, 0), &w).unwrap();
    let pad = Hit {
        flags: 0,
        cas: 0,
        data: Bytes::from_static(b"0 "),
    };
    check_read(&mut m, Some(&pad), &w, false).unwrap();
    let mut absent = KeyModel::new(1, 1, KeyKind::Blob, Instant::now());
    assert!(quiet_success(&mut absent, &set(StoreMode::Replace, 1, 0), &w).is_err());
    assume_write(&mut absent, &set(StoreMode::Set, 2, 0), &w);
    check_read(&mut absent, Some(&hit(2, 0)), &w, false).unwrap();
}

#[test]
fn faults_loosen_but_never_accept_foreign_bytes() {
    let e = Epochs::default();
    let mut m = KeyModel::new(1, 1, KeyKind::Blob, Instant::now());
    let sent = e.now();
    m.write_failed(&Window::quiet(Instant::now()));
    e.begin_fault();
    let w = Window {
        sent,
        recv: e.now(),
        at: Instant::now(),
    };
    assert_eq!(check_read(&mut m, None, &w, true), Ok(ReadNote::Fine));
    check_read(&mut m, Some(&hit(9, 0)), &w, true).unwrap();
    let mut foreign = hit(9, 0);
    foreign.data = value::segment(
        Origin {
            client: 2,
            key: 1,
            seq: 9,
        },
        3,
    );
    let err = check_read(&mut m, Some(&foreign), &w, true).unwrap_err();
    assert!(err.contains("client 2"), "{err}");
}

#[test]
fn memcached_may_refuse_only_big_counters() {
    let w = Window::quiet(Instant::now());
    let mut m = KeyModel::new(1, 0, KeyKind::Counter, Instant::now());
    let set = |n: u64| Write::Store {
        mode: StoreMode::Set,
        data: value::counter_text(n),
        flags: 0,
        cas: 0,
    };
    check_write(&mut m, &set(42), &Outcome::Stored(0), &w).unwrap();
    assert!(!may_be_refused_as_non_numeric(&m, &w));
    check_write(&mut m, &set(u64::MAX - 5), &Outcome::Stored(0), &w).unwrap();
    assert!(may_be_refused_as_non_numeric(&m, &w));
    // A noreply incr of such a counter may or may not have happened.
    let incr = Write::Arith {
        incr: true,
        delta: 1,
        create: None,
    };
    assume_write(&mut m, &incr, &w);
    assert_eq!(m.content, Content::Unknown);
}
