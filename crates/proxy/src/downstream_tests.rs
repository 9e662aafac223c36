//! Unit tests of reply matching: a reply that cannot answer the request at
//! the head of the queue puts the connection out of step (the caller then
//! closes it) instead of being taken as that request's answer.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use protocol::Value;

use super::*;

fn key(k: &str) -> Key {
    Key(Bytes::copy_from_slice(k.as_bytes()))
}

fn value(k: &str) -> Response {
    Response::Value(Value {
        key: key(k),
        flags: 0,
        cas: 0,
        data: Bytes::from_static(b"x"),
    })
}

/// A queue holding one request that expects `expect`, with `keys`.
fn queue(expect: Expect, keys: &[&str]) -> RefCell<VecDeque<Pending>> {
    let keys: Option<Arc<[Key]>> =
        (!keys.is_empty()).then(|| keys.iter().map(|k| key(k)).collect());
    let (tx, _rx) = oneshot::channel();
    RefCell::new(VecDeque::from([Pending {
        expect,
        frames: Vec::new(),
        keys,
        next_key: 0,
        tx: Some(tx),
    }]))
}

#[test]
fn ascii_gets_take_only_their_own_keys_in_any_order() {
    let q = queue(Expect::UntilEnd, &["a", "b", "c"]);
    assert!(deliver(&q, None, value("c")));
    assert!(deliver(&q, None, value("a")));
    assert!(!deliver(&q, None, value("z")), "a key not asked for");
    assert!(deliver(&q, None, Response::End));
    assert!(q.borrow().is_empty(), "END answered the get");
}

#[test]
fn ascii_replies_of_another_kind_are_out_of_step() {
    let get = queue(Expect::UntilEnd, &["a"]);
    assert!(!deliver(&get, None, Response::Stored { cas: 0 }));
    assert!(!deliver(&get, None, Response::NotFound));
    let set = || queue(Expect::Single { opaque: 0 }, &[]);
    assert!(!deliver(&set(), None, value("a")));
    assert!(!deliver(&set(), None, Response::End));
    assert!(deliver(&set(), None, Response::Stored { cas: 0 }));
    let error = Response::server_error("busy");
    assert!(deliver(&set(), None, error.clone()));
    assert!(deliver(&queue(Expect::UntilEnd, &["a"]), None, error));
}

#[test]
fn binary_runs_take_only_their_own_opaques() {
    let run = || queue(Expect::Run { first: 5, last: 7 }, &["a", "b"]);
    assert!(
        !deliver(&run(), Some(4), value("a")),
        "an earlier request's"
    );
    assert!(!deliver(&run(), Some(8), value("a")));
    let q = run();
    assert!(deliver(&q, Some(6), value("b")));
    assert!(deliver(&q, Some(7), Response::Ok));
    assert!(q.borrow().is_empty());
    // Opaques wrap around.
    let q = queue(
        Expect::Run {
            first: u32::MAX,
            last: 1,
        },
        &["a", "b"],
    );
    assert!(deliver(&q, Some(0), value("b")));
    assert!(!deliver(&q, Some(2), value("b")));
}
