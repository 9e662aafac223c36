//! Reply encoding (memcached's exact lines, moxi's a2b strings) and reply
//! decoding, fed whole and cut at every byte boundary.

use bytes::{Bytes, BytesMut};

use super::super::{decode_response, encode_response, ResponseError};
use crate::model::{ErrorKind, Key, Limits, Response, Status, Value};

fn encoded(resp: &Response, show_cas: bool) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_response(resp, show_cas, &mut out);
    out.to_vec()
}

fn value(k: &'static str, flags: u32, cas: u64, data: &'static str) -> Response {
    Response::Value(Value {
        key: Key::from(k),
        flags,
        cas,
        data: Bytes::from_static(data.as_bytes()),
    })
}

fn b(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

/// Decodes all frames of `input`, also checking that every proper prefix of
/// each frame asks for more bytes without consuming any.
fn decode_all(input: &[u8], limits: &Limits) -> Result<Vec<Response>, ResponseError> {
    let mut frames = Vec::new();
    let mut buf = BytesMut::from(input);
    while !buf.is_empty() {
        let before = buf.clone();
        let frame = decode_response(&mut buf, limits)?;
        let Some(frame) = frame else { break };
        let used = before.len() - buf.len();
        for cut in 0..used {
            let mut partial = BytesMut::from(&before[..cut]);
            assert_eq!(
                decode_response(&mut partial, limits),
                Ok(None),
                "cut at {cut}"
            );
            assert_eq!(partial.len(), cut);
        }
        frames.push(frame);
    }
    Ok(frames)
}

#[test]
fn encodes_memcached_lines() {
    let cases: Vec<(Response, &str)> = vec![
        (value("k", 5, 9, "hello"), "VALUE k 5 5\r\nhello\r\n"),
        (Response::End, "END\r\n"),
        (Response::Stored { cas: 3 }, "STORED\r\n"),
        (Response::NotStored, "NOT_STORED\r\n"),
        (Response::Exists, "EXISTS\r\n"),
        (Response::NotFound, "NOT_FOUND\r\n"),
        (Response::Deleted, "DELETED\r\n"),
        (Response::Touched { cas: 3 }, "TOUCHED\r\n"),
        (Response::Ok, "OK\r\n"),
        (Response::Numeric { value: 42, cas: 3 }, "42\r\n"),
        (Response::Version(b("1.6.18")), "VERSION 1.6.18\r\n"),
        (
            Response::Stat {
                name: b("pid"),
                value: b("12"),
            },
            "STAT pid 12\r\n",
        ),
        (
            Response::Stat {
                name: b("x"),
                value: b(""),
            },
            "STAT x \r\n",
        ),
        (Response::Reset, "RESET\r\n"),
        (Response::SaslMechs(b("PLAIN")), "ERROR\r\n"),
        (Response::SaslAuthenticated(b("ok")), "ERROR\r\n"),
        (Response::Error(ErrorKind::UnknownCommand), "ERROR\r\n"),
        (
            Response::client_error("bad data chunk"),
            "CLIENT_ERROR bad data chunk\r\n",
        ),
        (
            Response::server_error("out of memory"),
            "SERVER_ERROR out of memory\r\n",
        ),
        (
            Response::Error(ErrorKind::Client(Bytes::new())),
            "CLIENT_ERROR\r\n",
        ),
        (
            Response::server_error("two\nlines"),
            "SERVER_ERROR two lines\r\n",
        ),
    ];
    for (resp, wire) in cases {
        assert_eq!(
            String::from_utf8(encoded(&resp, false)).unwrap(),
            wire,
            "{resp:?}"
        );
    }
    assert_eq!(
        encoded(&value("k", 5, 9, "hello"), true),
        b"VALUE k 5 5 9\r\nhello\r\n"
    );
}

#[test]
fn encodes_binary_statuses_as_moxi_a2b_does() {
    let cases = [
        (Status::NotMyVbucket, "SERVER_ERROR a2b not_my_vbucket"),
        (
            Status::ValueTooLarge,
            "SERVER_ERROR object too large for cache",
        ),
        (
            Status::InvalidArguments,
            "CLIENT_ERROR bad command line format",
        ),
        (
            Status::NonNumeric,
            "CLIENT_ERROR cannot increment or decrement non-numeric value",
        ),
        (Status::AuthError, "SERVER_ERROR a2b auth_error"),
        (Status::AuthContinue, "SERVER_ERROR a2b auth_continue"),
        (Status::UnknownCommand, "ERROR"),
        (
            Status::OutOfMemory,
            "SERVER_ERROR out of memory storing object",
        ),
        (Status::NotSupported, "SERVER_ERROR a2b not supported"),
        (Status::InternalError, "SERVER_ERROR a2b einternal"),
        (Status::Busy, "SERVER_ERROR a2b ebusy"),
        (Status::TemporaryFailure, "SERVER_ERROR temporary failure"),
        (Status::KeyNotFound, "NOT_FOUND"),
        (Status::KeyExists, "EXISTS"),
        (Status::ItemNotStored, "NOT_STORED"),
        (Status::NoError, "OK"),
    ];
    for (status, line) in cases {
        let resp = Response::Status {
            status,
            message: b("ignored"),
        };
        assert_eq!(
            encoded(&resp, false),
            format!("{line}\r\n").into_bytes(),
            "{status:?}"
        );
    }
}

#[test]
fn decodes_every_reply_kind() {
    let input = b"VALUE k 5 5\r\nhello\r\nVALUE k2 0 3 99\r\na\r\n\r\nEND\r\nSTORED\r\n\
        NOT_STORED\r\nEXISTS\r\nNOT_FOUND\r\nDELETED\r\nTOUCHED\r\nOK\r\n18446744073709551615\r\n\
        VERSION 1.6.18\r\nSTAT version 1.6.18\r\nSTAT evictions on\r\nRESET\r\nERROR\r\n\
        ERROR: shutdown not enabled\r\nCLIENT_ERROR bad data chunk\r\nSERVER_ERROR oom\n";
    let expected = vec![
        value("k", 5, 0, "hello"),
        value("k2", 0, 99, "a\r\n"),
        Response::End,
        Response::Stored { cas: 0 },
        Response::NotStored,
        Response::Exists,
        Response::NotFound,
        Response::Deleted,
        Response::Touched { cas: 0 },
        Response::Ok,
        Response::Numeric {
            value: u64::MAX,
            cas: 0,
        },
        Response::Version(b("1.6.18")),
        Response::Stat {
            name: b("version"),
            value: b("1.6.18"),
        },
        Response::Stat {
            name: b("evictions"),
            value: b("on"),
        },
        Response::Reset,
        Response::Error(ErrorKind::UnknownCommand),
        Response::Error(ErrorKind::UnknownCommand),
        Response::client_error("bad data chunk"),
        Response::server_error("oom"),
    ];
    assert_eq!(decode_all(input, &Limits::default()), Ok(expected));
}

#[test]
fn malformed_replies() {
    let limits = Limits::default();
    for line in [
        &b"\r\n"[..],
        b"FOO\r\n",
        b"end\r\n",
        b"STAT\r\n",
        b"VERSION\r\n",
        b"-1\r\n",
        b"18446744073709551616\r\n",
        b"VALUE k 0\r\n",
        b"VALUE  k 0 1\r\nx\r\n",
        b"VALUE k x 1\r\nx\r\n",
        b"VALUE k 4294967296 1\r\nx\r\n",
        b"VALUE k 0 1 2 3\r\nx\r\n",
    ] {
        let mut buf = BytesMut::from(line);
        assert!(
            matches!(
                decode_response(&mut buf, &limits),
                Err(ResponseError::Malformed(_))
            ),
            "{line:?}"
        );
        assert_eq!(&buf[..], line, "an error consumed bytes");
    }
}

#[test]
fn reply_limits() {
    let limits = Limits {
        max_value_len: 4,
        max_line_len: 16,
        max_keys: 1,
    };
    let mut buf = BytesMut::from(&b"VALUE k 0 5\r\n"[..]);
    assert_eq!(
        decode_response(&mut buf, &limits),
        Err(ResponseError::ValueTooLarge(5))
    );
    let mut buf = BytesMut::from(&b"VALUE k 0 99999999999999999999\r\n"[..]);
    assert!(decode_response(&mut buf, &Limits::default()).is_err());
    let mut buf = BytesMut::from(&b"SERVER_ERROR 0123456789"[..]);
    assert_eq!(
        decode_response(&mut buf, &limits),
        Err(ResponseError::LineTooLong(16))
    );
    let mut buf = BytesMut::from(&b"VALUE k 0 2\r\nabXY"[..]);
    assert_eq!(
        decode_response(&mut buf, &limits),
        Err(ResponseError::BadDataChunk)
    );
    // At the limit exactly: 16 bytes before the \n.
    let mut buf = BytesMut::from(&b"SERVER_ERROR ab\r\n"[..]);
    assert_eq!(
        decode_response(&mut buf, &limits),
        Ok(Some(Response::server_error("ab")))
    );
}

#[test]
fn decoded_value_is_sliced_not_copied() {
    let mut buf = BytesMut::from(&b"VALUE key 1 3\r\nabc\r\nEND\r\n"[..]);
    let start = buf.as_ptr() as usize;
    let Ok(Some(Response::Value(v))) = decode_response(&mut buf, &Limits::default()) else {
        panic!("no value")
    };
    assert_eq!(v.key.as_bytes().as_ptr() as usize, start + 6);
    assert_eq!(v.data.as_ptr() as usize, start + 15);
    assert_eq!(&buf[..], b"END\r\n");
}
