//! Unit tests of reply matching: a reply that cannot answer the request at
//! the head of the queue puts the connection out of step (the caller then
//! closes it) instead of being taken as that request's answer.

use bytes::Bytes;
use protocol::Value;

use super::matching::{deliver, Pending};
use super::*;
use crate::downstream::wire::Expect;

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
fn queue(expect: Expect, keys: &[&str]) -> State {
    let keys: Option<Arc<[Key]>> =
        (!keys.is_empty()).then(|| keys.iter().map(|k| key(k)).collect());
    State {
        pending: VecDeque::from([Pending::new(expect, keys, Rc::default(), None)]),
        ..State::default()
    }
}

#[test]
fn ascii_gets_take_only_their_own_keys_in_any_order() {
    let mut q = queue(Expect::UntilEnd, &["a", "b", "c"]);
    assert!(deliver(&mut q, None, value("c")));
    assert!(deliver(&mut q, None, value("a")));
    assert!(!deliver(&mut q, None, value("z")), "a key not asked for");
    assert!(deliver(&mut q, None, Response::End));
    assert!(q.pending.is_empty(), "END answered the get");
}

#[test]
fn ascii_replies_of_another_kind_are_out_of_step() {
    let mut get = queue(Expect::UntilEnd, &["a"]);
    assert!(!deliver(&mut get, None, Response::Stored { cas: 0 }));
    assert!(!deliver(&mut get, None, Response::NotFound));
    let set = || queue(Expect::Single { opaque: 0 }, &[]);
    assert!(!deliver(&mut set(), None, value("a")));
    assert!(!deliver(&mut set(), None, Response::End));
    assert!(deliver(&mut set(), None, Response::Stored { cas: 0 }));
    let error = Response::server_error("busy");
    assert!(deliver(&mut set(), None, error.clone()));
    assert!(deliver(&mut queue(Expect::UntilEnd, &["a"]), None, error));
}

#[test]
fn binary_runs_take_only_their_own_opaques() {
    let run = || queue(Expect::Run { first: 5, last: 7 }, &["a", "b"]);
    assert!(
        !deliver(&mut run(), Some(4), value("a")),
        "an earlier request's"
    );
    assert!(!deliver(&mut run(), Some(8), value("a")));
    let mut q = run();
    assert!(deliver(&mut q, Some(6), value("b")));
    assert!(deliver(&mut q, Some(7), Response::Ok));
    assert!(q.pending.is_empty());
    // Opaques wrap around.
    let mut q = queue(
        Expect::Run {
            first: u32::MAX,
            last: 1,
        },
        &["a", "b"],
    );
    assert!(deliver(&mut q, Some(0), value("b")));
    assert!(!deliver(&mut q, Some(2), value("b")));
}
