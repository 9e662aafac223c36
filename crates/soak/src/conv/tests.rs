//! Tests of the parent module: replies matched to requests, and the
//! mismatches that cross-talk produces.

use std::time::Instant;

use protocol::binary::ReplyTo;
use protocol::{Command, Get, GetKind, Key, Request, Response, Store, StoreMode, Value};

use super::*;
use crate::model::KeyKind;
use crate::value::{self, Origin};

fn conversation(protocol: Protocol) -> Conversation {
    let now = Instant::now();
    let models = (0..2)
        .map(|i| KeyModel::new(7, i, KeyKind::Blob, now))
        .collect();
    let names = (0..2).map(|i| value::key_name(1, 7, i)).collect();
    Conversation::new(7, protocol, models, names, Arc::new(Epochs::default()))
}

fn set(c: &Conversation, key: u8, seq: u64, quiet: bool, opaque: u32) -> (Request, What) {
    let data = value::segment(
        Origin {
            client: 7,
            key,
            seq,
        },
        4,
    );
    let write = Write::Store {
        mode: StoreMode::Set,
        data: data.clone(),
        flags: value::flags(7, seq),
        cas: 0,
    };
    let mut req = Request::new(Command::Store(Store {
        mode: StoreMode::Set,
        key: Key(c.names[usize::from(key)].clone()),
        flags: value::flags(7, seq),
        exptime: 0,
        value: data,
        cas: 0,
    }));
    req.quiet = quiet;
    req.opaque = opaque;
    (req, What::Write { key, write })
}

fn get(c: &Conversation, key: u8, opaque: u32) -> (Request, What) {
    let mut req = Request::new(Command::Get(Get {
        kind: GetKind::Get,
        keys: vec![Key(c.names[usize::from(key)].clone())].into(),
        exptime: 0,
        with_key: true,
    }));
    req.opaque = opaque;
    let how = if opaque == 0 {
        Read::Get
    } else {
        Read::BinGetK
    };
    (
        req,
        What::Read {
            keys: vec![key],
            how,
        },
    )
}

fn hit(key: &[u8], client: u32, seq: u64, cas: u64) -> Response {
    let origin = Origin {
        client,
        key: 0,
        seq,
    };
    Response::Value(Value {
        key: Key(bytes::Bytes::copy_from_slice(key)),
        flags: value::flags(client, seq),
        cas,
        data: value::segment(origin, 4),
    })
}

#[test]
fn ascii_replies_in_order_and_another_clients_value_is_caught() {
    let mut c = conversation(Protocol::Ascii);
    let (r, w) = set(&c, 0, 1, false, 0);
    c.sent(1, r, w);
    c.on_frame(Frame::Ascii(Response::Stored { cas: 0 }))
        .unwrap();
    let (r, w) = get(&c, 0, 0);
    c.sent(2, r, w);
    let mine = c.names[0].clone();
    let m = c
        .on_frame(Frame::Ascii(hit(&mine, 8, 1, 0)))
        .and_then(|()| c.on_frame(Frame::Ascii(Response::End)));
    let m = m.unwrap_err();
    assert_eq!((m.client, m.seq), (7, 2));
    assert!(m.why.contains("client 8"), "{m}");
    c.abandon("connection dropped after a mismatch");
    let stray = c.on_frame(Frame::Ascii(Response::Deleted)).unwrap_err();
    assert!(stray.why.contains("no request outstanding"), "{stray}");
}

#[test]
fn binary_opaques_must_match_and_quiet_success_is_inferred() {
    let mut c = conversation(Protocol::Binary);
    let (r, w) = set(&c, 1, 1, true, 0x7001);
    c.sent(1, r, w);
    let (r, w) = get(&c, 1, 0x7002);
    let to = ReplyTo::of(&r);
    c.sent(2, r, w);
    let name = c.names[1].clone();
    let mut reply = hit(&name, 7, 1, 5);
    if let Response::Value(v) = &mut reply {
        v.data = value::segment(
            Origin {
                client: 7,
                key: 1,
                seq: 1,
            },
            4,
        );
    }
    c.on_frame(Frame::Binary(to.clone(), reply.clone()))
        .unwrap();
    assert!(!c.waiting());
    let (r, w) = get(&c, 1, 0x7003);
    c.sent(3, r, w);
    let foreign = ReplyTo::new(to.opcode, 0x8003);
    let m = c.on_frame(Frame::Binary(foreign, reply)).unwrap_err();
    assert!(m.why.contains("client 8"), "{m}");
}

#[test]
fn a_lost_connection_makes_pending_writes_unknown() {
    let mut c = conversation(Protocol::Ascii);
    let (r, w) = set(&c, 0, 1, false, 0);
    c.sent(1, r, w);
    c.abandon("connection: closed by moxi");
    assert_eq!(c.models[0].content, crate::model::Content::Unknown);
    assert_eq!(c.report.errors["connection: closed by moxi"], 1);
    assert!(!c.waiting());
}
