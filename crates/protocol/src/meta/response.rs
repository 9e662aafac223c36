//! Parsing one meta reply from a downstream (protocol.txt, "Meta Get" and
//! after). Meta replies describe themselves (`VA` carries its length), so
//! no request is needed to frame them.

use bytes::{Buf, Bytes, BytesMut};

use super::{Flag, MetaResponse, MetaStatus};
use crate::model::{ErrorKind, Limits};

/// A downstream reply that is not valid meta protocol. The buffer is left
/// untouched; the connection to that downstream cannot be trusted any more.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// A line that is no known meta reply.
    #[error("malformed meta reply line: {0:?}")]
    Malformed(Bytes),
    /// No newline within `max_line_len` bytes.
    #[error("meta reply line longer than {0} bytes")]
    LineTooLong(usize),
    /// A `VA` larger than `max_value_len`.
    #[error("meta VA of {0} bytes exceeds the item size limit")]
    ValueTooLarge(u64),
    /// A `VA` data block not followed by `\r\n`.
    #[error("meta VA data block not terminated by \\r\\n")]
    BadDataChunk,
}

/// Decodes one reply from the front of `buf`. `Ok(None)`: more bytes are
/// needed and nothing was consumed.
pub fn decode_response(
    buf: &mut BytesMut,
    limits: &Limits,
) -> Result<Option<MetaResponse>, ResponseError> {
    let Some(nl) = memchr::memchr(b'\n', buf) else {
        if buf.len() > limits.max_line_len {
            return Err(ResponseError::LineTooLong(limits.max_line_len));
        }
        return Ok(None);
    };
    if nl > limits.max_line_len {
        // The same outcome whether or not the newline has arrived yet.
        return Err(ResponseError::LineTooLong(limits.max_line_len));
    }
    let mut end = nl;
    if end > 0 && buf[end - 1] == b'\r' {
        end -= 1;
    }
    let line = Bytes::copy_from_slice(&buf[..end]);
    let malformed = || ResponseError::Malformed(line.clone());
    let mut toks = line.split(|&b| b == b' ').filter(|t| !t.is_empty());
    let first = toks.next().unwrap_or(&[]);
    if !line.starts_with(first) {
        return Err(malformed());
    }
    let resp = match first {
        b"VA" => {
            let size = toks.next().and_then(parse_size).ok_or_else(malformed)?;
            let flags = flags(&line, toks);
            return value(buf, nl, size, flags, limits);
        }
        b"MN" if toks.next().is_none() => MetaResponse::Noop,
        b"ME" => {
            let rest = line.get(3..).ok_or_else(malformed)?;
            let key_end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
            MetaResponse::Debug {
                key: line.slice(3..3 + key_end),
                info: line.slice((3 + key_end + 1).min(line.len())..),
            }
        }
        b"ERROR" if line.len() == 5 => MetaResponse::Error(ErrorKind::UnknownCommand),
        b"CLIENT_ERROR" => MetaResponse::Error(ErrorKind::Client(message(&line, 12))),
        b"SERVER_ERROR" => MetaResponse::Error(ErrorKind::Server(message(&line, 12))),
        _ => {
            let status = match first {
                b"HD" => MetaStatus::Stored,
                b"EN" => MetaStatus::Miss,
                b"NF" => MetaStatus::NotFound,
                b"NS" => MetaStatus::NotStored,
                b"EX" => MetaStatus::Exists,
                _ => return Err(malformed()),
            };
            MetaResponse::Status {
                status,
                flags: flags(&line, toks),
            }
        }
    };
    buf.advance(nl + 1);
    Ok(Some(resp))
}

/// A `VA` line ending at `nl` declaring `size` bytes: its data block,
/// once all of it and its `\r\n` are in `buf`.
fn value(
    buf: &mut BytesMut,
    nl: usize,
    size: u64,
    flags: Vec<Flag>,
    limits: &Limits,
) -> Result<Option<MetaResponse>, ResponseError> {
    if size > limits.max_value_len as u64 {
        return Err(ResponseError::ValueTooLarge(size));
    }
    let size = size as usize;
    if buf.len() < nl + 1 + size + 2 {
        return Ok(None);
    }
    if &buf[nl + 1 + size..nl + 3 + size] != b"\r\n" {
        return Err(ResponseError::BadDataChunk);
    }
    buf.advance(nl + 1);
    let data = buf.split_to(size).freeze();
    buf.advance(2);
    Ok(Some(MetaResponse::Value { flags, data }))
}

/// The rest of an error line after its word and one space.
fn message(line: &Bytes, word: usize) -> Bytes {
    line.slice((word + 1).min(line.len())..)
}

/// The flag tokens, sliced from `line`.
fn flags<'a>(line: &Bytes, toks: impl Iterator<Item = &'a [u8]>) -> Vec<Flag> {
    toks.map(|t| Flag(line.slice_ref(t))).collect()
}

/// A plain decimal length.
fn parse_size(tok: &[u8]) -> Option<u64> {
    if tok.is_empty() || tok.len() > 19 || !tok.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(tok).ok()?.parse().ok()
}
