//! Property tests: request and response round trips over generated models,
//! pipelines, and the fuzz entry points over random and frame-shaped bytes.

use proptest::collection::vec;
use proptest::prelude::*;

use super::*;
use crate::binary::fuzz::{fuzz_request_decoder, fuzz_response_decoder};
use crate::model::{Arith, Command, ErrorKind, Get, GetKind, Status, Store, StoreMode, Value};

fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..=max).prop_map(Bytes::from)
}

fn key() -> impl Strategy<Value = Key> {
    prop_oneof![vec(any::<u8>(), 1..=8), vec(any::<u8>(), 1..=250)]
        .prop_map(|k| Key(Bytes::from(k)))
}

fn time() -> impl Strategy<Value = i64> {
    any::<u32>().prop_map(i64::from)
}

/// Commands with a quiet opcode, then the others (always loud).
fn command() -> impl Strategy<Value = (Command, bool)> {
    let modes = prop_oneof![
        Just(StoreMode::Set),
        Just(StoreMode::Add),
        Just(StoreMode::Replace)
    ];
    let concat = prop_oneof![Just(StoreMode::Append), Just(StoreMode::Prepend)];
    let quietable = prop_oneof![
        (key(), any::<bool>(), any::<bool>(), time()).prop_map(|(k, touch, with_key, t)| {
            let kind = if touch { GetKind::Gat } else { GetKind::Get };
            let exptime = if touch { t } else { 0 };
            Command::Get(Get {
                kind,
                keys: vec![k].into(),
                exptime,
                with_key,
            })
        }),
        (modes, key(), any::<u32>(), time(), bytes(64), any::<u64>()).prop_map(
            |(mode, key, flags, exptime, value, cas)| {
                Command::Store(Store {
                    mode,
                    key,
                    flags,
                    exptime,
                    value,
                    cas,
                })
            }
        ),
        (concat, key(), bytes(64), any::<u64>()).prop_map(|(mode, key, value, cas)| {
            Command::Store(Store {
                mode,
                key,
                flags: 0,
                exptime: 0,
                value,
                cas,
            })
        }),
        (
            any::<bool>(),
            key(),
            any::<u64>(),
            any::<u64>(),
            time(),
            any::<u64>()
        )
            .prop_map(
                |(incr, key, delta, initial, exptime, cas)| Command::Arith(Arith {
                    incr,
                    key,
                    delta,
                    initial,
                    exptime,
                    cas
                })
            ),
        (key(), any::<u64>()).prop_map(|(key, cas)| Command::Delete { key, cas }),
        time().prop_map(|delay| Command::FlushAll { delay }),
        Just(Command::Quit),
    ];
    let loud = prop_oneof![
        (key(), time()).prop_map(|(key, exptime)| Command::Touch { key, exptime }),
        prop_oneof![Just(Bytes::new()), key().prop_map(|k| k.0)]
            .prop_map(|group| Command::Stats { group }),
        Just(Command::Version),
        Just(Command::Noop),
        Just(Command::SaslListMechs),
        (key(), bytes(32)).prop_map(|(m, data)| Command::SaslAuth {
            mechanism: m.0,
            data
        }),
        (key(), bytes(32)).prop_map(|(m, data)| Command::SaslStep {
            mechanism: m.0,
            data
        }),
    ];
    prop_oneof![(quietable, any::<bool>()), loud.prop_map(|c| (c, false))]
}

fn request() -> impl Strategy<Value = Request> {
    (command(), any::<u32>(), any::<u16>()).prop_map(|((command, quiet), opaque, vbucket)| {
        Request {
            command,
            quiet,
            opaque,
            vbucket,
        }
    })
}

/// Failures any opcode may get, in their canonical (decoded) form.
fn failure() -> impl Strategy<Value = Response> {
    let other = prop_oneof![
        Just(Status::ValueTooLarge),
        Just(Status::NonNumeric),
        Just(Status::NotMyVbucket),
        Just(Status::AuthError),
        Just(Status::AuthContinue),
        Just(Status::OutOfMemory),
        Just(Status::NotSupported),
        Just(Status::Busy),
        Just(Status::TemporaryFailure),
    ];
    prop_oneof![
        Just(Response::Error(ErrorKind::UnknownCommand)),
        bytes(20).prop_map(|m| Response::Error(ErrorKind::Client(m))),
        bytes(20).prop_map(|m| Response::Error(ErrorKind::Server(m))),
        (other, bytes(20)).prop_map(|(status, message)| Response::Status { status, message }),
        Just(Response::Status {
            status: Status::UnknownCommand,
            message: Bytes::new()
        }),
    ]
}

/// A canonical reply for `op`: what decoding that frame gives back.
fn reply_for(op: u8, k: Key) -> BoxedStrategy<(ReplyTo, Response)> {
    use opcode::*;
    let plain = move |r: Response| (ReplyTo::new(op, 0), r);
    let with_k = matches!(op, GETK | GETKQ | GATK | GATKQ);
    let success: BoxedStrategy<(ReplyTo, Response)> = match op {
        GET | GETQ | GETK | GETKQ | GAT | GATQ | GATK | GATKQ => {
            let key = if with_k { k } else { Key(Bytes::new()) };
            let to = ReplyTo {
                opcode: op,
                opaque: 0,
                key: key.clone(),
            };
            let hit =
                (any::<u32>(), any::<u64>(), bytes(64)).prop_map(move |(flags, cas, data)| {
                    Response::Value(Value {
                        key: key.clone(),
                        flags,
                        cas,
                        data,
                    })
                });
            prop_oneof![hit, Just(Response::End)]
                .prop_map(move |r| (to.clone(), r))
                .boxed()
        }
        TOUCH => prop_oneof![
            any::<u64>().prop_map(|cas| Response::Touched { cas }),
            Just(Response::End)
        ]
        .prop_map(plain)
        .boxed(),
        SET | SETQ | APPEND | APPENDQ | PREPEND | PREPENDQ => prop_oneof![
            any::<u64>().prop_map(|cas| Response::Stored { cas }),
            Just(Response::NotStored),
            Just(Response::Exists),
            Just(Response::NotFound)
        ]
        .prop_map(plain)
        .boxed(),
        ADD | ADDQ => prop_oneof![
            any::<u64>().prop_map(|cas| Response::Stored { cas }),
            Just(Response::NotStored),
            Just(Response::NotFound)
        ]
        .prop_map(plain)
        .boxed(),
        REPLACE | REPLACEQ => prop_oneof![
            any::<u64>().prop_map(|cas| Response::Stored { cas }),
            Just(Response::NotStored),
            Just(Response::Exists)
        ]
        .prop_map(plain)
        .boxed(),
        DELETE | DELETEQ => prop_oneof![
            Just(Response::Deleted),
            Just(Response::NotFound),
            Just(Response::Exists)
        ]
        .prop_map(plain)
        .boxed(),
        INCREMENT | INCREMENTQ | DECREMENT | DECREMENTQ => (any::<u64>(), any::<u64>())
            .prop_map(move |(value, cas)| plain(Response::Numeric { value, cas }))
            .boxed(),
        QUIT | QUITQ | FLUSH | FLUSHQ | VERBOSITY => Just(plain(Response::Ok)).boxed(),
        NOOP => Just(plain(Response::End)).boxed(),
        STAT => prop_oneof![
            Just(Response::End),
            (key(), bytes(20)).prop_map(|(name, value)| Response::Stat {
                name: name.0,
                value
            }),
        ]
        .prop_map(plain)
        .boxed(),
        VERSION => bytes(16)
            .prop_map(move |v| plain(Response::Version(v)))
            .boxed(),
        SASL_LIST_MECHS => bytes(16)
            .prop_map(move |v| plain(Response::SaslMechs(v)))
            .boxed(),
        SASL_AUTH | SASL_STEP => bytes(16)
            .prop_map(move |v| plain(Response::SaslAuthenticated(v)))
            .boxed(),
        _ => bytes(16)
            .prop_map(move |m| {
                plain(Response::Status {
                    status: Status::NoError,
                    message: m,
                })
            })
            .boxed(),
    };
    prop_oneof![3 => success, 1 => failure().prop_map(move |r| (ReplyTo::new(op, 0), r))].boxed()
}

fn reply() -> impl Strategy<Value = (ReplyTo, Response)> {
    let op = prop_oneof![4 => 0u8..=0x24, 1 => any::<u8>()];
    (op, key(), any::<u32>()).prop_flat_map(|(op, k, opaque)| {
        reply_for(op, k).prop_map(move |(mut to, r)| {
            to.opaque = opaque;
            (to, r)
        })
    })
}

/// Frame-shaped noise: valid frames, headers with random lengths, garbage.
fn noisy_stream(magic: u8) -> impl Strategy<Value = Vec<u8>> {
    let chunk = prop_oneof![
        request().prop_filter_map("encodable", |r| {
            let mut out = BytesMut::new();
            encode_request(&r, &mut out).ok().map(|()| out.to_vec())
        }),
        (
            0u8..0x30,
            0u16..12,
            0u8..24,
            0u32..300,
            vec(any::<u8>(), 0..40)
        )
            .prop_map(move |(op, k, e, body, tail)| {
                let mut h = raw_header(op, k, e, body);
                h[0] = magic;
                h.extend(tail);
                h
            }),
        vec(any::<u8>(), 0..40),
    ];
    vec(chunk, 1..4).prop_map(|chunks| chunks.concat())
}

proptest! {
    #[test]
    fn requests_round_trip(r in request()) {
        let frame = encode_req(&r);
        prop_assert_eq!(ReplyTo::of(&r).opcode, frame[1]);
        prop_assert_eq!(decode_one(&frame), r);
    }

    #[test]
    fn pipelined_requests_round_trip(rs in vec(request(), 1..5)) {
        let wire: Vec<u8> = rs.iter().flat_map(encode_req).collect();
        let want: Vec<RequestStep> = rs.into_iter().map(|r| Ok(Decoded::Request(r))).collect();
        prop_assert_eq!(decode_requests(Limits::default(), &wire), want);
    }

    #[test]
    fn responses_round_trip(pairs in vec(reply(), 1..4)) {
        let wire: Vec<u8> = pairs.iter().flat_map(|(to, r)| encode_reply(to.clone(), r)).collect();
        let want: Vec<ResponseStep> = pairs.into_iter().map(Ok).collect();
        prop_assert_eq!(decode_responses(&wire), want);
    }

    #[test]
    fn request_decoder_survives_noise(data in noisy_stream(REQUEST_MAGIC)) {
        fuzz_request_decoder(&data);
    }

    #[test]
    fn response_decoder_survives_noise(data in noisy_stream(RESPONSE_MAGIC)) {
        fuzz_response_decoder(&data);
    }

    #[test]
    fn decoders_survive_random_bytes(data in vec(any::<u8>(), 0..200)) {
        fuzz_request_decoder(&data);
        fuzz_response_decoder(&data);
    }
}
