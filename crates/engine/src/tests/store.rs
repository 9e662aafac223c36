//! Storage commands (memcached `do_store_item`).

use super::*;
use crate::Item;

#[test]
fn set_add_replace() {
    let (e, _c) = engine();
    assert_eq!(
        store(&e, StoreMode::Replace, "k", "a", 0),
        StoreOutcome::NotStored
    );
    assert_eq!(
        store(&e, StoreMode::Add, "k", "a", 0),
        StoreOutcome::Stored { cas: 1 }
    );
    assert_eq!(
        store(&e, StoreMode::Add, "k", "b", 0),
        StoreOutcome::NotStored
    );
    assert_eq!(
        store(&e, StoreMode::Replace, "k", "c", 0),
        StoreOutcome::Stored { cas: 2 }
    );
    assert_eq!(set(&e, "k", "d", 0), StoreOutcome::Stored { cas: 3 });
    assert_eq!(
        e.get(b"k"),
        Some(Item {
            flags: 0,
            cas: 3,
            data: Bytes::from_static(b"d")
        })
    );
    assert_eq!(e.stats().cmd_set, 5);
}

#[test]
fn cas_store() {
    let (e, _c) = engine();
    assert_eq!(
        store(&e, StoreMode::Cas, "k", "a", 1),
        StoreOutcome::NotFound
    );
    let cas = stored_cas(set(&e, "k", "a", 0));
    assert_eq!(
        store(&e, StoreMode::Cas, "k", "b", cas + 1),
        StoreOutcome::Exists
    );
    assert_eq!(store(&e, StoreMode::Cas, "k", "b", 0), StoreOutcome::Exists);
    let new = stored_cas(store(&e, StoreMode::Cas, "k", "b", cas));
    assert!(new > cas);
    assert_eq!(
        store(&e, StoreMode::Cas, "k", "c", cas),
        StoreOutcome::Exists
    );
    let s = e.stats();
    assert_eq!((s.cas_misses, s.cas_hits, s.cas_badval), (1, 1, 3));
}

#[test]
fn binary_cas_on_set_add_replace_compares() {
    let (e, _c) = engine();
    // Non-zero CAS on a missing key: NOT_FOUND, even for add and set.
    assert_eq!(
        store(&e, StoreMode::Set, "k", "a", 7),
        StoreOutcome::NotFound
    );
    assert_eq!(
        store(&e, StoreMode::Add, "k", "a", 7),
        StoreOutcome::NotFound
    );
    let cas = stored_cas(set(&e, "k", "a", 0));
    assert_eq!(
        store(&e, StoreMode::Set, "k", "b", cas + 5),
        StoreOutcome::Exists
    );
    // add with the matching CAS replaces, as memcached turns it into a CAS store.
    let cas = stored_cas(store(&e, StoreMode::Add, "k", "b", cas));
    let cas = stored_cas(store(&e, StoreMode::Replace, "k", "c", cas));
    assert_eq!(
        store(&e, StoreMode::Append, "k", "x", cas + 1),
        StoreOutcome::Exists
    );
    assert!(matches!(
        store(&e, StoreMode::Append, "k", "x", cas),
        StoreOutcome::Stored { .. }
    ));
    assert_eq!(value(&e, "k").as_deref(), Some("cx"));
}

#[test]
fn append_prepend_keep_flags_and_exptime() {
    let (e, clock) = engine();
    assert_eq!(
        store(&e, StoreMode::Append, "k", "x", 0),
        StoreOutcome::NotStored
    );
    assert_eq!(
        store(&e, StoreMode::Prepend, "k", "x", 0),
        StoreOutcome::NotStored
    );
    let first = stored_cas(e.store(StoreMode::Set, b"k", 42, 100, Bytes::from_static(b"mid"), 0));
    let o = e.store(StoreMode::Append, b"k", 7, 0, Bytes::from_static(b">"), 0);
    assert!(stored_cas(o) > first);
    e.store(StoreMode::Prepend, b"k", 9, 5, Bytes::from_static(b"<"), 0);
    let item = e.get(b"k").unwrap();
    assert_eq!((item.flags, &item.data[..]), (42, &b"<mid>"[..]));
    clock.advance(99);
    assert!(e.get(b"k").is_some());
    clock.advance(1);
    assert!(e.get(b"k").is_none());
    assert_eq!(e.stats().bytes, 0);
}

#[test]
fn size_limit_boundary_matches_memcached() {
    let (e, _c) = engine();
    let fits = Bytes::from(vec![b'x'; 1_048_514]);
    let over = Bytes::from(vec![b'x'; 1_048_515]);
    assert!(matches!(
        e.store(StoreMode::Set, b"foo", 0, 0, fits.clone(), 0),
        StoreOutcome::Stored { .. }
    ));
    assert_eq!(
        e.store(StoreMode::Set, b"foo", 0, 0, over, 0),
        StoreOutcome::TooLarge
    );
    // A refused SET removes the old value (memcached process_update_command).
    assert!(e.get(b"foo").is_none());
    // Non-zero flags cost 4 bytes.
    assert_eq!(
        e.store(StoreMode::Set, b"foo", 1, 0, fits, 0),
        StoreOutcome::TooLarge
    );
    assert!(e.item_fits(3, 1, 1_048_510) && !e.item_fits(3, 1, 1_048_511));
    let s = e.stats();
    assert_eq!((s.store_too_large, s.cmd_set, s.curr_items), (2, 1, 0));
}

#[test]
fn too_large_only_unlinks_for_set() {
    let (e, _c) = engine();
    for mode in [
        StoreMode::Add,
        StoreMode::Replace,
        StoreMode::Append,
        StoreMode::Prepend,
        StoreMode::Cas,
    ] {
        set(&e, "k", "v", 0);
        e.reject_too_large(mode, b"k");
        assert!(e.get(b"k").is_some(), "{mode:?}");
    }
    e.reject_too_large(StoreMode::Set, b"k");
    assert!(e.get(b"k").is_none());
    assert_eq!(e.stats().store_too_large, 6);
}

#[test]
fn append_over_the_limit_is_not_stored() {
    let (e, _c) = engine();
    let half = Bytes::from(vec![b'x'; 600_000]);
    e.store(StoreMode::Set, b"k", 0, 0, half.clone(), 0);
    assert_eq!(
        e.store(StoreMode::Append, b"k", 0, 0, half, 0),
        StoreOutcome::NotStored
    );
    assert_eq!(e.get(b"k").unwrap().data.len(), 600_000);
}

#[test]
fn cas_disabled_reads_zero() {
    let (e, _c) = engine_with(Config {
        cas_enabled: false,
        ..Config::default()
    });
    assert_eq!(set(&e, "k", "1", 0), StoreOutcome::Stored { cas: 0 });
    assert_eq!(e.get(b"k").unwrap().cas, 0);
    assert_eq!(store(&e, StoreMode::Cas, "k", "2", 0), StoreOutcome::Exists);
    assert_eq!(store(&e, StoreMode::Cas, "k", "2", 1), StoreOutcome::Exists);
    assert_eq!(e.stats().bytes, 48 + 2 + 1 + 2);
    assert_eq!(e.item_size(1, 0, 1), 53);
}

#[test]
fn values_are_copied_so_an_item_never_pins_a_read_buffer() {
    let (e, _c) = engine();
    // A connection's read buffer, with the value a slice of it.
    let read_buffer = Bytes::from(vec![7u8; 64 * 1024]);
    let v = read_buffer.slice(100..1100);
    e.store(StoreMode::Set, b"k", 0, 0, v, 0);
    assert!(
        read_buffer.is_unique(),
        "the engine kept the read buffer alive"
    );
    let hit = e.get(b"k").unwrap().data;
    assert_eq!(hit, Bytes::from(vec![7u8; 1000]));
    assert!(!(read_buffer.as_ptr_range().contains(&hit.as_ptr())));
}

#[test]
fn binary_keys_and_empty_values() {
    let (e, _c) = engine();
    let key = [0u8, 255, b' ', b'\n'];
    e.store(StoreMode::Set, &key, 3, 0, Bytes::new(), 0);
    let item = e.get(&key).unwrap();
    assert_eq!((item.flags, item.data.len()), (3, 0));
    assert_eq!(e.delete(&key, item.cas + 1), crate::DeleteOutcome::Exists);
    assert_eq!(e.delete(&key, item.cas), crate::DeleteOutcome::Deleted);
    assert_eq!(e.delete(&key, 0), crate::DeleteOutcome::NotFound);
}
