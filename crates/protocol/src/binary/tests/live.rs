//! Compatibility against a real memcached: every request kind encoded by
//! `encode_request`, every reply read by `decode_response`, against a
//! memcached this test starts (Debian's package; skipped when it is not
//! installed, unless `MOXI_REQUIRE_TOOLS` or `CI` is set).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::*;
use crate::model::{Arith, Command, ErrorKind, Get, GetKind, Store, StoreMode, Value};

fn get(kind: GetKind, key: &'static str, with_key: bool, quiet: bool) -> Request {
    let g = Get {
        kind,
        keys: vec![Key::from(key)].into(),
        exptime: 0,
        with_key,
    };
    Request {
        quiet,
        ..Request::new(Command::Get(g))
    }
}

fn store(mode: StoreMode, key: &'static str, value: &'static str) -> Request {
    let s = Store {
        mode,
        key: Key::from(key),
        flags: 0xcafe,
        exptime: 0,
        value: b(value),
        cas: 0,
    };
    Request::new(Command::Store(s))
}

fn arith(incr: bool, exptime: i64) -> Request {
    let a = Arith {
        incr,
        key: Key::from("live:n"),
        delta: 1,
        initial: 5,
        exptime,
        cas: 0,
    };
    Request::new(Command::Arith(a))
}

fn hit(key: &'static str, data: &'static str) -> Response {
    Response::Value(Value {
        key: Key::from(key),
        flags: 0xcafe,
        cas: 0,
        data: b(data),
    })
}

/// The conversation: requests and the replies memcached 1.6.18 gives
/// (CAS values zeroed before comparing; quiet misses give no reply).
fn script() -> Vec<(Request, Vec<Response>)> {
    let touch = Request::new(Command::Touch {
        key: Key::from("live:k"),
        exptime: 100,
    });
    let del = Request::new(Command::Delete {
        key: Key::from("live:k"),
        cas: 0,
    });
    vec![
        (
            Request::new(Command::FlushAll { delay: 0 }),
            vec![Response::Ok],
        ),
        (
            store(StoreMode::Set, "live:k", "bar"),
            vec![Response::Stored { cas: 0 }],
        ),
        (
            get(GetKind::Get, "live:k", false, false),
            vec![hit("", "bar")],
        ),
        (
            get(GetKind::Gets, "live:k", true, false),
            vec![hit("live:k", "bar")],
        ),
        (
            store(StoreMode::Add, "live:k", "x"),
            vec![Response::NotStored],
        ),
        (
            store(StoreMode::Replace, "live:none", "x"),
            vec![Response::NotStored],
        ),
        (
            store(StoreMode::Append, "live:k", "x"),
            vec![Response::Stored { cas: 0 }],
        ),
        (
            store(StoreMode::Prepend, "live:k", "y"),
            vec![Response::Stored { cas: 0 }],
        ),
        (
            get(GetKind::Gat, "live:k", true, false),
            vec![hit("live:k", "ybarx")],
        ),
        (touch, vec![Response::Touched { cas: 0 }]),
        (arith(true, 0), vec![Response::Numeric { value: 5, cas: 0 }]),
        (
            arith(false, 0),
            vec![Response::Numeric { value: 4, cas: 0 }],
        ),
        (
            arith(true, Arith::NO_CREATE),
            vec![Response::Numeric { value: 5, cas: 0 }],
        ),
        (get(GetKind::Get, "live:none", true, true), vec![]),
        (
            get(GetKind::Gat, "live:k", true, true),
            vec![hit("live:k", "ybarx")],
        ),
        (Request::new(Command::Noop), vec![Response::End]),
        (del.clone(), vec![Response::Deleted]),
        (del, vec![Response::NotFound]),
        (
            get(GetKind::Get, "live:k", true, false),
            vec![Response::End],
        ),
        (
            Request::new(Command::Version),
            vec![Response::Version(b("1.6.18"))],
        ),
        (
            Request::new(Command::Stats { group: b("reset") }),
            vec![Response::End],
        ),
        (
            Request::new(Command::SaslListMechs),
            vec![Response::Error(ErrorKind::UnknownCommand)],
        ),
        (Request::new(Command::Quit), vec![Response::Ok]),
    ]
}

fn zero_cas(r: Response) -> Response {
    match r {
        Response::Value(v) => Response::Value(Value { cas: 0, ..v }),
        Response::Stored { .. } => Response::Stored { cas: 0 },
        Response::Touched { .. } => Response::Touched { cas: 0 },
        Response::Numeric { value, .. } => Response::Numeric { value, cas: 0 },
        other => other,
    }
}

#[test]
fn live_memcached_conversation() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let memcached = testkit::Memcached::start(&["-U", "0"]).unwrap();
    let mut sock = TcpStream::connect(memcached.addr()).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut wire = BytesMut::new();
    let mut want = Vec::new();
    for (i, (mut r, replies)) in script().into_iter().enumerate() {
        r.opaque = i as u32;
        encode_request(&r, &mut wire).unwrap();
        want.extend(replies.into_iter().map(|resp| (i as u32, resp)));
    }
    sock.write_all(&wire).unwrap();
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    while got.len() < want.len() {
        match decode_response(&mut buf, &Limits::default()).unwrap() {
            Some((to, resp)) => got.push((to.opaque, zero_cas(resp))),
            None => {
                let n = sock.read(&mut chunk).unwrap();
                assert!(n > 0, "memcached closed early; got {got:?}");
                buf.extend_from_slice(&chunk[..n]);
            }
        }
    }
    assert_eq!(got, want);
    assert_eq!(sock.read(&mut chunk).unwrap(), 0, "QUIT closes");
}
