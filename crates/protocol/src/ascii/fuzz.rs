//! Fuzz entry points for the ascii codec. They take arbitrary bytes and
//! panic when an invariant breaks, so a fuzzer (cargo-fuzz, AFL) can drive
//! them directly; the tests below also run them over the committed seed
//! corpus in `crates/protocol/fuzz-corpus/ascii/` and over random input.
//!
//! Invariants checked:
//! - no panic, whatever the input;
//! - the outcome does not depend on how the input is split into reads;
//! - memory stays bounded: when a decoder asks for more bytes, what it left
//!   buffered is within the limits, and the read buffer never grows to a
//!   declared length that passed no limit;
//! - every decoded request that has an ascii form re-encodes and decodes to
//!   itself; every decoded response re-encodes and decodes to itself.

use bytes::BytesMut;

use super::{
    decode_response, encode_request, encode_response, CloseConnection, Decoded, RequestDecoder,
    ResponseError,
};
use crate::assert_capacity_bounded;
use crate::model::{Command, Limits, Request, Response, MAX_KEY_LEN};

/// Small limits, so short inputs reach the limit paths.
fn fuzz_limits() -> Limits {
    Limits {
        max_value_len: 64,
        max_line_len: 128,
        max_keys: 8,
    }
}

/// Generous limits for re-decoding canonical encodings, which may be a little
/// longer than the line they came from (`2147483648` is written `-2147483648`).
fn roomy_limits() -> Limits {
    Limits {
        max_value_len: 1 << 20,
        max_line_len: 1 << 16,
        max_keys: 1 << 10,
    }
}

/// Most bytes a request decoder may hold while asking for more.
fn request_buffer_bound(limits: &Limits) -> usize {
    let line = limits.max_line_len.max(128);
    let get_line = limits.max_keys * (MAX_KEY_LEN + 1) + 128;
    line.max(get_line).max(limits.max_value_len + 2)
}

/// Feeds `data` to a request decoder whole and in small pieces and checks
/// every invariant listed in the module docs.
pub fn fuzz_request_decoder(data: &[u8]) {
    let limits = fuzz_limits();
    let whole = feed_requests(&limits, std::iter::once(data));
    let piece = 1 + usize::from(data.first().copied().unwrap_or(0) % 13);
    let pieces = feed_requests(&limits, data.chunks(piece));
    assert_eq!(whole, pieces, "outcome depends on read boundaries");
    for outcome in &whole.0 {
        match outcome {
            Ok(Decoded::Request(req)) => assert_request_round_trip(req),
            Ok(Decoded::TooLarge(req)) => match &req.command {
                Command::Store(store) => assert!(store.value.is_empty()),
                other => panic!("TooLarge for a non-storage command {other:?}"),
            },
            Ok(Decoded::Invalid(reply)) => {
                if let Some(reply) = reply {
                    assert_response_round_trip(reply);
                }
            }
            Err(close) => {
                if let Some(reply) = &close.reply {
                    assert_response_round_trip(reply);
                }
            }
        }
    }
}

/// Outcomes in order (stopping after a close) and the bytes left buffered.
type RequestTrace = (Vec<Result<Decoded, CloseConnection>>, usize);

fn feed_requests<'a>(limits: &Limits, pieces: impl Iterator<Item = &'a [u8]>) -> RequestTrace {
    let mut decoder = RequestDecoder::new(*limits);
    let mut buf = BytesMut::new();
    let mut outcomes = Vec::new();
    let mut fed = 0;
    for piece in pieces {
        buf.extend_from_slice(piece);
        fed += piece.len();
        loop {
            let decoded = decoder.decode(&mut buf);
            assert_capacity_bounded(&buf, fed, request_buffer_bound(limits));
            match decoded {
                Ok(Some(decoded)) => outcomes.push(Ok(decoded)),
                Ok(None) => {
                    assert!(
                        buf.len() <= request_buffer_bound(limits),
                        "unbounded buffering"
                    );
                    break;
                }
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

/// `req` came from the decoder: when it has an ascii form, that form must
/// decode to `req` again, consuming exactly the encoding.
fn assert_request_round_trip(req: &Request) {
    let mut wire = BytesMut::new();
    if encode_request(req, &mut wire).is_err() {
        return;
    }
    let copy = wire.clone();
    let again = RequestDecoder::new(roomy_limits()).decode(&mut wire);
    assert_eq!(
        again,
        Ok(Some(Decoded::Request(req.clone()))),
        "re-encoded as {copy:?}"
    );
    assert!(wire.is_empty(), "encoding {copy:?} left {wire:?}");
}

/// Feeds `data` to the response decoder whole and in small pieces and
/// checks every invariant listed in the module docs.
pub fn fuzz_response_decoder(data: &[u8]) {
    let limits = Limits {
        max_line_len: 256,
        ..fuzz_limits()
    };
    let whole = feed_responses(&limits, std::iter::once(data));
    let piece = 1 + usize::from(data.first().copied().unwrap_or(0) % 11);
    let pieces = feed_responses(&limits, data.chunks(piece));
    assert_eq!(whole, pieces, "outcome depends on read boundaries");
    for response in whole.iter().flatten() {
        assert_response_round_trip(response);
    }
}

fn feed_responses<'a>(
    limits: &Limits,
    pieces: impl Iterator<Item = &'a [u8]>,
) -> Vec<Result<Response, ResponseError>> {
    let bound = limits.max_line_len + 1 + limits.max_value_len + 2;
    let mut buf = BytesMut::new();
    let mut outcomes = Vec::new();
    let mut fed = 0;
    for piece in pieces {
        buf.extend_from_slice(piece);
        fed += piece.len();
        loop {
            let before = buf.len();
            let decoded = decode_response(&mut buf, limits);
            assert_capacity_bounded(&buf, fed, bound);
            match decoded {
                Ok(Some(response)) => {
                    assert!(buf.len() < before, "a frame consumed nothing");
                    outcomes.push(Ok(response));
                }
                Ok(None) => {
                    assert!(buf.len() < bound, "unbounded buffering");
                    break;
                }
                Err(e) => {
                    assert_eq!(buf.len(), before, "an error consumed bytes");
                    outcomes.push(Err(e));
                    return outcomes;
                }
            }
        }
    }
    outcomes
}

/// `resp` came from a decoder (or is a reply it produced): its encoding with
/// the CAS shown decodes to `resp` again, consuming exactly the encoding.
fn assert_response_round_trip(resp: &Response) {
    let mut wire = BytesMut::new();
    encode_response(resp, true, &mut wire);
    let copy = wire.clone();
    let again = decode_response(&mut wire, &roomy_limits());
    assert_eq!(again, Ok(Some(resp.clone())), "re-encoded as {copy:?}");
    assert!(wire.is_empty(), "encoding {copy:?} left {wire:?}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn corpus() -> Vec<(std::path::PathBuf, Vec<u8>)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz-corpus/ascii");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.is_file())
            .map(|path| {
                let data = std::fs::read(&path).unwrap();
                (path, data)
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn seed_corpus_requests_and_responses() {
        let files = corpus();
        assert!(files.len() >= 20, "seed corpus is missing");
        for (path, data) in files {
            eprintln!("seed {}", path.display());
            fuzz_request_decoder(&data);
            fuzz_response_decoder(&data);
        }
    }

    /// Inputs that once broke an invariant (the bytes left unread after a
    /// close depend on the reads, and were compared).
    #[test]
    fn past_failures() {
        let mut second = vec![38u8, 0, 0, 0, 11, 0, 0, 0, 11];
        second.extend([0; 30]);
        second.extend([7, 141, 118, 175, 217, 0, 248]);
        for data in [&b"HTTP/1.1\r\nVALUE k 0 5\r\nhello\r\n"[..], &second] {
            fuzz_request_decoder(data);
            fuzz_response_decoder(data);
        }
    }

    /// Fragments that make random input reach deep paths.
    const FRAGMENTS: &[&[u8]] = &[
        b"get ",
        b"gets ",
        b"gat ",
        b"gats ",
        b"set ",
        b"add ",
        b"cas ",
        b"append ",
        b"incr ",
        b"decr ",
        b"delete ",
        b"touch ",
        b"stats",
        b"flush_all",
        b"version",
        b"verbosity ",
        b"quit",
        b"noreply",
        b"k",
        b"key2",
        b" ",
        b"0 ",
        b"1 ",
        b"5",
        b"-1",
        b"99999999999",
        b"\r\n",
        b"\n",
        b"\r",
        b"hello",
        b"\0",
        b"\t",
        b"VALUE k 0 5\r\nhello\r\n",
        b"END\r\n",
        b"STORED\r\n",
        b"STAT pid 1\r\n",
        b"CLIENT_ERROR x\r\n",
        b"12\r\n",
        b"HTTP/1.1",
    ];

    const WORDS: &[&str] = &[
        "get",
        "gets",
        "gat",
        "gats",
        "bget",
        "set",
        "add",
        "replace",
        "append",
        "prepend",
        "cas",
        "incr",
        "decr",
        "delete",
        "touch",
        "stats",
        "flush_all",
        "version",
        "verbosity",
        "quit",
        "mg",
        "GET",
        "",
    ];
    const ARGS: &[&str] = &[
        "k",
        "key",
        "0",
        "1",
        "2",
        "5",
        "-1",
        "+3",
        "noreply",
        "4294967297",
        "2147483648",
        "x",
        "HTTP/1.1",
        "\t",
        "1\t",
        "\r",
        "18446744073709551615",
        "",
    ];
    const ENDINGS: &[&str] = &["\r\n", "\n", "\r\r\n", "", " \r\n"];

    /// Lines built from command words and plausible arguments, sometimes
    /// followed by a data block.
    fn arb_line() -> impl Strategy<Value = Vec<u8>> {
        let pick = |pool: &'static [&'static str]| (0..pool.len()).prop_map(move |i| pool[i]);
        (
            pick(WORDS),
            proptest::collection::vec(pick(ARGS), 0..7),
            pick(ENDINGS),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..7)),
        )
            .prop_map(|(word, args, ending, block)| {
                let mut line = word.as_bytes().to_vec();
                for arg in args {
                    line.push(b' ');
                    line.extend_from_slice(arg.as_bytes());
                }
                line.extend_from_slice(ending.as_bytes());
                if let Some(block) = block {
                    line.extend_from_slice(&block);
                    line.extend_from_slice(b"\r\n");
                }
                line
            })
    }

    proptest! {
        #[test]
        fn random_command_lines(lines in proptest::collection::vec(arb_line(), 1..8)) {
            let data = lines.concat();
            fuzz_request_decoder(&data);
            fuzz_response_decoder(&data);
        }

        #[test]
        fn random_bytes(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            fuzz_request_decoder(&data);
            fuzz_response_decoder(&data);
        }

        #[test]
        fn random_fragments(picks in proptest::collection::vec(0..FRAGMENTS.len(), 0..40)) {
            let data: Vec<u8> = picks.iter().flat_map(|&i| FRAGMENTS[i].iter().copied()).collect();
            fuzz_request_decoder(&data);
            fuzz_response_decoder(&data);
        }
    }
}
