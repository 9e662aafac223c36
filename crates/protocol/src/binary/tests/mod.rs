//! Tests of the binary codec. Every decode test goes through the split
//! helpers, which feed the input whole, in two pieces at every split point
//! and byte by byte, and require the same result each way.
#![allow(clippy::result_large_err)]

mod corpus;
mod encoding;
mod golden;
mod live;
mod props;
mod refusals;
mod requests;
mod responses;

use bytes::{BufMut, Bytes, BytesMut};

use super::fuzz::{assert_split_invariant, feed_requests, feed_responses};
use super::fuzz::{RequestStep, ResponseStep};
use super::*;
use crate::model::{Key, Limits, Request, Response};

/// The opaque used in the captured memcached vectors.
pub(crate) const OPAQUE: u32 = 0xdead_beef;

/// Hex (whitespace ignored) to bytes.
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// ASCII text as hex, for readable vectors.
pub(crate) fn hex_of(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// A request frame with explicit parts (lengths derived), opaque [`OPAQUE`].
pub(crate) fn req(op: u8, extras: &[u8], key: &[u8], value: &[u8], cas: u64) -> Vec<u8> {
    let mut out = BytesMut::new();
    let p = Packet {
        header: Header {
            magic: REQUEST_MAGIC,
            opcode: op,
            opaque: OPAQUE,
            cas,
            ..Header::default()
        },
        extras: Bytes::copy_from_slice(extras),
        key: Bytes::copy_from_slice(key),
        value: Bytes::copy_from_slice(value),
    };
    encode_packet(&p, &mut out);
    out.to_vec()
}

/// A request header with arbitrary (possibly inconsistent) lengths, no body.
pub(crate) fn raw_header(op: u8, key_len: u16, ext_len: u8, body_len: u32) -> Vec<u8> {
    let mut out = BytesMut::new();
    Header {
        magic: REQUEST_MAGIC,
        opcode: op,
        key_len,
        extras_len: ext_len,
        body_len,
        opaque: OPAQUE,
        ..Header::default()
    }
    .encode(&mut out);
    out.to_vec()
}

/// Big-endian extras from u32 fields.
pub(crate) fn be(fields: &[u32]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in fields {
        out.put_u32(*f);
    }
    out
}

/// Decodes a client stream with every split; returns the steps.
pub(crate) fn decode_requests(limits: Limits, data: &[u8]) -> Vec<RequestStep> {
    assert_split_invariant(data, |c| feed_requests(limits, c))
}

/// Decodes one well-formed request (the whole input).
pub(crate) fn decode_one(data: &[u8]) -> Request {
    match decode_requests(Limits::default(), data).as_slice() {
        [Ok(Decoded::Request(r))] => r.clone(),
        other => panic!("expected one request, got {other:?}"),
    }
}

/// Decodes a downstream stream with every split; returns the steps.
pub(crate) fn decode_responses(data: &[u8]) -> Vec<ResponseStep> {
    assert_split_invariant(data, |c| feed_responses(Limits::default(), c))
}

/// Encodes one reply.
pub(crate) fn encode_reply(to: ReplyTo, resp: &Response) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_response(to, resp, &mut out);
    out.to_vec()
}

/// Encodes one request, panicking on error.
pub(crate) fn encode_req(r: &Request) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_request(r, &mut out).unwrap();
    out.to_vec()
}

/// A `ReplyTo` with a key (K-variant gets).
pub(crate) fn to_k(opcode: u8, key: &'static str) -> ReplyTo {
    ReplyTo {
        opcode,
        opaque: OPAQUE,
        key: Key::from(key),
    }
}

/// A `ReplyTo` without a key.
pub(crate) fn to(opcode: u8) -> ReplyTo {
    ReplyTo::new(opcode, OPAQUE)
}

/// `Bytes` from a static string.
pub(crate) fn b(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}
