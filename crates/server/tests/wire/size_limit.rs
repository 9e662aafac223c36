//! Values at and over the item size limit (`-I`): the exact largest value,
//! the error past it, the removal of the old value by a refused `set`, and
//! a connection that stays usable after a huge refused value.

use server::settings::Settings;

use crate::client::{bin, settings, start, status, store_extras, Conn};

const TOO_LARGE: &str = "SERVER_ERROR object too large for cache";
const MIB: usize = 1024 * 1024;

/// memcached's item size for key "big": 48-byte header, key + 1, 8 bytes of
/// CAS, value + 2 (plus 4 for non-zero flags) must fit in `-I`.
fn largest_for_big(item_size_max: usize, flags: u32) -> usize {
    item_size_max - 48 - 4 - 8 - 2 - if flags == 0 { 0 } else { 4 }
}

#[test]
fn exact_limit_with_default_item_size() {
    let server = start(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    assert_eq!(largest_for_big(MIB, 0), 1_048_514);
    assert_eq!(c.set("big", 0, &vec![b'v'; 1_048_514]), "STORED");
    assert_eq!(c.value("big").map(|v| v.len()), Some(1_048_514));
    assert_eq!(c.set("big", 0, &vec![b'v'; 1_048_515]), TOO_LARGE);
    assert_eq!(c.store("set big 1 0 1048510", &[b'w'; 1_048_510]), "STORED");
    assert_eq!(
        c.store("set big 1 0 1048511", &[b'w'; 1_048_511]),
        TOO_LARGE
    );
    assert_eq!(c.stat("store_too_large"), 2);
}

#[test]
fn refused_set_removes_the_old_value_but_other_modes_do_not() {
    let server = start(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    // Refused by the engine (fits the decoder, not the item limit)...
    assert_eq!(c.set("big", 0, b"old"), "STORED");
    assert_eq!(c.set("big", 0, &vec![b'v'; 1_048_515]), TOO_LARGE);
    assert_eq!(
        c.value("big"),
        None,
        "a refused set must drop the old value"
    );
    // ...and refused before the data is read (over the declared limit).
    assert_eq!(c.set("big", 0, b"old"), "STORED");
    assert_eq!(c.set("big", 0, &vec![b'v'; MIB + 1]), TOO_LARGE);
    assert_eq!(c.value("big"), None);
    // memcached unlinks only for set.
    assert_eq!(c.set("keep", 0, b"old"), "STORED");
    for mode in ["add", "replace", "append", "prepend"] {
        let line = format!("{mode} keep 0 0 {}", 2 * MIB);
        assert_eq!(c.store(&line, &vec![b'v'; 2 * MIB]), TOO_LARGE, "{mode}");
        assert_eq!(c.value("keep").as_deref(), Some(&b"old"[..]), "{mode}");
    }
}

#[test]
fn huge_declared_value_is_swallowed() {
    let server = start(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    // A 2 MiB value whose bytes contain things that look like commands: if
    // they were parsed, replies would appear.
    let mut data = Vec::with_capacity(2 * MIB);
    while data.len() < 2 * MIB {
        data.extend_from_slice(b"get x\r\nversion\r\n");
    }
    data.truncate(2 * MIB);
    let mut req = format!("set big 0 0 {}\r\n", data.len()).into_bytes();
    req.extend_from_slice(&data);
    req.extend_from_slice(b"\r\nversion\r\n");
    c.send(req);
    assert_eq!(c.line(), TOO_LARGE);
    assert!(
        c.line().starts_with("VERSION "),
        "next command not answered"
    );
    assert_eq!(c.set("after", 0, b"ok"), "STORED");
    assert_eq!(c.value("after").as_deref(), Some(&b"ok"[..]));
}

#[test]
fn binary_too_large_is_e2big_and_swallowed() {
    let server = start(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    let ex = store_extras(0, 0);
    assert_eq!(
        c.request(&bin(0x01, b"big", &ex, b"old", 1)).status,
        status::OK
    );
    let r = c.request(&bin(0x01, b"big", &ex, &vec![b'v'; 2 * MIB], 2));
    assert_eq!((r.status, r.opaque), (0x03, 2), "E2BIG expected");
    assert_eq!(r.value, b"Too large.");
    let r = c.request(&bin(0x00, b"big", b"", b"", 3));
    assert_eq!(
        (r.status, r.opaque),
        (status::NOT_FOUND, 3),
        "binary set must drop"
    );
    let r = c.request(&bin(0x01, b"big", &ex, &vec![b'v'; 1_048_514], 4));
    assert_eq!(r.status, status::OK);
    let r = c.request(&bin(0x01, b"big", &ex, &vec![b'v'; 1_048_515], 5));
    assert_eq!(r.status, 0x03);
}

#[test]
fn larger_item_size_max_raises_the_limit() {
    let server = start(Settings {
        item_size_max: 2 * MIB,
        ..settings()
    });
    let mut c = Conn::open(server.local_addrs()[0]);
    let max = largest_for_big(2 * MIB, 0);
    assert_eq!(max, 2_097_090);
    assert_eq!(c.set("big", 0, &vec![b'v'; 1_048_515]), "STORED");
    assert_eq!(c.set("big", 0, &vec![b'v'; max]), "STORED");
    assert_eq!(c.value("big").map(|v| v.len()), Some(max));
    assert_eq!(c.set("big", 0, &vec![b'v'; max + 1]), TOO_LARGE);
    assert_eq!(c.set("big", 0, &vec![b'v'; 2 * MIB + 1]), TOO_LARGE);
    let settings = c.stats("settings");
    assert!(
        settings.contains(&("item_size_max".into(), (2 * MIB).to_string())),
        "{settings:?}"
    );
    assert!(c.call("version").starts_with("VERSION "));
}
