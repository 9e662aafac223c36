//! Fuzz entry points for the meta codec (and the mixed text decoder). They
//! take arbitrary bytes and panic when an invariant breaks; the tests below
//! run them over the committed seed corpus in
//! `crates/protocol/fuzz-corpus/meta/` and over random input.
//!
//! Invariants checked:
//! - no panic, whatever the input;
//! - the outcome does not depend on how the input is split into reads;
//! - memory stays bounded: when the decoder asks for more bytes, what it
//!   left buffered is within the limits;
//! - every decoded meta request re-encodes and decodes to itself; every
//!   decoded reply (and every error reply the decoder produced) re-encodes
//!   and decodes to itself; a key is at most 250 bytes after base64
//!   decoding, and an opaque over 32 bytes is flagged (mg, ma) or refused.

use bytes::BytesMut;

use super::{
    decode_response, encode_request, encode_response, Decoded, MetaRequest, MetaResponse,
    RequestDecoder, ResponseError,
};
use crate::ascii::CloseConnection;
use crate::feed::{assert_decodes_to, feed_requests, feed_responses as feed_all, same_in_pieces};
use crate::model::{Limits, MAX_KEY_LEN};

/// Small limits, so short inputs reach the limit paths.
fn fuzz_limits() -> Limits {
    Limits {
        max_value_len: 64,
        max_line_len: 128,
        max_keys: 8,
    }
}

/// Generous limits for re-decoding canonical encodings.
fn roomy_limits() -> Limits {
    Limits {
        max_value_len: 1 << 20,
        max_line_len: 1 << 16,
        max_keys: 1 << 10,
    }
}

/// Most bytes the decoder may hold while asking for more (an ascii
/// multi-get line is the longest thing it buffers).
fn buffer_bound(limits: &Limits) -> usize {
    let get_line = limits.max_keys * (MAX_KEY_LEN + 1) + 128;
    limits
        .max_line_len
        .max(128)
        .max(get_line)
        .max(limits.max_value_len + 2)
}

/// Outcomes in order (stopping after a close) and the bytes left buffered.
type Trace = (Vec<Result<Decoded, CloseConnection>>, usize);

fn feed<'a>(limits: &Limits, pieces: impl Iterator<Item = &'a [u8]>) -> Trace {
    let mut decoder = RequestDecoder::new(*limits);
    feed_requests(pieces, buffer_bound(limits), |buf| decoder.decode(buf))
}

/// Feeds `data` to a text request decoder whole and in small pieces and
/// checks every invariant listed in the module docs.
pub fn fuzz_request_decoder(data: &[u8]) {
    let limits = fuzz_limits();
    let whole = same_in_pieces(data, 13, |p| feed(&limits, p.iter().copied()));
    for outcome in whole.0.iter().flatten() {
        match outcome {
            Decoded::Meta(req) => {
                assert_limits_held(req);
                assert_request_round_trip(req);
            }
            Decoded::TooLarge(req) => {
                assert_limits_held(req);
                assert!(req.value.is_empty());
            }
            Decoded::Invalid(reply) => assert_response_round_trip(reply),
            Decoded::Ascii(_) | Decoded::Admin(_) => {}
        }
    }
}

fn assert_limits_held(req: &MetaRequest) {
    assert!(
        req.key.len() <= MAX_KEY_LEN,
        "key of {} bytes",
        req.key.len()
    );
    let long = req.flags.iter().any(|f| f.kind() == b'O' && f.0.len() > 32);
    assert_eq!(long, req.options.long_opaque, "opaque in {req:?}");
}

/// A decoded request encodes to bytes that decode to it again, whole.
fn assert_request_round_trip(req: &MetaRequest) {
    let mut wire = BytesMut::new();
    if encode_request(req, &mut wire).is_err() {
        // Only a key the line could not carry (an empty `mn` key is fine).
        return;
    }
    let want = Ok(Some(Decoded::Meta(req.clone())));
    assert_decodes_to(wire, want, |w| {
        RequestDecoder::new(roomy_limits()).decode(w)
    });
}

/// Feeds `data` to the meta response decoder whole and in small pieces and
/// checks every invariant listed in the module docs.
pub fn fuzz_response_decoder(data: &[u8]) {
    let limits = Limits {
        max_line_len: 256,
        ..fuzz_limits()
    };
    let whole = same_in_pieces(data, 11, |p| feed_responses(&limits, p.iter().copied()));
    for response in whole.iter().flatten() {
        assert_response_round_trip(response);
    }
}

fn feed_responses<'a>(
    limits: &Limits,
    pieces: impl Iterator<Item = &'a [u8]>,
) -> Vec<Result<MetaResponse, ResponseError>> {
    let bound = limits.max_line_len + 1 + limits.max_value_len + 2;
    feed_all(pieces, bound, |buf| decode_response(buf, limits))
}

fn assert_response_round_trip(resp: &MetaResponse) {
    let mut wire = BytesMut::new();
    encode_response(resp, &mut wire);
    let want = Ok(Some(resp.clone()));
    assert_decodes_to(wire, want, |w| decode_response(w, &roomy_limits()));
}
