//! One ascii command line as memcached 1.6.18 sees it (`try_read_command_ascii`
//! and `tokenize_command`): the line ending dropped, a C string, tokens
//! split on spaces only.

use bytes::Bytes;

use crate::model::Key;

/// memcached tokenizes at most this many tokens at once (its `MAX_TOKENS`
/// of 24 counts a terminal token); argument counts are checked on these.
pub(crate) const MAX_TOKENS: usize = 23;

/// Lines up to this long are tokenized with a plain loop.
const SHORT_LINE: usize = 256;

/// One command line, tokenized as memcached does: split on spaces only,
/// at most [`MAX_TOKENS`] tokens.
pub(crate) struct Line {
    /// The line without its ending, cut at the first NUL.
    pub bytes: Bytes,
    /// Start and end of the first tokens in `bytes`.
    pub toks: [(usize, usize); MAX_TOKENS],
    /// How many tokens are in `toks`.
    pub n: usize,
}

impl Line {
    /// `raw` ends with `\n`. One `\r` before it goes when the line holds at
    /// least two bytes; a NUL byte ends the C string memcached parses.
    pub fn new(mut raw: Bytes) -> Line {
        let mut end = raw.len().saturating_sub(1);
        if end > 1 && raw[end - 1] == b'\r' {
            end -= 1;
        }
        let mut toks = [(0, 0); MAX_TOKENS];
        let mut n = 0;
        if end <= SHORT_LINE {
            // Most lines (a get, a set) are short: one pass finds the NUL
            // and the tokens, where vectorised searches cost more to start
            // than they save.
            let mut start = None;
            let mut i = 0;
            while i < end {
                match raw[i] {
                    0 => break,
                    b' ' => {
                        if let Some(a) = start.take() {
                            if n < MAX_TOKENS {
                                toks[n] = (a, i);
                                n += 1;
                            }
                        }
                    }
                    _ if start.is_none() => start = Some(i),
                    _ => {}
                }
                i += 1;
            }
            end = i;
            if let Some(a) = start {
                if n < MAX_TOKENS {
                    toks[n] = (a, end);
                    n += 1;
                }
            }
        } else {
            if let Some(nul) = memchr::memchr(0, &raw[..end]) {
                end = nul;
            }
            for range in token_ranges(&raw[..end], 0).take(MAX_TOKENS) {
                toks[n] = range;
                n += 1;
            }
        }
        raw.truncate(end);
        Line {
            bytes: raw,
            toks,
            n,
        }
    }

    /// Every token when there are fewer than [`MAX_TOKENS`] (then `toks`
    /// holds them all); `None` when the line may hold more.
    pub fn all_tokens(&self) -> Option<&[(usize, usize)]> {
        (self.n < MAX_TOKENS).then(|| &self.toks[..self.n])
    }

    /// memcached's `ntokens`: the tokens plus its terminal token.
    pub fn ntokens(&self) -> usize {
        self.n + 1
    }

    /// Token `i`, empty when absent.
    pub fn tok(&self, i: usize) -> &[u8] {
        if i < self.n {
            let (a, b) = self.toks[i];
            &self.bytes[a..b]
        } else {
            &[]
        }
    }

    /// Token `i` as a key sliced from the line.
    pub fn key(&self, i: usize) -> Key {
        let (a, b) = self.toks[i.min(MAX_TOKENS - 1)];
        Key(self.bytes.slice(a..b))
    }

    /// memcached `set_noreply_maybe`: the last token is `noreply`.
    pub fn noreply(&self) -> bool {
        self.n > 0 && self.tok(self.n - 1) == b"noreply"
    }
}

/// Start and end of each space-separated token of `s` from `from` on.
pub(crate) fn token_ranges(s: &[u8], from: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut i = from;
    std::iter::from_fn(move || {
        while i < s.len() && s[i] == b' ' {
            i += 1;
        }
        if i >= s.len() {
            return None;
        }
        let start = i;
        // Tokens are long (keys): find their end with a vectorised search.
        i = memchr::memchr(b' ', &s[start..]).map_or(s.len(), |n| start + n);
        Some((start, i))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &str) -> Line {
        Line::new(Bytes::copy_from_slice(s.as_bytes()))
    }

    fn toks(l: &Line) -> Vec<&[u8]> {
        (0..l.n).map(|i| l.tok(i)).collect()
    }

    #[test]
    fn short_and_long_lines_tokenize_alike() {
        for body in [
            "get a".to_string(),
            "  get   a  b ".to_string(),
            "set k 0 0 1 noreply".to_string(),
            format!("get {}", "k ".repeat(200)),
            format!("get {} x", "k".repeat(300)),
            (0..40)
                .map(|i| format!("t{i}"))
                .collect::<Vec<_>>()
                .join(" "),
        ] {
            let l = line(&format!("{body}\r\n"));
            let want: Vec<&[u8]> = body
                .split(' ')
                .filter(|t| !t.is_empty())
                .take(MAX_TOKENS)
                .map(str::as_bytes)
                .collect();
            assert_eq!(toks(&l), want, "{body:?}");
            assert_eq!(&l.bytes[..], body.as_bytes());
            let every = body.split(' ').filter(|t| !t.is_empty()).count();
            assert_eq!(l.all_tokens().is_some(), every < MAX_TOKENS, "{body:?}");
        }
    }

    /// memcached's reading: cut at the first NUL, split on spaces.
    fn reference(body: &[u8]) -> (Vec<&[u8]>, &[u8]) {
        let end = body.iter().position(|&b| b == 0).unwrap_or(body.len());
        let toks = body[..end]
            .split(|&b| b == b' ')
            .filter(|t| !t.is_empty())
            .take(MAX_TOKENS)
            .collect();
        (toks, &body[..end])
    }

    #[test]
    fn the_tokenizer_matches_a_plain_split_at_every_length() {
        // Every short length and those around the short-line limit, with
        // spaces, NULs and bytes with the high bit set in every position.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let alphabet = [b' ', b' ', b'a', b'b', 0, 0x80, 0xa0, 0xff, b'\r'];
        for len in (0..40).chain(250..262) {
            for _ in 0..200 {
                let body: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        alphabet[(seed % alphabet.len() as u64) as usize]
                    })
                    .collect();
                let mut raw = body.clone();
                raw.extend_from_slice(b"\n");
                let l = Line::new(Bytes::from(raw));
                // One `\r` before the `\n` goes (when the line holds two bytes).
                let kept = match body.split_last() {
                    Some((b'\r', rest)) if body.len() > 1 => rest,
                    _ => &body[..],
                };
                let (want, cut) = reference(kept);
                assert_eq!((toks(&l), &l.bytes[..]), (want, cut), "{body:?}");
            }
        }
    }

    #[test]
    fn a_nul_ends_the_line_and_a_lone_cr_stays() {
        let l = line("get a\0b c\r\n");
        assert_eq!(
            (toks(&l), &l.bytes[..]),
            (vec![&b"get"[..], b"a"], &b"get a"[..])
        );
        let long = format!("get {}\0 rest\r\n", "k".repeat(300));
        assert_eq!(line(&long).n, 2);
        assert_eq!(&line("\r\n").bytes[..], b"\r");
    }
}
