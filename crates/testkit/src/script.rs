//! The text formats of the conversation corpus (documented in
//! `conversations/README.md`): escaped ascii lines and the binary request DSL.
//!
//! Both parsers turn one script line into [`Step`]s; directives and comments
//! are handled by the caller (`corpus`).

use crate::frames::{self, RequestFrame};

/// One thing the runner sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Bytes sent as they are (consecutive ones may be merged).
    Send(Vec<u8>),
    /// Bytes that need the CAS from the latest reply carrying one: the runner
    /// first waits for every reply so far (see `runner`), then sends.
    SendWithCas(CasTemplate),
}

/// A line or frame with a hole for a CAS value captured at run time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CasTemplate {
    /// An ascii line: `before`, the CAS in decimal, `after`.
    Ascii {
        /// Bytes before the CAS.
        before: Vec<u8>,
        /// Bytes after the CAS (usually ending in `\r\n`).
        after: Vec<u8>,
    },
    /// A binary request whose CAS header field is filled in.
    Binary(RequestFrame),
}

impl CasTemplate {
    /// The bytes to send once the CAS is known.
    pub fn fill(&self, cas: u64) -> Vec<u8> {
        match self {
            CasTemplate::Ascii { before, after } => {
                let mut out = before.clone();
                out.extend_from_slice(cas.to_string().as_bytes());
                out.extend_from_slice(after);
                out
            }
            CasTemplate::Binary(frame) => {
                let mut frame = frame.clone();
                frame.cas = cas;
                frame.to_bytes()
            }
        }
    }
}

/// The placeholder for a captured CAS.
pub const CAS_PLACEHOLDER: &str = "{cas}";

/// Decodes escapes: `\r \n \t \0 \s(space) \\ \# \{ \} \xHH`, and
/// `{TEXT*N}` (TEXT repeated N times, taken literally). `\c` is not allowed
/// here (see [`parse_ascii_line`]), nor is `{cas}`.
pub fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let (_, e) = chars.next().ok_or("dangling backslash at end of line")?;
                match e {
                    'r' => out.push(b'\r'),
                    'n' => out.push(b'\n'),
                    't' => out.push(b'\t'),
                    '0' => out.push(0),
                    's' => out.push(b' '),
                    '\\' | '#' | '{' | '}' => out.push(e as u8),
                    'x' => {
                        let hex: String = chars.by_ref().take(2).map(|(_, h)| h).collect();
                        let byte = u8::from_str_radix(&hex, 16)
                            .map_err(|_| format!("bad \\x escape \\x{hex}"))?;
                        out.push(byte);
                    }
                    other => return Err(format!("unknown escape \\{other}")),
                }
            }
            '{' => {
                let end = text[i..]
                    .find('}')
                    .ok_or("unclosed { (write \\{ for a literal brace)")?;
                let inner = &text[i + 1..i + end];
                out.extend(repetition(inner)?);
                while chars.peek().is_some_and(|&(j, _)| j <= i + end) {
                    chars.next();
                }
            }
            _ => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Ok(out)
}

fn repetition(inner: &str) -> Result<Vec<u8>, String> {
    let (text, count) = inner
        .rsplit_once('*')
        .ok_or_else(|| format!("{{{inner}}} is not {{TEXT*N}} (write \\{{ for a literal brace)"))?;
    let n: usize = count
        .parse()
        .map_err(|_| format!("bad repeat count in {{{inner}}}"))?;
    if text.is_empty() || n > 16 << 20 {
        return Err(format!("bad repetition {{{inner}}}"));
    }
    Ok(text.as_bytes().repeat(n))
}

/// Parses one ascii script line: escapes decoded, `\r\n` appended unless the
/// line ends with `\c`. A line may hold one `{cas}`.
pub fn parse_ascii_line(line: &str) -> Result<Step, String> {
    // `\c` counts only if its backslash is not itself escaped.
    let (body, crlf) = match line.strip_suffix("\\c") {
        Some(b) if b.bytes().rev().take_while(|&c| c == b'\\').count() % 2 == 0 => (b, false),
        _ => (line, true),
    };
    let eol: &[u8] = if crlf { b"\r\n" } else { b"" };
    match body.split_once(CAS_PLACEHOLDER) {
        None => {
            let mut bytes = unescape(body)?;
            bytes.extend_from_slice(eol);
            Ok(Step::Send(bytes))
        }
        Some((before, after)) => {
            let mut after = unescape(after)?;
            after.extend_from_slice(eol);
            Ok(Step::SendWithCas(CasTemplate::Ascii {
                before: unescape(before)?,
                after,
            }))
        }
    }
}

/// Parses one binary script line: `req <opcode> [field=value]...`,
/// `raw <hex>` or `text <escaped bytes>`.
pub fn parse_binary_line(line: &str) -> Result<Step, String> {
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    match verb {
        "raw" => parse_hex(rest).map(Step::Send),
        "text" => unescape(rest).map(Step::Send),
        "req" => parse_request(rest),
        other => Err(format!(
            "unknown line type {other:?} (want req, raw or text)"
        )),
    }
}

fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'_')
        .collect();
    let pairs = digits.chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return Err("odd number of hex digits".into());
    }
    pairs
        .map(|pair| {
            let s = std::str::from_utf8(pair).map_err(|e| e.to_string())?;
            u8::from_str_radix(s, 16).map_err(|_| format!("bad hex byte {s:?}"))
        })
        .collect()
}

fn parse_request(text: &str) -> Result<Step, String> {
    let mut words = text.split_whitespace();
    let op = words.next().ok_or("req needs an opcode")?;
    let opcode = match frames::opcode_by_name(op) {
        Some(code) => code,
        None => number(op).map_err(|_| format!("unknown opcode {op:?}"))?,
    };
    let mut frame = RequestFrame::new(opcode);
    let mut wants_cas = false;
    for word in words {
        let (field, value) = word
            .split_once('=')
            .ok_or_else(|| format!("{word:?} is not field=value"))?;
        match field {
            "key" => frame.key = unescape(value)?,
            "value" => frame.value = unescape(value)?,
            "extras" => frame.extras = parse_extras(value)?,
            "opaque" => frame.opaque = number(value)?,
            "cas" if value == CAS_PLACEHOLDER => wants_cas = true,
            "cas" => frame.cas = number(value)?,
            "vbucket" => frame.vbucket = number(value)?,
            "datatype" => frame.datatype = number(value)?,
            "magic" => frame.magic = Some(number(value)?),
            "keylen" => frame.keylen = Some(number(value)?),
            "extlen" => frame.extlen = Some(number(value)?),
            "bodylen" => frame.bodylen = Some(number(value)?),
            other => return Err(format!("unknown field {other:?}")),
        }
    }
    Ok(if wants_cas {
        Step::SendWithCas(CasTemplate::Binary(frame))
    } else {
        Step::Send(frame.to_bytes())
    })
}

/// `flags:N,exptime:N,...`: each part `type:value` appended big-endian.
/// u32 types: flags, exptime, delay, level, u32; u64 types: delta, initial,
/// u64; also u8, u16, and `hex:HEX` for raw bytes.
fn parse_extras(spec: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for part in spec.split(',').filter(|p| !p.is_empty()) {
        let (kind, value) = part
            .split_once(':')
            .ok_or_else(|| format!("extras part {part:?} is not type:value"))?;
        match kind {
            "flags" | "exptime" | "delay" | "level" | "u32" => {
                out.extend_from_slice(&number::<u32>(value)?.to_be_bytes())
            }
            "delta" | "initial" | "u64" => {
                out.extend_from_slice(&number::<u64>(value)?.to_be_bytes())
            }
            "u16" => out.extend_from_slice(&number::<u16>(value)?.to_be_bytes()),
            "u8" => out.push(number(value)?),
            "hex" => out.extend(parse_hex(value)?),
            other => return Err(format!("unknown extras type {other:?}")),
        }
    }
    Ok(out)
}

/// Decimal or `0x` hexadecimal.
fn number<T: TryFrom<u64>>(text: &str) -> Result<T, String> {
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed
        .ok()
        .and_then(|v| T::try_from(v).ok())
        .ok_or_else(|| format!("bad number {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(step: Step) -> Vec<u8> {
        match step {
            Step::Send(b) => b,
            other => panic!("expected Send, got {other:?}"),
        }
    }

    #[test]
    fn ascii_lines_get_crlf_unless_cut() {
        assert_eq!(sent(parse_ascii_line("get a").unwrap()), b"get a\r\n");
        assert_eq!(sent(parse_ascii_line("get a\\n\\c").unwrap()), b"get a\n");
        assert_eq!(sent(parse_ascii_line("x\\\\c").unwrap()), b"x\\c\r\n");
        assert_eq!(sent(parse_ascii_line("\\r\\n\\c").unwrap()), b"\r\n");
    }

    #[test]
    fn escapes_and_repetition() {
        let got = unescape("a\\s\\t\\x00\\#\\{{xy*3}z").unwrap();
        assert_eq!(got, b"a \t\0#{xyxyxyz");
        assert_eq!(unescape("{x*1048577}").unwrap().len(), 1_048_577);
        assert!(unescape("{oops}").is_err());
        assert!(unescape("\\q").is_err());
    }

    #[test]
    fn cas_placeholder_in_ascii() {
        let step = parse_ascii_line("cas k 0 0 1 {cas}").unwrap();
        let Step::SendWithCas(t) = step else {
            panic!("expected template")
        };
        assert_eq!(t.fill(42), b"cas k 0 0 1 42\r\n");
    }

    #[test]
    fn binary_requests() {
        let bytes = sent(
            parse_binary_line("req set key=foo extras=flags:5,exptime:0 value=bar opaque=7")
                .unwrap(),
        );
        let mut want = RequestFrame::new(0x01);
        want.key = b"foo".to_vec();
        want.extras = vec![0, 0, 0, 5, 0, 0, 0, 0];
        want.value = b"bar".to_vec();
        want.opaque = 7;
        assert_eq!(bytes, want.to_bytes());
        assert_eq!(
            sent(parse_binary_line("raw 80 0a_00").unwrap()),
            vec![0x80, 0x0a, 0]
        );
        assert_eq!(
            sent(parse_binary_line("text get\\sa\\r\\n").unwrap()),
            b"get a\r\n"
        );
        let incr = sent(
            parse_binary_line("req incr key=n extras=delta:1,initial:0,exptime:0xffffffff")
                .unwrap(),
        );
        assert_eq!(incr.len(), 24 + 20 + 1);
        assert!(parse_binary_line("req bogus").is_err());
        assert!(parse_binary_line("req get key").is_err());
        assert!(matches!(
            parse_binary_line("req get key=a cas={cas}").unwrap(),
            Step::SendWithCas(CasTemplate::Binary(_))
        ));
    }
}
