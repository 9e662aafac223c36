//! Readable renderings of transcripts and a comparison that explains the
//! first difference instead of dumping two byte vectors.

use crate::frames::{self, ResponseFrame};
use crate::normalize::{ascii_records, normalize, stat_names};
use std::fmt::Write as _;

/// Longest data shown in full when rendering; longer data is abbreviated.
const SHOW_MAX: usize = 160;

/// Escapes bytes for display: printable ASCII as is, `\r` `\n` `\t` `\\`,
/// everything else as `\xHH`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out
}

/// Like [`escape_bytes`], abbreviating long input as `first bytes...(N bytes)`.
pub fn escape_short(bytes: &[u8]) -> String {
    if bytes.len() <= SHOW_MAX {
        return escape_bytes(bytes);
    }
    format!("{}...({} bytes)", escape_bytes(&bytes[..64]), bytes.len())
}

/// One display line per reply unit of a transcript: ascii records (line plus
/// its data block) or binary frames.
pub fn render_records(transcript: &[u8], binary: bool) -> Vec<String> {
    if !binary {
        return ascii_records(transcript)
            .iter()
            .map(|r| {
                let mut s = escape_bytes(r.line);
                if let Some(d) = r.data {
                    s.push_str(&escape_short(d));
                }
                s
            })
            .collect();
    }
    let mut out = Vec::new();
    let mut rest = transcript;
    while let Some((frame, used)) = frames::parse_response(rest) {
        out.push(describe_frame(&frame));
        rest = &rest[used..];
    }
    if !rest.is_empty() {
        out.push(format!("garbage \"{}\"", escape_short(rest)));
    }
    out
}

/// One line for a binary response frame, e.g.
/// `getk status=ok opaque=7 cas=1 extras=00000005 key="a" value="x"`.
/// Corpus `# expect:` directives of binary conversations match against
/// these lines.
pub fn describe_frame(frame: &ResponseFrame<'_>) -> String {
    let op = frames::opcode_name(frame.opcode)
        .map_or_else(|| format!("0x{:02x}", frame.opcode), str::to_owned);
    let status = frames::status_name(frame.status)
        .map_or_else(|| format!("0x{:04x}", frame.status), str::to_owned);
    let mut s = format!(
        "{op} status={status} opaque={} cas={}",
        frame.opaque, frame.cas
    );
    if frame.magic != frames::RESPONSE_MAGIC {
        let _ = write!(s, " magic=0x{:02x}", frame.magic);
    }
    if frame.datatype != 0 {
        let _ = write!(s, " datatype={}", frame.datatype);
    }
    if !frame.extras.is_empty() {
        s.push_str(" extras=");
        for b in frame.extras {
            let _ = write!(s, "{b:02x}");
        }
    }
    if !frame.key.is_empty() {
        let _ = write!(s, " key=\"{}\"", escape_short(frame.key));
    }
    if !frame.value.is_empty() {
        let _ = write!(s, " value=\"{}\"", escape_short(frame.value));
    }
    s
}

/// A whole transcript as text, one record per line (see [`render_records`]).
pub fn render(transcript: &[u8], binary: bool) -> String {
    let mut out = String::new();
    for line in render_records(transcript, binary) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Compares two raw transcripts after normalization. `None` when equal;
/// otherwise a message naming the first differing record with context and,
/// when stat names differ, which names are missing or extra.
pub fn first_difference(reference: &[u8], candidate: &[u8], binary: bool) -> Option<String> {
    let (a, b) = (normalize(reference, binary), normalize(candidate, binary));
    if a == b {
        return None;
    }
    let ra = render_records(&a, binary);
    let rb = render_records(&b, binary);
    let at = ra
        .iter()
        .zip(&rb)
        .position(|(x, y)| x != y)
        .unwrap_or(ra.len().min(rb.len()));
    let mut msg = format!(
        "normalized transcripts differ at record {at} (reference has {} records/{} bytes, candidate {} records/{} bytes)\n",
        ra.len(), a.len(), rb.len(), b.len()
    );
    for (i, line) in ra.iter().enumerate().take(at).skip(at.saturating_sub(3)) {
        let _ = writeln!(msg, "  same      [{i}] {line}");
    }
    for (label, recs) in [("reference", &ra), ("candidate", &rb)] {
        for (i, line) in recs.iter().enumerate().skip(at).take(3) {
            let _ = writeln!(msg, "  {label} [{i}] {line}");
        }
        if recs.len() <= at {
            let _ = writeln!(msg, "  {label} [{at}] <end of transcript>");
        }
    }
    append_stat_name_diff(&mut msg, reference, candidate);
    Some(msg)
}

fn append_stat_name_diff(msg: &mut String, reference: &[u8], candidate: &[u8]) {
    let (na, nb) = (stat_names(reference), stat_names(candidate));
    if na == nb {
        return;
    }
    let missing: Vec<&String> = na.iter().filter(|n| !nb.contains(n)).collect();
    let extra: Vec<&String> = nb.iter().filter(|n| !na.contains(n)).collect();
    let _ = writeln!(
        msg,
        "  stat names differ: missing {missing:?}, extra {extra:?}{}",
        if missing.is_empty() && extra.is_empty() {
            " (same names, different order)"
        } else {
            ""
        }
    );
}

/// Panics with [`first_difference`]'s message when the normalized
/// transcripts differ. `name` identifies the conversation.
pub fn assert_same_transcript(name: &str, reference: &[u8], candidate: &[u8], binary: bool) {
    if let Some(diff) = first_difference(reference, candidate, binary) {
        panic!("conversation {name}: {diff}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_bytes() {
        assert_eq!(
            escape_bytes(b"a\r\n\t\\\x00\xff"),
            "a\\r\\n\\t\\\\\\x00\\xff"
        );
        assert!(escape_short(&[b'x'; 500]).ends_with("...(500 bytes)"));
    }

    #[test]
    fn equal_after_masking_is_no_difference() {
        let a = b"VALUE a 0 1 5\r\nx\r\nEND\r\n";
        let b = b"VALUE a 0 1 9\r\nx\r\nEND\r\n";
        assert_eq!(first_difference(a, b, false), None);
    }

    #[test]
    fn reports_first_differing_record_and_stat_names() {
        let a = b"STORED\r\nSTAT pid 1\r\nSTAT uptime 2\r\nEND\r\n";
        let b = b"STORED\r\nSTAT pid 1\r\nEND\r\n";
        let msg = first_difference(a, b, false).expect("differs");
        assert!(msg.contains("record 2"), "{msg}");
        assert!(msg.contains("missing [\"uptime\"]"), "{msg}");
    }

    #[test]
    fn describes_binary_frames() {
        let mut wire = Vec::new();
        ResponseFrame {
            magic: frames::RESPONSE_MAGIC,
            opcode: 0x02,
            datatype: 0,
            status: 2,
            opaque: 9,
            cas: 0,
            extras: &[],
            key: &[],
            value: b"Data exists for key.",
        }
        .encode_into(&mut wire);
        wire.push(0x42);
        let text = render(&wire, true);
        assert_eq!(
            text,
            "add status=key_exists opaque=9 cas=0 value=\"Data exists for key.\"\ngarbage \"B\"\n"
        );
    }
}
