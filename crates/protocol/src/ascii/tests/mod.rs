//! Tests of the ascii codec. Every request input goes through [`decode`],
//! which also feeds it split in two at every byte boundary and byte by byte
//! and insists on the same outcomes. Expected error replies were taken from
//! a running memcached 1.6.18 (see also `tests/ascii_memcached.rs`).

mod errors;
mod limits;
mod requests;
mod responses;
mod roundtrip;

use bytes::{Bytes, BytesMut};

use super::{CloseConnection, Decoded, RequestDecoder};
use crate::model::{Command, Key, Limits, Request, Response};

/// One decoding outcome.
type Outcome = Result<Decoded, CloseConnection>;

/// Outcomes (stopping after a close) and how many bytes stayed buffered.
fn feed<'a>(limits: Limits, pieces: impl IntoIterator<Item = &'a [u8]>) -> (Vec<Outcome>, usize) {
    let mut decoder = RequestDecoder::new(limits);
    let mut buf = BytesMut::new();
    let mut outcomes = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(decoded)) => outcomes.push(Ok(decoded)),
                Ok(None) => break,
                Err(close) => {
                    // What stays unread after a close depends on the reads.
                    outcomes.push(Err(close));
                    return (outcomes, 0);
                }
            }
        }
    }
    (outcomes, buf.len())
}

/// Decodes `input` with `limits` whole, in two pieces at every split point
/// and byte by byte; all must agree. Returns the outcomes.
fn decode_with(limits: Limits, input: &[u8]) -> Vec<Outcome> {
    let whole = feed(limits, [input]);
    for split in 1..input.len() {
        let (a, b) = input.split_at(split);
        assert_eq!(
            feed(limits, [a, b]),
            whole,
            "split at {split} of {}",
            show(input)
        );
    }
    if input.len() <= 4096 {
        assert_eq!(
            feed(limits, input.chunks(1)),
            whole,
            "byte by byte: {}",
            show(input)
        );
    }
    whole.0
}

/// [`decode_with`] default limits.
fn decode(input: &[u8]) -> Vec<Outcome> {
    decode_with(Limits::default(), input)
}

/// Asserts `input` decodes to exactly `expected`.
#[track_caller]
fn expect(input: &[u8], expected: Vec<Outcome>) {
    assert_eq!(decode(input), expected, "input {}", show(input));
}

/// The start of an input, for failure messages.
fn show(input: &[u8]) -> String {
    let head = String::from_utf8_lossy(&input[..input.len().min(80)]).into_owned();
    format!("{head:?} ({} bytes)", input.len())
}

fn loud(command: Command) -> Outcome {
    Ok(Decoded::Request(Request::new(command)))
}

fn quiet(command: Command) -> Outcome {
    Ok(Decoded::Request(Request {
        quiet: true,
        ..Request::new(command)
    }))
}

/// `Invalid` with the reply `line` (without `\r\n`), parsed back.
fn reply(line: &str) -> Outcome {
    Ok(Decoded::Invalid(Some(parse_reply(line))))
}

/// `Invalid` with no reply (`noreply`).
fn silent() -> Outcome {
    Ok(Decoded::Invalid(None))
}

fn error() -> Outcome {
    reply("ERROR")
}

fn close() -> Outcome {
    Err(CloseConnection { reply: None })
}

fn parse_reply(line: &str) -> Response {
    let mut buf = BytesMut::from(format!("{line}\r\n").as_bytes());
    super::decode_response(&mut buf, &Limits::default())
        .unwrap()
        .unwrap()
}

fn key(k: &str) -> Key {
    Key(Bytes::copy_from_slice(k.as_bytes()))
}
