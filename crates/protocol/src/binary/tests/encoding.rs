//! `encode_request` where model and wire differ, its errors, and
//! `ReplyTo::of`.

use super::*;
use crate::model::{Arith, Command, Get, GetKind, Store, StoreMode};

fn get(kind: GetKind, keys: &[&'static str], with_key: bool) -> Request {
    let keys = keys.iter().map(|k| Key::from(*k)).collect();
    Request::new(Command::Get(Get {
        kind,
        keys,
        exptime: 30,
        with_key,
    }))
}

fn store(mode: StoreMode, cas: u64, exptime: i64) -> Request {
    let s = Store {
        mode,
        key: Key::from("k"),
        flags: 5,
        exptime,
        value: b("v"),
        cas,
    };
    Request::new(Command::Store(s))
}

#[test]
fn ascii_only_kinds_map_to_their_binary_equivalent() {
    // gets/gats: binary always returns the CAS, so GET(K)/GAT(K) serve.
    assert_eq!(
        encode_req(&get(GetKind::Gets, &["k"], true))[1],
        opcode::GETK
    );
    assert_eq!(
        encode_req(&get(GetKind::Gets, &["k"], false))[1],
        opcode::GET
    );
    assert_eq!(
        encode_req(&get(GetKind::Gats, &["k"], true))[1],
        opcode::GATK
    );
    // cas: SET with the CAS in the header, decoded back as Set + cas.
    let frame = encode_req(&store(StoreMode::Cas, 77, 0));
    assert_eq!(frame[1], opcode::SET);
    assert_eq!(frame[16..24], 77u64.to_be_bytes());
    let Command::Store(s) = decode_one(&frame).command else {
        panic!("a store")
    };
    assert_eq!((s.mode, s.cas), (StoreMode::Set, 77));
}

#[test]
fn append_drops_flags_and_exptime() {
    let frame = encode_req(&store(StoreMode::Append, 0, 100));
    assert_eq!(frame[4], 0, "no extras");
    let Command::Store(s) = decode_one(&frame).command else {
        panic!("a store")
    };
    assert_eq!((s.flags, s.exptime), (0, 0));
}

#[test]
fn ascii_arith_never_creates() {
    let a = Arith {
        incr: true,
        key: Key::from("n"),
        delta: 1,
        initial: 0,
        exptime: -1,
        cas: 0,
    };
    let frame = encode_req(&Request::new(Command::Arith(a)));
    assert_eq!(&frame[24 + 16..24 + 20], &[0xff; 4]);
    let Command::Arith(back) = decode_one(&frame).command else {
        panic!("arith")
    };
    assert!(!back.creates());
    assert_eq!(back.exptime, Arith::NO_CREATE);
}

#[test]
fn quiet_without_a_quiet_opcode_sends_the_loud_one() {
    let mut touch = Request::new(Command::Touch {
        key: Key::from("k"),
        exptime: 1,
    });
    touch.quiet = true;
    assert_eq!(encode_req(&touch)[1], opcode::TOUCH);
    assert_eq!(ReplyTo::of(&touch).opcode, opcode::TOUCH);
}

#[test]
fn unencodable_requests_are_errors_and_write_nothing() {
    let mut out = BytesMut::new();
    let multi = get(GetKind::Get, &["a", "b"], true);
    assert_eq!(
        encode_request(&multi, &mut out),
        Err(EncodeError::KeyCount { count: 2 })
    );
    let none = get(GetKind::Get, &[], true);
    assert_eq!(
        encode_request(&none, &mut out),
        Err(EncodeError::KeyCount { count: 0 })
    );
    let negative = store(StoreMode::Set, 0, -1);
    assert_eq!(
        encode_request(&negative, &mut out),
        Err(EncodeError::TimeOutOfRange { value: -1 })
    );
    let huge = Request::new(Command::FlushAll { delay: 1 << 33 });
    assert!(matches!(
        encode_request(&huge, &mut out),
        Err(EncodeError::TimeOutOfRange { .. })
    ));
    let long = Request::new(Command::Stats {
        group: Bytes::from(vec![b'g'; 70_000]),
    });
    assert_eq!(
        encode_request(&long, &mut out),
        Err(EncodeError::KeyTooLong { len: 70_000 })
    );
    assert!(out.is_empty());
}

#[test]
fn reply_to_of_carries_opaque_and_k_key() {
    let mut g = get(GetKind::Get, &["key"], true);
    g.opaque = 9;
    g.quiet = true;
    assert_eq!(
        ReplyTo::of(&g),
        ReplyTo {
            opcode: opcode::GETKQ,
            opaque: 9,
            key: Key::from("key")
        }
    );
    let plain = get(GetKind::Gat, &["key"], false);
    assert_eq!(ReplyTo::of(&plain), ReplyTo::new(opcode::GAT, 0));
}

#[test]
fn k_variant_miss_without_key_falls_back_to_text() {
    let frame = encode_reply(ReplyTo::new(opcode::GETK, 1), &Response::End);
    assert_eq!(&frame[24..], b"Not found");
    assert_eq!(frame[2..4], [0, 0]);
}
