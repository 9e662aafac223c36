//! Masking the parts of a transcript that legitimately differ between two
//! correct servers, so the rest can be compared byte for byte.
//!
//! Rules (the only differences the differential test forgives):
//!
//! * ascii `VALUE <key> <flags> <bytes> <cas>`: the CAS token becomes `*`.
//!   The data block is skipped by its declared length, so data that looks
//!   like a `VALUE`/`STAT`/`VERSION` line is never touched.
//! * ascii meta `VA <bytes> <flags>...`: a `c<cas>` flag becomes `c*`; the
//!   data block is skipped by length as for `VALUE`. The same for the flags
//!   of `HD`, `EN`, `NF`, `NS` and `EX` lines (`c0` stays); in an `ME` line `cas=<n>`
//!   becomes `cas=*`.
//! * ascii `STAT <name> <value...>`: everything after the name becomes `*`
//!   (the names and their order are compared).
//! * ascii `VERSION <x>`: becomes `VERSION *`.
//! * binary responses: a non-zero CAS header becomes 1 (zero stays zero, so
//!   a server that forgets to return a CAS is still caught); the value of a
//!   `stat` response with a non-empty key, and the body of a successful
//!   `version` response, become `*` (body length adjusted).
//!
//! Anything that does not parse (a truncated reply, garbage, a frame with a
//! bad magic) is kept verbatim from that point on.

use crate::frames::{self, ResponseFrame};

/// The mask written in place of a varying field.
pub const MASK: &[u8] = b"*";

const OPCODE_STAT: u8 = 0x10;
const OPCODE_VERSION: u8 = 0x0b;

/// One reply unit of an ascii transcript: a line (with its terminator), and
/// for `VALUE`/`VA` lines the data block that follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsciiRecord<'a> {
    /// The line, terminator included (or the unterminated rest).
    pub line: &'a [u8],
    /// The data block with its `\r\n`, for `VALUE`/`VA` lines.
    pub data: Option<&'a [u8]>,
}

/// Splits an ascii transcript into records. A `VALUE`/`VA` line whose data
/// block is cut short yields the line alone and then the rest as one record.
pub fn ascii_records(mut buf: &[u8]) -> Vec<AsciiRecord<'_>> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let line_len = buf
            .iter()
            .position(|&b| b == b'\n')
            .map_or(buf.len(), |i| i + 1);
        let (line, rest) = buf.split_at(line_len);
        let data_len = data_block_len(line).filter(|&n| n <= rest.len());
        let (data, rest) = match data_len {
            Some(n) => {
                let (d, r) = rest.split_at(n);
                (Some(d), r)
            }
            None => (None, rest),
        };
        out.push(AsciiRecord { line, data });
        buf = rest;
    }
    out
}

/// For a `VALUE <k> <f> <n> [<cas>]` or `VA <n> ...` line, `n + 2`.
fn data_block_len(line: &[u8]) -> Option<usize> {
    let text = trim_eol(line);
    let tokens: Vec<&[u8]> = text.split(|&b| b == b' ').collect();
    let len_token = match tokens.first().copied() {
        Some(b"VALUE") if tokens.len() == 4 || tokens.len() == 5 => tokens[3],
        Some(b"VA") if tokens.len() >= 2 => tokens[1],
        _ => return None,
    };
    let n: usize = std::str::from_utf8(len_token).ok()?.parse().ok()?;
    n.checked_add(2)
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn eol(line: &[u8]) -> &[u8] {
    &line[trim_eol(line).len()..]
}

/// Masks CAS, stat values and the version in an ascii transcript (see the
/// module documentation for the exact rules).
pub fn normalize_ascii(transcript: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(transcript.len());
    for record in ascii_records(transcript) {
        mask_ascii_line(record.line, &mut out);
        if let Some(data) = record.data {
            out.extend_from_slice(data);
        }
    }
    out
}

fn mask_ascii_line(line: &[u8], out: &mut Vec<u8>) {
    let text = trim_eol(line);
    let tokens: Vec<&[u8]> = text.split(|&b| b == b' ').collect();
    match tokens.first().copied() {
        Some(b"VALUE") if tokens.len() == 5 && data_block_len(line).is_some() => {
            out.extend_from_slice(&tokens[..4].join(&b' '));
            out.push(b' ');
            out.extend_from_slice(MASK);
        }
        Some(b"VA") if data_block_len(line).is_some() => mask_meta_cas(&tokens, out),
        Some(b"HD" | b"EN" | b"NF" | b"NS" | b"EX") => mask_meta_cas(&tokens, out),
        Some(b"ME") => {
            let masked: Vec<&[u8]> = tokens
                .iter()
                .map(|t| {
                    if t.starts_with(b"cas=") {
                        b"cas=*".as_slice()
                    } else {
                        t
                    }
                })
                .collect();
            out.extend_from_slice(&masked.join(&b' '));
        }
        Some(b"STAT") if tokens.len() >= 3 => {
            out.extend_from_slice(b"STAT ");
            out.extend_from_slice(tokens[1]);
            out.push(b' ');
            out.extend_from_slice(MASK);
        }
        Some(b"VERSION") if tokens.len() >= 2 => {
            out.extend_from_slice(b"VERSION ");
            out.extend_from_slice(MASK);
        }
        _ => out.extend_from_slice(text),
    }
    out.extend_from_slice(eol(line));
}

/// A meta reply line with its `c<cas>` flag as `c*` (`c0`, what a failed
/// `ms` returns, stays, so a server that forgets it is caught).
fn mask_meta_cas(tokens: &[&[u8]], out: &mut Vec<u8>) {
    let masked: Vec<&[u8]> = tokens
        .iter()
        .map(|t| {
            if is_cas_flag(t) && *t != b"c0" {
                b"c*".as_slice()
            } else {
                t
            }
        })
        .collect();
    out.extend_from_slice(&masked.join(&b' '));
}

fn is_cas_flag(token: &[u8]) -> bool {
    token.len() > 1 && token[0] == b'c' && token[1..].iter().all(u8::is_ascii_digit)
}

/// Masks CAS headers, stat values and version bodies in a binary transcript
/// (see the module documentation for the exact rules).
pub fn normalize_binary(transcript: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(transcript.len());
    let mut rest = transcript;
    while let Some((mut frame, used)) = frames::parse_response(rest) {
        mask_frame(&mut frame);
        frame.encode_into(&mut out);
        rest = &rest[used..];
    }
    out.extend_from_slice(rest);
    out
}

fn mask_frame(frame: &mut ResponseFrame<'_>) {
    if frame.cas != 0 {
        frame.cas = 1;
    }
    let is_stat_line = frame.opcode == OPCODE_STAT && !frame.key.is_empty();
    let is_version = frame.opcode == OPCODE_VERSION && frame.status == 0;
    if is_stat_line || is_version {
        frame.value = MASK;
    }
}

/// Normalizes with [`normalize_binary`] or [`normalize_ascii`].
pub fn normalize(transcript: &[u8], binary: bool) -> Vec<u8> {
    if binary {
        normalize_binary(transcript)
    } else {
        normalize_ascii(transcript)
    }
}

/// The stat names in a transcript, in order: from ascii `STAT <name> ...`
/// lines, or from binary `stat` responses with a non-empty key (a transcript
/// starting with the response magic 0x81 is read as binary).
pub fn stat_names(transcript: &[u8]) -> Vec<String> {
    if transcript.first() == Some(&frames::RESPONSE_MAGIC) {
        let mut names = Vec::new();
        let mut rest = transcript;
        while let Some((frame, used)) = frames::parse_response(rest) {
            if frame.opcode == OPCODE_STAT && !frame.key.is_empty() {
                names.push(String::from_utf8_lossy(frame.key).into_owned());
            }
            rest = &rest[used..];
        }
        return names;
    }
    ascii_records(transcript)
        .iter()
        .filter_map(|r| trim_eol(r.line).strip_prefix(b"STAT "))
        .map(|l| l.split(|&b| b == b' ').next().unwrap_or_default())
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::RESPONSE_MAGIC;

    #[test]
    fn masks_cas_stat_and_version_lines() {
        let raw = b"VALUE a 0 1 42\r\nx\r\nEND\r\nSTAT pid 123\r\nSTAT version 1.6 x\r\nEND\r\nVERSION 1.6.18\r\n";
        let want =
            b"VALUE a 0 1 *\r\nx\r\nEND\r\nSTAT pid *\r\nSTAT version *\r\nEND\r\nVERSION *\r\n";
        assert_eq!(normalize_ascii(raw), want.to_vec());
    }

    #[test]
    fn data_that_looks_like_a_reply_is_untouched() {
        let raw = b"VALUE k 0 13 7\r\nSTAT pid 123\r\n\r\nVALUE k 0 9\r\nVERSION 1\r\nEND\r\n";
        let want = b"VALUE k 0 13 *\r\nSTAT pid 123\r\n\r\nVALUE k 0 9\r\nVERSION 1\r\nEND\r\n";
        assert_eq!(normalize_ascii(raw), want.to_vec());
    }

    #[test]
    fn keeps_gets_without_cas_and_truncated_data() {
        let raw = b"VALUE a 0 1\r\nx\r\nVALUE b 0 10 5\r\nabc";
        let recs = ascii_records(raw);
        assert_eq!(recs.len(), 3);
        assert_eq!(
            normalize_ascii(raw),
            b"VALUE a 0 1\r\nx\r\nVALUE b 0 10 *\r\nabc".to_vec()
        );
    }

    #[test]
    fn masks_meta_cas_flags() {
        let raw = b"VA 2 f0 c77 t-1\r\nhi\r\nHD c9\r\nEX Oc1 c0\r\nME k exp=-1 cas=5 x\r\n";
        assert_eq!(
            normalize_ascii(raw),
            b"VA 2 f0 c* t-1\r\nhi\r\nHD c*\r\nEX Oc1 c0\r\nME k exp=-1 cas=* x\r\n".to_vec()
        );
    }

    fn response(opcode: u8, key: &[u8], value: &[u8], cas: u64) -> Vec<u8> {
        let mut out = Vec::new();
        ResponseFrame {
            magic: RESPONSE_MAGIC,
            opcode,
            datatype: 0,
            status: 0,
            opaque: 3,
            cas,
            extras: &[],
            key,
            value,
        }
        .encode_into(&mut out);
        out
    }

    #[test]
    fn masks_binary_frames() {
        let mut raw = response(0x01, b"", b"", 77);
        raw.extend(response(OPCODE_STAT, b"pid", b"12345", 0));
        raw.extend(response(OPCODE_STAT, b"", b"", 0));
        raw.extend(response(OPCODE_VERSION, b"", b"1.6.18", 0));
        raw.extend_from_slice(b"\x80junk");
        let mut want = response(0x01, b"", b"", 1);
        want.extend(response(OPCODE_STAT, b"pid", b"*", 0));
        want.extend(response(OPCODE_STAT, b"", b"", 0));
        want.extend(response(OPCODE_VERSION, b"", b"*", 0));
        want.extend_from_slice(b"\x80junk");
        assert_eq!(normalize_binary(&raw), want);
        assert_eq!(stat_names(&raw), vec!["pid".to_owned()]);
    }

    #[test]
    fn lists_ascii_stat_names() {
        let raw = b"STAT pid 1\r\nSTAT uptime 2\r\nEND\r\n";
        assert_eq!(stat_names(raw), vec!["pid", "uptime"]);
    }
}
