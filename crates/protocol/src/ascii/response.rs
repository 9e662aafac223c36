//! Parsing downstream replies (protocol.txt, the reply lines of each
//! command), one frame at a time and without knowing the request: a `VALUE`
//! frame includes its data block; `END` is always [`Response::End`].

use bytes::{Buf, Bytes, BytesMut};

use super::ResponseError;
use crate::model::{ErrorKind, Key, Limits, Response, Value};

/// Decodes one reply frame from the front of `buf`.
///
/// `Ok(None)`: the frame is incomplete and nothing was consumed. On error
/// nothing is consumed either; the downstream connection should be dropped.
/// Lines may end in `\r\n` or a bare `\n`; a `VALUE` data block must be
/// followed by `\r\n`. A `VALUE` is refused before buffering when it
/// declares more than `limits.max_value_len` bytes, a line when it runs past
/// `limits.max_line_len` bytes without a newline.
pub fn decode_response(
    buf: &mut BytesMut,
    limits: &Limits,
) -> Result<Option<Response>, ResponseError> {
    // Look no further than one byte past the longest allowed line.
    let window = &buf[..buf.len().min(limits.max_line_len.saturating_add(1))];
    let Some(newline) = window.iter().position(|&b| b == b'\n') else {
        if buf.len() > limits.max_line_len {
            return Err(ResponseError::LineTooLong(limits.max_line_len));
        }
        return Ok(None);
    };
    let content_end = if newline > 0 && buf[newline - 1] == b'\r' {
        newline - 1
    } else {
        newline
    };
    let line = &buf[..content_end];
    if let Some(rest) = line.strip_prefix(b"VALUE ") {
        let header = parse_value_header(rest).ok_or_else(|| malformed(line))?;
        return value_frame(buf, header, newline + 1, limits);
    }
    let response = parse_line(line).ok_or_else(|| malformed(line))?;
    buf.advance(newline + 1);
    Ok(Some(response))
}

fn malformed(line: &[u8]) -> ResponseError {
    ResponseError::Malformed(Bytes::copy_from_slice(line))
}

/// A `VALUE <key> <flags> <bytes> [<cas unique>]` line, parsed.
struct ValueHeader {
    key: (usize, usize),
    flags: u32,
    len: u64,
    cas: u64,
}

/// `rest` follows `VALUE `; the key range is relative to the whole line.
fn parse_value_header(rest: &[u8]) -> Option<ValueHeader> {
    let mut fields = rest.split(|&b| b == b' ');
    let key = fields.next().filter(|k| !k.is_empty())?;
    let flags = decimal(fields.next()?)?;
    let len = decimal(fields.next()?)?;
    let cas = match fields.next() {
        Some(c) => decimal(c)?,
        None => 0,
    };
    if fields.next().is_some() {
        return None;
    }
    let start = b"VALUE ".len();
    Some(ValueHeader {
        key: (start, start + key.len()),
        flags: u32::try_from(flags).ok()?,
        len,
        cas,
    })
}

/// Slices a whole `VALUE` frame off `buf` once it is complete.
fn value_frame(
    buf: &mut BytesMut,
    header: ValueHeader,
    line_len: usize,
    limits: &Limits,
) -> Result<Option<Response>, ResponseError> {
    let len = match usize::try_from(header.len) {
        Ok(len) if len <= limits.max_value_len => len,
        _ => return Err(ResponseError::ValueTooLarge(header.len)),
    };
    let total = line_len + len + 2;
    if buf.len() < total {
        buf.reserve(total - buf.len());
        return Ok(None);
    }
    if &buf[total - 2..total] != b"\r\n" {
        return Err(ResponseError::BadDataChunk);
    }
    let line = buf.split_to(line_len).freeze();
    let data = buf.split_to(len).freeze();
    buf.advance(2);
    let key = Key(line.slice(header.key.0..header.key.1));
    Ok(Some(Response::Value(Value {
        key,
        flags: header.flags,
        cas: header.cas,
        data,
    })))
}

/// Unsigned decimal digits only, as memcached writes numbers.
fn decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Every reply line but `VALUE`.
fn parse_line(line: &[u8]) -> Option<Response> {
    let fixed = match line {
        b"END" => Some(Response::End),
        b"STORED" => Some(Response::Stored { cas: 0 }),
        b"NOT_STORED" => Some(Response::NotStored),
        b"EXISTS" => Some(Response::Exists),
        b"NOT_FOUND" => Some(Response::NotFound),
        b"DELETED" => Some(Response::Deleted),
        b"TOUCHED" => Some(Response::Touched { cas: 0 }),
        b"OK" => Some(Response::Ok),
        b"RESET" => Some(Response::Reset),
        b"ERROR" => Some(Response::Error(ErrorKind::UnknownCommand)),
        b"CLIENT_ERROR" => Some(Response::Error(ErrorKind::Client(Bytes::new()))),
        b"SERVER_ERROR" => Some(Response::Error(ErrorKind::Server(Bytes::new()))),
        _ => None,
    };
    if fixed.is_some() {
        return fixed;
    }
    let text = |rest: &[u8]| Bytes::copy_from_slice(rest);
    if let Some(msg) = line.strip_prefix(b"CLIENT_ERROR ") {
        return Some(Response::Error(ErrorKind::Client(text(msg))));
    }
    if let Some(msg) = line.strip_prefix(b"SERVER_ERROR ") {
        return Some(Response::Error(ErrorKind::Server(text(msg))));
    }
    if line.starts_with(b"ERROR ") || line.starts_with(b"ERROR:") {
        // e.g. `ERROR: shutdown not enabled`
        return Some(Response::Error(ErrorKind::UnknownCommand));
    }
    if let Some(v) = line.strip_prefix(b"VERSION ") {
        return Some(Response::Version(text(v)));
    }
    if let Some(stat) = line.strip_prefix(b"STAT ") {
        let (name, value) = match stat.iter().position(|&b| b == b' ') {
            Some(i) => (&stat[..i], &stat[i + 1..]),
            None => (stat, &[][..]),
        };
        return Some(Response::Stat {
            name: text(name),
            value: text(value),
        });
    }
    // incr/decr: the new value, digits only.
    let value = decimal(line)?;
    Some(Response::Numeric { value, cas: 0 })
}
