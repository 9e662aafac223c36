//! Fuzz entry points for the binary codecs. They panic when an invariant
//! breaks, so a fuzzer (cargo-fuzz, or the seed-corpus and proptest runs in
//! the tests) finds more than crashes:
//! - decoding is the same whether the input arrives whole, in two pieces
//!   (at several split points) or byte by byte;
//! - an `Ok(None)` never leaves more buffered than one limit-checked frame,
//!   and the read buffer never grows to a length that passed no limit;
//! - a decoded request re-encodes to a frame that decodes to the same
//!   request; a decoded response re-encodes to a frame that decodes to the
//!   same `(ReplyTo, Response)`.

use bytes::BytesMut;

use super::{decode_response, encode_request, encode_response, FrameError, ReplyTo, HEADER_LEN};
use super::{CloseConnection, Decoded, RequestDecoder};
use crate::feed::assert_capacity_bounded;
use crate::model::{Command, Limits, Response};

/// Limits the fuzz runs use: small, so the too-large paths are reachable.
pub const FUZZ_LIMITS: Limits = Limits {
    max_value_len: 256,
    max_line_len: 2048,
    max_keys: 64,
};

/// One result of a request stream.
pub(crate) type RequestStep = Result<Decoded, CloseConnection>;
/// One result of a response stream.
pub(crate) type ResponseStep = Result<(ReplyTo, Response), FrameError>;

/// Most bytes a request decoder may hold while waiting: one frame with the
/// largest extras, key and accepted value.
fn request_buffer_bound(limits: &Limits) -> usize {
    HEADER_LEN + 255 + usize::from(u16::MAX).min(250) + limits.max_value_len
}

/// Decodes `chunks` fed one after another into one decoder; stops at the
/// first close. Checks the buffering bound at every `Ok(None)`.
pub(crate) fn feed_requests(limits: Limits, chunks: &[&[u8]]) -> Vec<RequestStep> {
    let mut dec = RequestDecoder::new(limits);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut fed = 0;
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        fed += chunk.len();
        loop {
            let before = buf.len();
            let decoded = dec.decode(&mut buf);
            assert_capacity_bounded(&buf, fed, request_buffer_bound(&limits));
            match decoded {
                Ok(Some(d)) => {
                    assert!(buf.len() < before, "a decoded step consumes input");
                    out.push(Ok(d));
                }
                Ok(None) => {
                    assert!(
                        buf.len() < request_buffer_bound(&limits),
                        "unbounded buffering"
                    );
                    break;
                }
                Err(close) => {
                    out.push(Err(close));
                    return out;
                }
            }
        }
    }
    out
}

/// Decodes `chunks` fed one after another; continues past errors that leave
/// the stream aligned (a consumed malformed frame), stops at the others.
pub(crate) fn feed_responses(limits: Limits, chunks: &[&[u8]]) -> Vec<ResponseStep> {
    let bound = HEADER_LEN + limits.max_value_len + 64 * 1024 + 256;
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut fed = 0;
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        fed += chunk.len();
        loop {
            let decoded = decode_response(&mut buf, &limits);
            assert_capacity_bounded(&buf, fed, bound);
            match decoded {
                Ok(Some(r)) => out.push(Ok(r)),
                Ok(None) => {
                    assert!(buf.len() < bound, "unbounded buffering");
                    break;
                }
                Err(e @ (FrameError::Malformed { .. } | FrameError::UnknownStatus { .. })) => {
                    out.push(Err(e))
                }
                Err(e) => {
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }
    out
}

/// Split points to try: all of them for short inputs, a spread otherwise.
fn split_points(len: usize) -> Vec<usize> {
    if len <= 128 {
        (0..=len).collect()
    } else {
        (0..=len)
            .step_by(len / 61 + 1)
            .chain([len - 1, len])
            .collect()
    }
}

/// Asserts that `feed` gives the same steps for `data` whole, split in two
/// at each split point, and byte by byte.
pub(crate) fn assert_split_invariant<T: PartialEq + std::fmt::Debug>(
    data: &[u8],
    feed: impl Fn(&[&[u8]]) -> Vec<T>,
) -> Vec<T> {
    let whole = feed(&[data]);
    for at in split_points(data.len()) {
        let (a, b) = data.split_at(at);
        assert_eq!(feed(&[a, b]), whole, "split at {at}");
    }
    let bytes: Vec<&[u8]> = data.chunks(1).collect();
    assert_eq!(feed(&bytes), whole, "byte by byte");
    whole
}

/// Fuzz the server-side request decoder with arbitrary client bytes.
pub fn fuzz_request_decoder(data: &[u8]) {
    let steps = assert_split_invariant(data, |c| feed_requests(FUZZ_LIMITS, c));
    for step in steps {
        let reply = match step {
            Ok(Decoded::Request(req)) => {
                assert_request_round_trip(&req);
                None
            }
            Ok(Decoded::TooLarge(req)) => {
                let Command::Store(s) = &req.command else {
                    panic!("TooLarge for {req:?}")
                };
                assert!(s.value.is_empty(), "TooLarge carries no value");
                assert_request_round_trip(&req);
                None
            }
            Ok(Decoded::Invalid(reply)) => reply,
            Err(CloseConnection { reply }) => reply,
        };
        if let Some((to, resp)) = reply {
            assert_reply_stable(&to, &resp);
        }
    }
}

/// Fuzz the response decoder with arbitrary downstream bytes.
pub fn fuzz_response_decoder(data: &[u8]) {
    let steps = assert_split_invariant(data, |c| feed_responses(FUZZ_LIMITS, c));
    for (to, resp) in steps.into_iter().flatten() {
        assert_decoded_round_trip(&to, &resp);
    }
}

fn assert_request_round_trip(req: &crate::model::Request) {
    let mut frame = BytesMut::new();
    if let Err(e) = encode_request(req, &mut frame) {
        panic!("decoded request {req:?} does not re-encode: {e}");
    }
    let mut dec = RequestDecoder::new(Limits {
        max_value_len: usize::MAX,
        ..FUZZ_LIMITS
    });
    match dec.decode(&mut frame) {
        Ok(Some(Decoded::Request(again))) => assert_eq!(&again, req, "request round trip"),
        other => panic!("re-encoded {req:?} decodes as {other:?}"),
    }
    assert!(frame.is_empty(), "re-encoded frame fully consumed");
}

/// A reply the server side writes: its frame must decode, and re-encoding
/// what was decoded must give the same bytes (the model may differ where the
/// wire cannot tell two answers apart, e.g. `Exists` and `NotStored` to ADD).
fn assert_reply_stable(to: &ReplyTo, resp: &Response) {
    let mut first = BytesMut::new();
    encode_response(to.clone(), resp, &mut first);
    let mut frame = first.clone();
    let limits = Limits {
        max_value_len: frame.len(),
        ..FUZZ_LIMITS
    };
    match decode_response(&mut frame, &limits) {
        Ok(Some((to2, resp2))) => {
            let mut again = BytesMut::new();
            encode_response(to2, &resp2, &mut again);
            assert_eq!(again, first, "reply re-encoding is stable for {resp:?}");
        }
        other => panic!("encoded {resp:?} decodes as {other:?}"),
    }
    assert!(frame.is_empty(), "reply frame fully consumed");
}

/// A decoded reply re-encodes to a frame that decodes to the same pair.
fn assert_decoded_round_trip(to: &ReplyTo, resp: &Response) {
    let mut frame = BytesMut::new();
    encode_response(to.clone(), resp, &mut frame);
    let limits = Limits {
        max_value_len: frame.len(),
        ..FUZZ_LIMITS
    };
    match decode_response(&mut frame, &limits) {
        Ok(Some(again)) => assert_eq!(again, (to.clone(), resp.clone()), "reply round trip"),
        other => panic!("re-encoded {resp:?} decodes as {other:?}"),
    }
    assert!(frame.is_empty(), "re-encoded reply fully consumed");
}
