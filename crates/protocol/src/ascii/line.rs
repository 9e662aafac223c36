//! One ascii command line as memcached 1.6.18 sees it (`try_read_command_ascii`
//! and `tokenize_command`): the line ending dropped, a C string, tokens
//! split on spaces only.

use bytes::Bytes;

use crate::model::Key;

/// memcached tokenizes at most this many tokens at once (its `MAX_TOKENS`
/// of 24 counts a terminal token); argument counts are checked on these.
pub(super) const MAX_TOKENS: usize = 23;

/// One command line, tokenized as memcached does: split on spaces only,
/// at most [`MAX_TOKENS`] tokens.
pub(super) struct Line {
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
    pub fn new(raw: Bytes) -> Line {
        let mut end = raw.len().saturating_sub(1);
        if end > 1 && raw[end - 1] == b'\r' {
            end -= 1;
        }
        if let Some(nul) = memchr::memchr(0, &raw[..end]) {
            end = nul;
        }
        let bytes = raw.slice(..end);
        let mut toks = [(0, 0); MAX_TOKENS];
        let mut n = 0;
        for range in token_ranges(&bytes, 0).take(MAX_TOKENS) {
            toks[n] = range;
            n += 1;
        }
        Line { bytes, toks, n }
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
pub(super) fn token_ranges(s: &[u8], from: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
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
