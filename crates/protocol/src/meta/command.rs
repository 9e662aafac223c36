//! What one meta command line means, with memcached 1.6.18's checks in its
//! order (`process_mget_command`, `process_mset_command`,
//! `process_mdelete_command`, `process_marithmetic_command`,
//! `process_meta_command`).

use bytes::Bytes;

use super::flags::{self, FlagError, Options, BAD_FORMAT};
use super::{Decoded, Flag, MetaCommand, MetaRequest, MetaResponse};
use crate::ascii::line::Line;
use crate::ascii::number::safe_strtol;
use crate::model::{ErrorKind, Key, Limits, MAX_KEY_LEN};

/// memcached `MFLAG_MAX_OPT_LENGTH`: more tokens (counting its terminal
/// token) than this are refused.
const MAX_OPT_TOKENS: usize = 20;

/// memcached `MFLAG_MAX_OPAQUE_LENGTH`, counting the `O`.
pub(super) const MAX_OPAQUE_LEN: usize = 32;

/// An `ms` header waiting for its data block.
#[derive(Debug)]
pub(super) struct PendingSet {
    /// The request with an empty value.
    pub req: MetaRequest,
    /// Declared `datalen`, already checked against the limit.
    pub len: usize,
}

/// What the framing layer does after a meta line.
pub(super) enum Step {
    /// Return this.
    Done(Decoded),
    /// Read a data block next.
    Data(PendingSet),
    /// Return `decoded`, then discard `bytes` bytes.
    Swallow { decoded: Decoded, bytes: usize },
}

fn invalid(msg: &'static str) -> Step {
    Step::Done(Decoded::Invalid(MetaResponse::client_error(msg)))
}

/// Interprets one meta line; `command` was read from its first token.
pub(super) fn parse(line: &Line, command: MetaCommand, limits: &Limits) -> Step {
    match command {
        MetaCommand::Noop => Step::Done(Decoded::Meta(MetaRequest {
            command,
            key: Key(Bytes::new()),
            flags: Vec::new(),
            options: Options::default(),
            value: Bytes::new(),
        })),
        MetaCommand::Debug => debug(line),
        MetaCommand::Set => set(line, limits),
        _ => keyed(line, command),
    }
}

/// `me <key> [b]`: no flag checks at all, only `b` right after the key.
fn debug(line: &Line) -> Step {
    if line.ntokens() < 3 || line.tok(1).len() > MAX_KEY_LEN {
        return invalid(BAD_FORMAT);
    }
    let mut key = line.key(1).0;
    let mut options = Options::default();
    let mut flags = Vec::new();
    if line.ntokens() >= 4 && line.tok(2) == b"b" {
        match super::base64_decode(&key) {
            Some(decoded) => key = Bytes::from(decoded),
            None => return invalid(BAD_FORMAT),
        }
        options.base64 = true;
        flags.push(Flag(Bytes::from_static(b"b")));
    }
    Step::Done(Decoded::Meta(MetaRequest {
        command: MetaCommand::Debug,
        key: Key(key),
        flags,
        options,
        value: Bytes::new(),
    }))
}

/// The flag tokens from `first` on, sliced from the line.
fn flag_tokens(line: &Line, first: usize) -> Vec<Flag> {
    (first..line.n)
        .map(|i| {
            let (a, b) = line.toks[i];
            Flag(line.bytes.slice(a..b))
        })
        .collect()
}

/// Parses `flags` for `key`, returning the decoded key and options.
fn options(flags: &[Flag], key: &mut Bytes) -> Result<Options, FlagError> {
    let toks: Vec<&[u8]> = flags.iter().map(|f| &f.0[..]).collect();
    flags::parse(&toks, key)
}

fn long_opaque(flags: &[Flag]) -> bool {
    flags
        .iter()
        .any(|f| f.kind() == b'O' && f.0.len() > MAX_OPAQUE_LEN)
}

/// mg, md, ma: `<cmd> <key> <flags>*`.
fn keyed(line: &Line, command: MetaCommand) -> Step {
    if line.ntokens() < 3 {
        return Step::Done(Decoded::Invalid(MetaResponse::Error(
            ErrorKind::UnknownCommand,
        )));
    }
    if line.tok(1).len() > MAX_KEY_LEN {
        return invalid(BAD_FORMAT);
    }
    if line.ntokens() > MAX_OPT_TOKENS {
        return invalid(match command {
            MetaCommand::Get => "options flags are too long",
            _ => "options flags too long",
        });
    }
    let flags = flag_tokens(line, 2);
    let mut key = line.key(1).0;
    let mut options = match options(&flags, &mut key) {
        Ok(o) => o,
        Err(e) if command == MetaCommand::Get => return invalid(e.message()),
        Err(_) => return invalid("invalid or duplicate flag"),
    };
    let arith_modes = [b'I', b'+', b'D', b'-'];
    if command == MetaCommand::Arith && options.mode.is_some_and(|m| !arith_modes.contains(&m)) {
        return invalid("invalid mode for ma M token");
    }
    if long_opaque(&flags) {
        // mg and ma act on the flags before the O token and only then
        // refuse it; md refuses it before doing anything.
        if command == MetaCommand::Delete {
            return invalid("opaque token too long");
        }
        options.long_opaque = true;
    }
    Step::Done(Decoded::Meta(MetaRequest {
        command,
        key: Key(key),
        flags,
        options,
        value: Bytes::new(),
    }))
}

/// `ms <key> <datalen> <flags>*` then a data block.
fn set(line: &Line, limits: &Limits) -> Step {
    let n = line.ntokens();
    if n < 3 {
        return Step::Done(Decoded::Invalid(MetaResponse::Error(
            ErrorKind::UnknownCommand,
        )));
    }
    if line.tok(1).len() > MAX_KEY_LEN || n == 3 {
        return invalid(BAD_FORMAT);
    }
    if n > MAX_OPT_TOKENS {
        return invalid("options flags too long");
    }
    let len = match safe_strtol(line.tok(2)) {
        Some(len) if (0..=i32::MAX - 2).contains(&len) => len as usize,
        _ => return invalid(BAD_FORMAT),
    };
    // From here on an error swallows the data block (memcached `conn_swallow`).
    let swallow = |msg: &'static str| Step::Swallow {
        decoded: Decoded::Invalid(MetaResponse::client_error(msg)),
        bytes: len + 2,
    };
    let flags = flag_tokens(line, 3);
    let mut key = line.key(1).0;
    let options = match options(&flags, &mut key) {
        Ok(o) => o,
        Err(e) => return swallow(e.message()),
    };
    if options
        .mode
        .is_some_and(|m| !matches!(m, b'E' | b'A' | b'P' | b'R' | b'S'))
    {
        return swallow("invalid mode for ms M token");
    }
    if long_opaque(&flags) {
        return swallow("opaque token too long");
    }
    let req = MetaRequest {
        command: MetaCommand::Set,
        key: Key(key),
        flags,
        options,
        value: Bytes::new(),
    };
    if len > limits.max_value_len {
        return Step::Swallow {
            decoded: Decoded::TooLarge(req),
            bytes: len + 2,
        };
    }
    Step::Data(PendingSet { req, len })
}
