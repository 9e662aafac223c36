//! Meta support: vivify, win tokens, stale items, `me` fields.

use super::*;
use crate::{DeleteOutcome, MetaStore};

/// `(created, win_sent, stale, ttl)` of `key` as `mg` sees it, handing out
/// a win token when it is stale or created and none was sent (memcached's rule).
fn mg(e: &Engine, key: &str, vivify: bool) -> Option<(bool, bool, bool, i64)> {
    e.meta_get(key.as_bytes(), vivify, true, |v| {
        let seen = (v.created(), v.win_sent(), v.stale(), v.ttl());
        if (v.created() || v.stale()) && !v.win_sent() {
            v.set_win_sent();
        }
        seen
    })
}

#[test]
fn vivify_links_an_empty_item_once() {
    let (e, _) = engine();
    assert_eq!(mg(&e, "k", false), None);
    assert_eq!(mg(&e, "k", true), Some((true, false, false, -1)));
    assert_eq!(mg(&e, "k", true), Some((false, true, false, -1)));
    // A vivified TTL is not a touch (memcached counts the mg as a get).
    let ttl = e.meta_get(b"v", true, true, |v| {
        v.set_vivified_ttl(30);
        v.ttl()
    });
    assert_eq!(ttl, Some(30));
    let s = e.stats();
    assert_eq!((s.get_misses, s.get_hits, s.touch_hits), (1, 3, 0));
    assert_eq!(value(&e, "k").as_deref(), Some(""));
}

#[test]
fn invalidation_marks_stale_and_resets_the_token() {
    let (e, clock) = engine();
    let cas = stored_cas(set(&e, "k", "v", 0));
    mg(&e, "k", true);
    assert_eq!(
        e.meta_delete(b"k", Some(cas + 1), Some(None)),
        DeleteOutcome::Exists
    );
    assert_eq!(
        e.meta_delete(b"k", None, Some(Some(30))),
        DeleteOutcome::Deleted
    );
    assert_eq!(mg(&e, "k", false), Some((false, false, true, 30)));
    assert_eq!(mg(&e, "k", false), Some((false, true, true, 30)));
    clock.advance(31);
    assert_eq!(mg(&e, "k", false), None);
}

#[test]
fn an_older_cas_stores_stale_only_when_allowed() {
    let (e, _) = engine();
    let old = stored_cas(set(&e, "k", "a", 100));
    stored_cas(set(&e, "k", "b", 100));
    let ms = |stale_ok| {
        e.meta_store(MetaStore {
            mode: StoreMode::Cas,
            key: b"k",
            flags: 0,
            exptime: 0,
            value: Bytes::from_static(b"c"),
            cas: old,
            stale_ok,
            binary_key: false,
        })
    };
    assert_eq!(ms(false), StoreOutcome::Exists);
    assert!(matches!(ms(true), StoreOutcome::Stored { .. }));
    // The old exptime stays; the item is stale.
    assert_eq!(mg(&e, "k", false), Some((false, false, true, 100)));
    assert_eq!(value(&e, "k").as_deref(), Some("c"));
}

#[test]
fn debug_fields() {
    let (e, _) = engine();
    set(&e, "k", "", 0);
    let d = e.meta_debug(b"k").unwrap();
    assert_eq!(
        (d.exp, d.last_access, d.fetched, d.class, d.size),
        (-1, 0, false, 1, 60)
    );
    e.get(b"k");
    assert!(e.meta_debug(b"k").unwrap().fetched);
}
