//! Response decoding by opcode and status, framing limits, quiet rules, and
//! the request-encoding choices where model and wire differ.

use super::*;
use crate::model::{Arith, Command, ErrorKind, Get, GetKind, Status, Store, StoreMode, Value};

/// A response frame with explicit parts, opaque [`OPAQUE`].
fn resp(op: u8, status: u16, extras: &[u8], key: &[u8], value: &[u8], cas: u64) -> Vec<u8> {
    let mut out = BytesMut::new();
    let header = Header {
        magic: RESPONSE_MAGIC,
        opcode: op,
        vbucket_or_status: status,
        opaque: OPAQUE,
        cas,
        ..Header::default()
    };
    let p = Packet {
        header,
        extras: Bytes::copy_from_slice(extras),
        key: Bytes::copy_from_slice(key),
        value: Bytes::copy_from_slice(value),
    };
    encode_packet(&p, &mut out);
    out.to_vec()
}

fn one(frame: &[u8]) -> ResponseStep {
    match decode_responses(frame).as_slice() {
        [step] => step.clone(),
        other => panic!("expected one step, got {other:?}"),
    }
}

#[test]
fn success_by_opcode() {
    use opcode::*;
    let cases: Vec<(Vec<u8>, ReplyTo, Response)> = vec![
        (
            resp(ADDQ, 0, &[], &[], &[], 5),
            to(ADDQ),
            Response::Stored { cas: 5 },
        ),
        (
            resp(PREPEND, 0, &[], &[], &[], 6),
            to(PREPEND),
            Response::Stored { cas: 6 },
        ),
        (
            resp(DELETEQ, 0, &[], &[], &[], 0),
            to(DELETEQ),
            Response::Deleted,
        ),
        (
            resp(DECREMENTQ, 0, &[], &[], &[0, 0, 0, 0, 0, 0, 1, 0], 3),
            to(DECREMENTQ),
            Response::Numeric { value: 256, cas: 3 },
        ),
        (resp(FLUSHQ, 0, &[], &[], &[], 0), to(FLUSHQ), Response::Ok),
        (
            resp(VERBOSITY, 0, &[], &[], &[], 0),
            to(VERBOSITY),
            Response::Ok,
        ),
        (resp(QUITQ, 0, &[], &[], &[], 0), to(QUITQ), Response::Ok),
        (
            resp(SASL_LIST_MECHS, 0, &[], &[], b"PLAIN", 0),
            to(SASL_LIST_MECHS),
            Response::SaslMechs(b("PLAIN")),
        ),
        (
            resp(SASL_AUTH, 0, &[], &[], b"Authenticated", 0),
            to(SASL_AUTH),
            Response::SaslAuthenticated(b("Authenticated")),
        ),
        (
            resp(SASL_STEP, 0, &[], &[], b"ok", 0),
            to(SASL_STEP),
            Response::SaslAuthenticated(b("ok")),
        ),
        (
            resp(TOUCH, 0, &[0, 0, 0, 9], &[], &[], 8),
            to(TOUCH),
            Response::Touched { cas: 8 },
        ),
        (
            resp(STAT, 0, &[], b"pid", &[], 0),
            to(STAT),
            Response::Stat {
                name: b("pid"),
                value: Bytes::new(),
            },
        ),
        (
            resp(0x77, 0, &[], &[], b"?", 0),
            to(0x77),
            Response::Status {
                status: Status::NoError,
                message: b("?"),
            },
        ),
    ];
    for (frame, t, r) in cases {
        assert_eq!(one(&frame), Ok((t, r)), "{frame:02x?}");
    }
}

#[test]
fn failures_by_status() {
    use opcode::*;
    let client = Response::Error(ErrorKind::Client(b("bad")));
    let cases: Vec<(Vec<u8>, Response)> = vec![
        (resp(GETQ, 1, &[], &[], b"Not found", 0), Response::End),
        (
            resp(DELETE, 1, &[], &[], b"Not found", 0),
            Response::NotFound,
        ),
        (
            resp(REPLACEQ, 1, &[], &[], b"Not found", 0),
            Response::NotStored,
        ),
        (resp(ADD, 2, &[], &[], b"x", 0), Response::NotStored),
        (resp(APPENDQ, 2, &[], &[], b"x", 0), Response::Exists),
        (resp(SET, 5, &[], &[], b"x", 0), Response::NotStored),
        (resp(SET, 4, &[], &[], b"bad", 0), client),
        (
            resp(SET, 0x84, &[], &[], b"boom", 0),
            Response::Error(ErrorKind::Server(b("boom"))),
        ),
        (
            resp(GET, 0x81, &[], &[], b"nope", 0),
            Response::Status {
                status: Status::UnknownCommand,
                message: b("nope"),
            },
        ),
        (
            resp(GET, 7, &[], &[], b"", 0),
            Response::Status {
                status: Status::NotMyVbucket,
                message: Bytes::new(),
            },
        ),
        (
            resp(SET, 0x82, &[], &[], b"Out of memory", 0),
            status_response(Status::OutOfMemory),
        ),
        (
            resp(SASL_AUTH, 0x20, &[], &[], b"Auth failure.", 0),
            status_response(Status::AuthError),
        ),
        (
            resp(SASL_AUTH, 0x21, &[], &[], b"", 0),
            Response::Status {
                status: Status::AuthContinue,
                message: Bytes::new(),
            },
        ),
        (
            resp(GET, 0x86, &[], &[], b"tmp", 0),
            Response::Status {
                status: Status::TemporaryFailure,
                message: b("tmp"),
            },
        ),
    ];
    for (frame, r) in cases {
        assert_eq!(one(&frame), Ok((to(frame[1]), r)), "{frame:02x?}");
    }
}

#[test]
fn k_variant_key_goes_to_reply_to_only_for_hits_and_misses() {
    let hit = resp(opcode::GATKQ, 0, &[0, 0, 0, 1], b"kk", b"v", 2);
    let v = Value {
        key: Key::from("kk"),
        flags: 1,
        cas: 2,
        data: b("v"),
    };
    assert_eq!(
        one(&hit),
        Ok((to_k(opcode::GATKQ, "kk"), Response::Value(v)))
    );
    // A non-K hit carrying a key anyway: the key is not part of the answer.
    let odd = resp(opcode::GET, 0, &[0, 0, 0, 1], b"kk", b"v", 2);
    let v = Value {
        key: Key::from(""),
        flags: 1,
        cas: 2,
        data: b("v"),
    };
    assert_eq!(one(&odd), Ok((to(opcode::GET), Response::Value(v))));
    let err = resp(opcode::GETK, 4, &[], b"kk", b"x", 0);
    assert_eq!(
        one(&err),
        Ok((to(opcode::GETK), Response::Error(ErrorKind::Client(b("x")))))
    );
}

#[test]
fn malformed_and_unknown_frames_are_consumed_and_reported() {
    let mut wire = resp(opcode::INCREMENT, 0, &[], &[], b"123", 0);
    wire.extend(resp(opcode::GET, 0, &[], &[], b"v", 0));
    wire.extend(resp(opcode::GET, 0x99, &[], &[], b"v", 0));
    wire.extend(resp(opcode::NOOP, 0, &[], &[], &[], 0));
    let steps = decode_responses(&wire);
    assert!(matches!(
        steps[0],
        Err(FrameError::Malformed {
            opcode: opcode::INCREMENT,
            ..
        })
    ));
    assert!(matches!(
        steps[1],
        Err(FrameError::Malformed {
            opcode: opcode::GET,
            ..
        })
    ));
    assert_eq!(
        steps[2],
        Err(FrameError::UnknownStatus {
            opcode: opcode::GET,
            status: 0x99
        })
    );
    assert_eq!(steps[3], Ok((to(opcode::NOOP), Response::End)));
}

#[test]
fn framing_errors_stop_the_stream() {
    let mut bad = resp(opcode::NOOP, 0, &[], &[], &[], 0);
    bad[0] = REQUEST_MAGIC;
    assert_eq!(
        one(&bad),
        Err(FrameError::BadMagic {
            expected: RESPONSE_MAGIC,
            found: REQUEST_MAGIC
        })
    );
    let mut lens = resp(opcode::GET, 0, &[], b"abc", &[], 0);
    lens[8..12].copy_from_slice(&2u32.to_be_bytes());
    assert!(matches!(
        one(&lens[..24]),
        Err(FrameError::BadLengths { key_len: 3, .. })
    ));
    // The body limit is checked on the header alone, nothing reserved.
    let mut huge = resp(opcode::GET, 0, &[], &[], &[], 0);
    huge[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
    let mut buf = BytesMut::from(&huge[..]);
    let err = decode_response(&mut buf, &Limits::default()).unwrap_err();
    assert!(matches!(err, FrameError::BodyTooLarge { .. }));
    assert!(buf.capacity() < 1024);
}

#[test]
fn decode_packet_slices_frames() {
    let frame = resp(opcode::GETK, 0, &[1, 2, 3, 4], b"key", b"value", 1);
    let mut buf = BytesMut::from(&frame[..]);
    buf.extend_from_slice(&frame[..10]);
    let p = decode_packet(&mut buf, RESPONSE_MAGIC, 64)
        .unwrap()
        .unwrap();
    assert_eq!(
        (&p.extras[..], &p.key[..], &p.value[..]),
        (&[1, 2, 3, 4][..], &b"key"[..], &b"value"[..])
    );
    assert_eq!(
        (p.header.key_len, p.header.extras_len, p.header.body_len),
        (3, 4, 12)
    );
    assert_eq!(buf.len(), 10);
    assert_eq!(decode_packet(&mut buf, RESPONSE_MAGIC, 64), Ok(None));
    let mut again = BytesMut::new();
    encode_packet(&p, &mut again);
    assert_eq!(&again[..], &frame[..]);
}

#[test]
fn quiet_rules_follow_memcached() {
    let quiet = |command: Command| Request {
        command,
        quiet: true,
        opaque: 0,
        vbucket: 0,
    };
    let getq = quiet(Command::Get(Get {
        kind: GetKind::Get,
        keys: vec![Key::from("k")].into(),
        exptime: 0,
        with_key: true,
    }));
    let hit = Response::Value(Value {
        key: Key::from("k"),
        flags: 0,
        cas: 1,
        data: b("v"),
    });
    assert!(is_suppressed(&getq, &Response::End));
    assert!(is_suppressed(&getq, &Response::NotFound));
    assert!(!is_suppressed(&getq, &hit));
    let setq = quiet(Command::Store(Store {
        mode: StoreMode::Set,
        key: Key::from("k"),
        flags: 0,
        exptime: 0,
        value: b("v"),
        cas: 0,
    }));
    assert!(is_suppressed(&setq, &Response::Stored { cas: 1 }));
    assert!(!is_suppressed(&setq, &Response::NotStored));
    assert!(!is_suppressed(
        &setq,
        &status_response(Status::ValueTooLarge)
    ));
    let delq = quiet(Command::Delete {
        key: Key::from("k"),
        cas: 0,
    });
    assert!(is_suppressed(&delq, &Response::Deleted));
    assert!(!is_suppressed(&delq, &Response::NotFound));
    let incrq = quiet(Command::Arith(Arith {
        incr: true,
        key: Key::from("k"),
        delta: 1,
        initial: 0,
        exptime: 0,
        cas: 0,
    }));
    assert!(is_suppressed(
        &incrq,
        &Response::Numeric { value: 1, cas: 2 }
    ));
    assert!(!is_suppressed(&incrq, &status_response(Status::NonNumeric)));
    assert!(is_suppressed(
        &quiet(Command::FlushAll { delay: 0 }),
        &Response::Ok
    ));
    assert!(is_suppressed(&quiet(Command::Quit), &Response::Ok));
    assert!(!is_suppressed(&quiet(Command::Noop), &Response::End));
    assert!(!is_suppressed(
        &Request::new(Command::Delete {
            key: Key::from("k"),
            cas: 0
        }),
        &Response::Deleted
    ));
}
