//! What meta flags mean (protocol.txt, "Meta Get" and after; memcached
//! `_meta_flag_preparse`): one pass over the flag tokens, in order, with
//! memcached's error precedence.

use bytes::Bytes;

use super::base64::base64_decode;
use crate::ascii::number::{safe_strtol, safe_strtoul, safe_strtoull};

/// The flags of a meta request, parsed. Flags that only ask for something
/// to be returned (`k f t c s h l O`) are read from [`super::MetaRequest::flags`]
/// in order, since the reply lists them in request order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `b`: the key was base64 on the wire.
    pub base64: bool,
    /// `q`: noreply semantics for the nominal reply (EN for mg, HD for the others).
    pub quiet: bool,
    /// `v`: return the value.
    pub value: bool,
    /// `u`: do not bump the item in the LRU.
    pub no_bump: bool,
    /// `I`: invalidate (md: mark stale; ms: store stale if the CAS is older).
    pub invalidate: bool,
    /// `h` or `l` (or `T`, `N`, `R`): memcached reads the item locked and
    /// bumps it afterwards, so `h`/`l` see the state before this access.
    pub locked: bool,
    /// `N<ttl>`: vivify on miss with this TTL.
    pub vivify: Option<i32>,
    /// `T<ttl>`: new TTL.
    pub ttl: Option<i32>,
    /// `R<ttl>`: win the recache token if the remaining TTL is below this.
    pub recache: Option<i32>,
    /// `F<flags>`: client flags to store.
    pub client_flags: Option<u32>,
    /// `C<cas>`: compare CAS.
    pub compare_cas: Option<u64>,
    /// `M<mode>`: the mode byte (ms: `E A P R S`; ma: `I + D -`).
    pub mode: Option<u8>,
    /// `J<n>`: ma initial value on vivify.
    pub initial: Option<u64>,
    /// `D<n>`: ma delta.
    pub delta: Option<u64>,
    /// mg and ma only: the `O` token is over 32 bytes. memcached acts on
    /// the flags before it (vivify, TTL, the arithmetic itself) and then
    /// answers `CLIENT_ERROR opaque token too long` instead of its reply.
    pub long_opaque: bool,
}

/// Why the flags were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FlagError {
    /// A flag letter given twice (or a first byte of 127 and above).
    Duplicate,
    /// A letter 1.6.18 does not know.
    Invalid,
    /// A bad argument: memcached's message for it.
    Bad(&'static str),
}

impl FlagError {
    /// The message after `CLIENT_ERROR ` as mg and ms write it.
    pub(super) fn message(self) -> &'static str {
        match self {
            FlagError::Duplicate => "duplicate flag",
            FlagError::Invalid => "invalid flag",
            FlagError::Bad(msg) => msg,
        }
    }
}

pub(super) const BAD_FORMAT: &str = "bad command line format";
const BAD_TOKEN: &str = "bad token in command line format";

/// Parses `flags` in order as memcached does. `key` is replaced by its
/// base64 decoding when `b` is given (memcached decodes in place, so a bad
/// encoding leaves an empty key). Duplicate and unknown flags stop at once;
/// other errors are remembered (the last message wins) and parsing goes on.
pub(super) fn parse(flags: &[&[u8]], key: &mut Bytes) -> Result<Options, FlagError> {
    let mut o = Options::default();
    let mut seen = [false; 127];
    let mut error = None;
    for tok in flags {
        let kind = tok.first().copied().unwrap_or(0);
        let arg = tok.get(1..).unwrap_or(&[]);
        if kind >= 127 || seen[usize::from(kind)] {
            return Err(FlagError::Duplicate);
        }
        seen[usize::from(kind)] = true;
        let mut bad: Option<&'static str> = None;
        match kind {
            b'b' => {
                o.base64 = true;
                match base64_decode(key) {
                    Some(decoded) => *key = Bytes::from(decoded),
                    None => {
                        *key = Bytes::new();
                        bad = Some("error decoding key");
                    }
                }
            }
            b'N' | b'T' | b'R' => {
                o.locked = true;
                match (safe_strtol(arg), kind) {
                    (None, _) => bad = Some(BAD_TOKEN),
                    (ttl, b'N') => o.vivify = ttl,
                    (ttl, b'T') => o.ttl = ttl,
                    (ttl, _) => o.recache = ttl,
                }
            }
            b'l' | b'h' => o.locked = true,
            b'O' | b'P' | b'L' | b'k' | b's' | b't' | b'c' | b'f' => {}
            b'v' => o.value = true,
            b'u' => o.no_bump = true,
            b'q' => o.quiet = true,
            b'I' => o.invalidate = true,
            // memcached keeps its default message for a bad F.
            b'F' => match safe_strtoul(arg) {
                Some(f) => o.client_flags = Some(f),
                None => bad = Some(error.unwrap_or(BAD_FORMAT)),
            },
            b'C' => match safe_strtoull(arg) {
                Some(c) => o.compare_cas = Some(c),
                None => bad = Some(BAD_TOKEN),
            },
            b'M' => match arg {
                [mode] => o.mode = Some(*mode),
                _ => bad = Some("incorrect length for M token"),
            },
            b'J' => match safe_strtoull(arg) {
                Some(n) => o.initial = Some(n),
                None => bad = Some("invalid numeric initial value"),
            },
            b'D' => match safe_strtoull(arg) {
                Some(n) => o.delta = Some(n),
                None => bad = Some("invalid numeric delta value"),
            },
            _ => return Err(FlagError::Invalid),
        }
        if bad.is_some() {
            error = bad;
        }
    }
    match error {
        Some(msg) => Err(FlagError::Bad(msg)),
        None => Ok(o),
    }
}
