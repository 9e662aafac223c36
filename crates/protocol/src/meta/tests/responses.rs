//! Meta replies: decoding, encoding, and framing split at every byte.

use super::*;
use crate::meta::{decode_response, encode_response, MetaStatus, ResponseError};
use crate::model::ErrorKind;

/// Decodes every reply in `input`, whole and split at every byte
/// boundary; all must agree.
fn decode_all(input: &[u8]) -> Vec<Result<MetaResponse, ResponseError>> {
    crate::feed::same_when_split(input, |pieces| {
        let run = |buf: &mut BytesMut| decode_response(buf, &Limits::default());
        crate::feed::feed_responses(pieces.iter().copied(), usize::MAX, run)
    })
}

#[test]
fn every_reply_kind_decodes() {
    let got = decode_all(
        b"VA 2 f0 t-1\r\nhi\r\nHD\r\nEN\r\nNF Oab kfoo\r\nNS\r\nEX c5\r\nMN\r\n\
ME k exp=-1 la=0 cas=3 fetch=no cls=1 size=60\r\nERROR\r\nCLIENT_ERROR bad data chunk\r\n\
SERVER_ERROR out of memory\r\nVA 0 W\r\n\r\n",
    );
    let status = |status, f: &[&str]| {
        Ok(MetaResponse::Status {
            status,
            flags: flags(f),
        })
    };
    assert_eq!(
        got,
        vec![
            Ok(MetaResponse::Value {
                flags: flags(&["f0", "t-1"]),
                data: Bytes::from_static(b"hi")
            }),
            status(MetaStatus::Stored, &[]),
            status(MetaStatus::Miss, &[]),
            status(MetaStatus::NotFound, &["Oab", "kfoo"]),
            status(MetaStatus::NotStored, &[]),
            status(MetaStatus::Exists, &["c5"]),
            Ok(MetaResponse::Noop),
            Ok(MetaResponse::Debug {
                key: Bytes::from_static(b"k"),
                info: Bytes::from_static(b"exp=-1 la=0 cas=3 fetch=no cls=1 size=60"),
            }),
            Ok(MetaResponse::Error(ErrorKind::UnknownCommand)),
            Ok(MetaResponse::client_error("bad data chunk")),
            Ok(MetaResponse::server_error("out of memory")),
            Ok(MetaResponse::Value {
                flags: flags(&["W"]),
                data: Bytes::new()
            }),
        ]
    );
    for r in got.into_iter().flatten() {
        let mut wire = BytesMut::new();
        encode_response(&r, &mut wire);
        assert_eq!(decode_response(&mut wire, &Limits::default()), Ok(Some(r)));
        assert!(wire.is_empty());
    }
}

#[test]
fn bad_replies_are_refused_without_consuming() {
    for (input, want) in [
        (
            &b"VALUE k 0 1\r\n"[..],
            ResponseError::Malformed(Bytes::from_static(b"VALUE k 0 1")),
        ),
        (
            b"VA x\r\n",
            ResponseError::Malformed(Bytes::from_static(b"VA x")),
        ),
        (b"VA 2\r\nhixx", ResponseError::BadDataChunk),
        (b"VA 2000000\r\n", ResponseError::ValueTooLarge(2_000_000)),
    ] {
        let mut buf = BytesMut::from(input);
        assert_eq!(decode_response(&mut buf, &Limits::default()), Err(want));
        assert_eq!(&buf[..], input);
    }
    let mut long = BytesMut::from(&b"HD "[..]);
    long.extend_from_slice(&[b'x'; 3000]);
    assert_eq!(
        decode_response(&mut long, &Limits::default()),
        Err(ResponseError::LineTooLong(2048))
    );
}

#[test]
fn replies_encode_as_memcached_writes_them() {
    let mut out = BytesMut::new();
    let value = MetaResponse::Value {
        flags: flags(&["f0", "t-1"]),
        data: Bytes::from_static(b"hi"),
    };
    encode_response(&value, &mut out);
    encode_response(
        &MetaResponse::Status {
            status: MetaStatus::Stored,
            flags: vec![],
        },
        &mut out,
    );
    encode_response(&MetaResponse::Noop, &mut out);
    assert_eq!(&out[..], b"VA 2 f0 t-1\r\nhi\r\nHD\r\nMN\r\n");
}
