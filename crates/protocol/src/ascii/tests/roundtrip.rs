//! decode(encode(x)) == x for requests and responses, one at a time and
//! pipelined, for hand-picked and proptest-generated values.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::super::{decode_response, encode_request, encode_response, EncodeError};
use super::*;
use crate::model::{Arith, ErrorKind, Get, GetKind, Store, StoreMode, Value};

fn arb_key() -> impl Strategy<Value = Key> {
    proptest::collection::vec(0x21u8..0x7f, 1..40).prop_map(|k| Key(Bytes::from(k)))
}

fn arb_value() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..64).prop_map(Bytes::from)
}

fn arb_exptime() -> impl Strategy<Value = i64> {
    any::<i32>().prop_map(i64::from)
}

fn arb_get() -> impl Strategy<Value = Request> {
    let kinds = prop_oneof![
        Just(GetKind::Get),
        Just(GetKind::Gets),
        Just(GetKind::Gat),
        Just(GetKind::Gats)
    ];
    (
        kinds,
        proptest::collection::vec(arb_key(), 1..8),
        arb_exptime(),
    )
        .prop_map(|(kind, keys, e)| {
            let exptime = if kind.touches() { e } else { 0 };
            Request::new(Command::Get(Get {
                kind,
                keys: keys.into(),
                exptime,
                with_key: true,
            }))
        })
}

fn arb_store() -> impl Strategy<Value = Command> {
    let modes = prop_oneof![
        Just(StoreMode::Set),
        Just(StoreMode::Add),
        Just(StoreMode::Replace),
        Just(StoreMode::Append),
        Just(StoreMode::Prepend),
        Just(StoreMode::Cas),
    ];
    (
        modes,
        arb_key(),
        any::<u32>(),
        arb_exptime(),
        arb_value(),
        any::<u64>(),
    )
        .prop_map(|(mode, key, flags, exptime, value, cas)| {
            let cas = if mode == StoreMode::Cas { cas } else { 0 };
            Command::Store(Store {
                mode,
                key,
                flags,
                exptime,
                value,
                cas,
            })
        })
}

/// Commands that can carry `noreply`.
fn arb_quietable() -> impl Strategy<Value = Command> {
    prop_oneof![
        arb_store(),
        (any::<bool>(), arb_key(), any::<u64>()).prop_map(|(incr, key, delta)| {
            Command::Arith(Arith {
                incr,
                key,
                delta,
                initial: 0,
                exptime: Arith::NO_CREATE,
                cas: 0,
            })
        }),
        arb_key().prop_map(|key| Command::Delete { key, cas: 0 }),
        (arb_key(), arb_exptime()).prop_map(|(key, exptime)| Command::Touch { key, exptime }),
        arb_exptime().prop_map(|delay| Command::FlushAll { delay }),
        any::<u32>().prop_map(|level| Command::Verbosity { level }),
    ]
}

fn arb_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        arb_get(),
        (arb_quietable(), any::<bool>()).prop_map(|(command, quiet)| Request {
            quiet,
            ..Request::new(command)
        }),
        "([a-z]{1,6}( [a-z0-9]{1,5}){0,2})?".prop_map(|g| Request::new(Command::Stats {
            group: Bytes::from(g)
        })),
        Just(Request::new(Command::Version)),
        Just(Request::new(Command::Quit)),
    ]
}

fn arb_text() -> impl Strategy<Value = Bytes> {
    "[ -~]{0,30}".prop_map(Bytes::from)
}

fn arb_response() -> impl Strategy<Value = Response> {
    prop_oneof![
        (arb_key(), any::<u32>(), any::<u64>(), arb_value()).prop_map(|(key, flags, cas, data)| {
            Response::Value(Value {
                key,
                flags,
                cas,
                data,
            })
        }),
        Just(Response::End),
        Just(Response::Stored { cas: 0 }),
        Just(Response::NotStored),
        Just(Response::Exists),
        Just(Response::NotFound),
        Just(Response::Deleted),
        Just(Response::Touched { cas: 0 }),
        Just(Response::Ok),
        Just(Response::Reset),
        any::<u64>().prop_map(|value| Response::Numeric { value, cas: 0 }),
        arb_text().prop_map(Response::Version),
        ("[!-~]{0,20}", arb_text()).prop_map(|(n, value)| Response::Stat {
            name: Bytes::from(n),
            value
        }),
        Just(Response::Error(ErrorKind::UnknownCommand)),
        arb_text().prop_map(|m| Response::Error(ErrorKind::Client(m))),
        arb_text().prop_map(|m| Response::Error(ErrorKind::Server(m))),
    ]
}

fn encode_all(reqs: &[Request]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for req in reqs {
        encode_request(req, &mut out).unwrap();
    }
    out.to_vec()
}

#[test]
fn canonical_request_forms() {
    let set = Store {
        mode: StoreMode::Set,
        key: key("k"),
        flags: 0,
        exptime: 0,
        value: Bytes::from_static(b"hello"),
        cas: 0,
    };
    let quiet_set = Request {
        quiet: true,
        ..Request::new(Command::Store(set.clone()))
    };
    assert_eq!(
        encode_all(&[quiet_set]),
        b"set k 0 0 5 noreply\r\nhello\r\n"
    );
    let get = Get {
        kind: GetKind::Get,
        keys: vec![key("a"), key("b"), key("c")].into(),
        exptime: 0,
        with_key: true,
    };
    assert_eq!(
        encode_all(&[Request::new(Command::Get(get))]),
        b"get a b c\r\n"
    );
    let cas = Store {
        mode: StoreMode::Cas,
        cas: 12,
        ..set.clone()
    };
    assert_eq!(
        encode_all(&[Request::new(Command::Store(cas))]),
        b"cas k 0 0 5 12\r\nhello\r\n"
    );
    // A binary SET carrying a CAS is an ascii cas.
    let bin_set = Store {
        cas: 7,
        ..set.clone()
    };
    assert_eq!(
        encode_all(&[Request::new(Command::Store(bin_set))]),
        b"cas k 0 0 5 7\r\nhello\r\n"
    );
    let flush = Request {
        quiet: true,
        ..Request::new(Command::FlushAll { delay: 0 })
    };
    assert_eq!(encode_all(&[flush]), b"flush_all noreply\r\n");
}

#[test]
fn requests_without_ascii_form() {
    let mut out = BytesMut::new();
    let mut refuse = |command: Command, err: EncodeError| {
        assert_eq!(encode_request(&Request::new(command), &mut out), Err(err));
    };
    refuse(Command::Noop, EncodeError::NotAscii);
    refuse(Command::SaslListMechs, EncodeError::NotAscii);
    let creating = Arith {
        incr: true,
        key: key("k"),
        delta: 1,
        initial: 5,
        exptime: 0,
        cas: 0,
    };
    refuse(Command::Arith(creating), EncodeError::NotAscii);
    refuse(
        Command::Delete {
            key: key("k"),
            cas: 3,
        },
        EncodeError::NotAscii,
    );
    let add = Store {
        mode: StoreMode::Add,
        key: key("k"),
        flags: 0,
        exptime: 0,
        value: Bytes::new(),
        cas: 1,
    };
    refuse(Command::Store(add.clone()), EncodeError::NotAscii);
    refuse(
        Command::Store(Store {
            cas: 0,
            key: key("a b"),
            ..add.clone()
        }),
        EncodeError::BadKey,
    );
    refuse(
        Command::Store(Store {
            cas: 0,
            key: Key::new(vec![b'k'; 251]),
            ..add
        }),
        EncodeError::BadKey,
    );
    refuse(
        Command::Touch {
            key: Key::new(Bytes::new()),
            exptime: 0,
        },
        EncodeError::BadKey,
    );
    let none = Get {
        kind: GetKind::Get,
        keys: vec![].into(),
        exptime: 0,
        with_key: true,
    };
    refuse(Command::Get(none), EncodeError::BadKey);
    refuse(
        Command::Stats {
            group: Bytes::from_static(b"a\nb"),
        },
        EncodeError::BadKey,
    );
    refuse(
        Command::Stats {
            group: Bytes::from_static(b" a"),
        },
        EncodeError::BadKey,
    );
    assert!(out.is_empty(), "a refused request wrote bytes");
}

proptest! {
    #[test]
    fn request_round_trip(req in arb_request()) {
        let wire = encode_all(std::slice::from_ref(&req));
        let mut decoder = RequestDecoder::new(Limits::default());
        let mut buf = BytesMut::from(&wire[..]);
        prop_assert_eq!(decoder.decode(&mut buf), Ok(Some(Decoded::Request(req))));
        prop_assert!(buf.is_empty());
    }
}

proptest! {
    // Each case is decoded once per split point: keep the count modest.
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn pipelined_requests_split_anywhere(reqs in proptest::collection::vec(arb_request(), 1..5)) {
        let wire = encode_all(&reqs);
        let expected: Vec<Outcome> = reqs.into_iter().map(|r| Ok(Decoded::Request(r))).collect();
        prop_assert_eq!(decode(&wire), expected);
    }
}

proptest! {

    #[test]
    fn response_round_trip(resps in proptest::collection::vec(arb_response(), 1..6)) {
        let mut buf = BytesMut::new();
        for resp in &resps {
            encode_response(resp, true, &mut buf);
        }
        for resp in &resps {
            prop_assert_eq!(decode_response(&mut buf, &Limits::default()), Ok(Some(resp.clone())));
        }
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn value_without_cas_decodes_with_cas_zero(resp in arb_response()) {
        let mut buf = BytesMut::new();
        encode_response(&resp, false, &mut buf);
        let expected = match resp {
            Response::Value(v) => Response::Value(Value { cas: 0, ..v }),
            other => other,
        };
        prop_assert_eq!(decode_response(&mut buf, &Limits::default()), Ok(Some(expected)));
    }
}
