//! Tests of the meta codec. Every request input goes through [`decode`],
//! which also feeds it split in two at every byte boundary and byte by
//! byte and insists on the same outcomes. Expected error replies were
//! taken from a running memcached 1.6.18.

#![allow(clippy::unwrap_used)]

mod errors;
mod props;
mod requests;
mod responses;

use bytes::{Bytes, BytesMut};

use super::{Decoded, Flag, MetaCommand, MetaRequest, MetaResponse, RequestDecoder};
use crate::ascii::CloseConnection;
use crate::model::{Key, Limits};

/// One decoding outcome.
type Outcome = Result<Decoded, CloseConnection>;

fn feed<'a>(limits: Limits, pieces: impl IntoIterator<Item = &'a [u8]>) -> (Vec<Outcome>, usize) {
    let mut decoder = RequestDecoder::new(limits);
    crate::feed::feed_requests(pieces, usize::MAX, |buf| decoder.decode(buf))
}

/// Decodes `input` with `limits` whole, in two pieces at every split point
/// and byte by byte; all must agree. Returns the outcomes.
fn decode_with(limits: Limits, input: &[u8]) -> Vec<Outcome> {
    crate::feed::same_when_split(input, |pieces| feed(limits, pieces.iter().copied())).0
}

fn decode(input: &[u8]) -> Vec<Outcome> {
    decode_with(Limits::default(), input)
}

/// The one meta request `input` decodes to.
#[track_caller]
fn one(input: &str) -> MetaRequest {
    match &decode(input.as_bytes())[..] {
        [Ok(Decoded::Meta(req))] => req.clone(),
        other => panic!("{input:?} gave {other:?}"),
    }
}

/// The error line (without `\r\n`) each meta line of `input` is answered with.
#[track_caller]
fn replies(input: &str) -> Vec<String> {
    decode(input.as_bytes())
        .into_iter()
        .map(|o| match o {
            Ok(Decoded::Invalid(reply)) => {
                let mut out = BytesMut::new();
                super::encode_response(&reply, &mut out);
                String::from_utf8_lossy(&out[..out.len() - 2]).into_owned()
            }
            other => format!("{other:?}"),
        })
        .collect()
}

fn flags(tokens: &[&str]) -> Vec<Flag> {
    tokens
        .iter()
        .map(|t| Flag(Bytes::copy_from_slice(t.as_bytes())))
        .collect()
}

fn key(k: &str) -> Key {
    Key(Bytes::copy_from_slice(k.as_bytes()))
}

fn client_error(msg: &'static str) -> Outcome {
    Ok(Decoded::Invalid(MetaResponse::client_error(msg)))
}

/// A request built the way the decoder would, for comparisons.
fn request(command: MetaCommand, k: &str, tokens: &[&str], value: &str) -> MetaRequest {
    let flags = flags(tokens);
    let toks: Vec<&[u8]> = flags.iter().map(|f| &f.0[..]).collect();
    let mut raw = Bytes::copy_from_slice(k.as_bytes());
    let options = super::flags::parse(&toks, &mut raw).unwrap();
    MetaRequest {
        command,
        key: Key(raw),
        flags,
        options,
        value: Bytes::copy_from_slice(value.as_bytes()),
    }
}
