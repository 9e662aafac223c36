//! Unit tests of [`super::KeyStats`], on a manual clock.

use std::sync::Arc;

use protocol::{Get, GetKind, Key, Store, StoreMode, Value};

use super::*;
use crate::clock::ManualClock;

fn stats(max: usize, spec: &str, unspec: &str) -> (KeyStats, Arc<ManualClock>) {
    let (clock, hand) = Clock::manual();
    let config = KeyStatsConfig {
        max,
        lifespan: Duration::from_secs(60),
        spec: PrefixSpec::parse(spec),
        unspec: PrefixSpec::parse(unspec),
    };
    (KeyStats::new(config, clock), hand)
}

const STORED: Response = Response::Stored { cas: 0 };

fn key(k: &str) -> Key {
    Key::new(k.as_bytes().to_vec())
}

fn get(keys: &[&str]) -> Request {
    Request::new(Command::Get(Get {
        kind: GetKind::Get,
        keys: keys.iter().map(|k| key(k)).collect(),
        exptime: 0,
        with_key: true,
    }))
}

fn set(k: &str, data: &str) -> Request {
    Request::new(Command::Store(Store {
        mode: StoreMode::Set,
        key: key(k),
        flags: 0,
        exptime: 0,
        value: Bytes::from(data.as_bytes().to_vec()),
        cas: 0,
    }))
}

fn value(k: &str, data: &str) -> Response {
    Response::Value(Value {
        key: key(k),
        flags: 0,
        cas: 0,
        data: Bytes::from(data.as_bytes().to_vec()),
    })
}

#[test]
fn gets_and_sets_are_counted_per_key() {
    let (ks, _) = stats(10, "a|b", "bx");
    ks.observe(&set("a1", "hello"), &[STORED]);
    ks.observe(
        &get(&["a1", "b1", "a1", "bx1", "c"]),
        &[value("a1", "hello"), value("a1", "hello"), Response::End],
    );
    let a1 = ks.counters(b"a1").unwrap();
    assert_eq!(
        a1,
        KeyCounters {
            seen: 3,
            gets: 2,
            hits: 2,
            misses: 0,
            read_bytes: 10,
            sets: 1,
            write_bytes: 5,
        }
    );
    let b1 = ks.counters(b"b1").unwrap();
    assert_eq!((b1.gets, b1.misses, b1.hits), (1, 1, 0));
    assert!(ks.counters(b"bx1").is_none(), "unspec");
    assert!(ks.counters(b"c").is_none(), "not in spec");
    assert_eq!(ks.len(), 2);
}

#[test]
fn off_without_lifespan_or_spec() {
    let (clock, _) = Clock::manual();
    let off = KeyStats::new(
        KeyStatsConfig {
            max: 10,
            lifespan: Duration::ZERO,
            spec: PrefixSpec::parse("a"),
            unspec: PrefixSpec::default(),
        },
        clock,
    );
    off.observe(&set("a", "x"), &[STORED]);
    assert!(off.is_empty());
    let (nospec, _) = stats(10, "", "");
    nospec.observe(&set("a", "x"), &[STORED]);
    assert!(nospec.is_empty());
}

#[test]
fn the_least_recently_seen_key_goes_first() {
    let (ks, _) = stats(2, "k", "");
    ks.observe(&set("k1", "x"), &[STORED]);
    ks.observe(&set("k2", "x"), &[STORED]);
    ks.observe(&get(&["k1"]), &[Response::End]);
    ks.observe(&set("k3", "x"), &[STORED]);
    assert!(ks.counters(b"k2").is_none());
    assert!(ks.counters(b"k1").is_some());
    assert!(ks.counters(b"k3").is_some());
}

#[test]
fn counters_start_again_after_the_lifespan() {
    let (ks, hand) = stats(10, "k", "");
    ks.observe(&set("k", "abc"), &[STORED]);
    hand.advance(Duration::from_secs(59));
    assert_eq!(ks.counters(b"k").unwrap().sets, 1);
    hand.advance(Duration::from_secs(1));
    assert!(ks.counters(b"k").is_none());
    assert!(ks.stats("").is_empty(), "expired keys are not printed");
    ks.observe(&get(&["k"]), &[Response::End]);
    let c = ks.counters(b"k").unwrap();
    assert_eq!((c.seen, c.sets, c.misses), (1, 0, 1));
}

#[test]
fn stats_lines_are_sorted_by_key() {
    let (ks, _) = stats(10, "", "");
    assert!(ks.stats("p:").is_empty());
    let (ks, _) = stats(10, "k", "");
    ks.observe(&set("kb", "xy"), &[STORED]);
    ks.observe(&get(&["ka"]), &[value("ka", "v"), Response::End]);
    ks.observe(
        &Request::new(Command::Delete {
            key: key("k c"),
            cas: 0,
        }),
        &[Response::Deleted],
    );
    let lines = ks.stats("11211:default:");
    let names: Vec<&str> = lines.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 21);
    assert_eq!(names[0], "11211:default:keystats:k\\x20c:seen");
    assert_eq!(names[7], "11211:default:keystats:ka:seen");
    assert_eq!(names[14], "11211:default:keystats:kb:seen");
    let kb: Vec<(&str, &str)> = lines[14..]
        .iter()
        .map(|(n, v)| (n.rsplit(':').next().unwrap(), v.as_str()))
        .collect();
    assert_eq!(
        kb,
        [
            ("seen", "1"),
            ("gets", "0"),
            ("hits", "0"),
            ("misses", "0"),
            ("read_bytes", "0"),
            ("sets", "1"),
            ("write_bytes", "2"),
        ]
    );
    ks.reset();
    assert!(ks.is_empty());
}
