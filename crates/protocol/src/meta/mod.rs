//! The meta text protocol (`mg ms md ma mn me`), in all four directions, as
//! memcached 1.6.18 speaks it (protocol.txt, "Meta Commands" and the
//! sections after it; memcached `proto_text.c` `process_m*_command` and
//! `_meta_flag_preparse`; every error reply checked against a running
//! 1.6.18).
//!
//! - [`RequestDecoder`] reads a text connection where classic ascii lines
//!   and meta lines mix, as memcached's one text parser does: ascii lines go
//!   to [`crate::ascii`]'s decoder, meta lines are parsed here;
//! - [`encode_request`] writes a [`MetaRequest`];
//! - [`decode_response`] parses one meta reply (`VA HD EN NF NS EX MN ME`
//!   or an error line);
//! - [`encode_response`] writes a [`MetaResponse`] as memcached does.
//!
//! # Why a meta-specific model
//! A meta request is a key plus an ordered list of one-letter flags, and
//! the reply echoes some of them in the order they were asked (`O`, `k`,
//! `c`, `f`, `t`, ...). Stale items, win tokens, vivify-on-miss, recache
//! times and base64 keys have no place in [`crate::model::Request`], and
//! squeezing them in would give every ascii and binary request fields that
//! only meta reads. So meta has its own [`MetaRequest`] (the flags kept as
//! sent, plus their parsed [`Options`]) and [`MetaResponse`]; errors reuse
//! the model's [`ErrorKind`]. A translation to the classic model (the
//! proxy's meta-to-binary path) is a function over these types, not a
//! second parser.
//!
//! # Framing and limits (memcached `process_command_ascii`)
//! - A command line is framed and tokenized as an ascii line (see
//!   [`crate::ascii`]): at most 2048 bytes, split on spaces, at most 23
//!   tokens read. A meta command is a first token of exactly two bytes,
//!   `m` then `g s d a n e`; `mx` and the like are ascii's `ERROR`.
//! - At most 19 tokens (memcached `ntokens > MFLAG_MAX_OPT_LENGTH`):
//!   `CLIENT_ERROR options flags are too long` (mg) or `... flags too long`.
//! - A key token over 250 bytes is `CLIENT_ERROR bad command line format`.
//!   With `b` the key is base64 decoded (memcached's decoder, which skips
//!   bytes outside the alphabet), so the stored key is shorter still.
//! - Flags: one token each, told apart by their first byte; a repeated
//!   first byte is `CLIENT_ERROR duplicate flag`, an unknown one
//!   `CLIENT_ERROR invalid flag` (md and ma say `invalid or duplicate flag`
//!   for every flag error). An opaque over 32 bytes is
//!   `CLIENT_ERROR opaque token too long`: ms and md are refused here, mg
//!   and ma are decoded with [`Options::long_opaque`] set, since memcached
//!   acts on their earlier flags before it refuses the opaque.
//! - `ms <key> <datalen>` reads a data block of `datalen` bytes plus
//!   `\r\n`. A flag error after `datalen` was read swallows the data block;
//!   errors before it (bad key, bad `datalen`) do not, as in memcached.
//! - Meta errors are written even with `q` (memcached `out_errstring`).
//!
//! # Versions
//! The decoder knows the flags of memcached 1.6.18 only. Later versions
//! added `E` (explicit CAS) and `x` (md: remove the value); 1.6.18 answers
//! them `CLIENT_ERROR invalid flag`, and so does this decoder, since the
//! embedded server must answer as 1.6.18. [`Flag`] can still carry them for
//! a caller that builds requests for a newer server.

mod admin;
mod base64;
mod command;
mod encode;
mod flags;
pub mod fuzz;
mod request;
mod response;

#[cfg(test)]
mod tests;

pub use admin::{
    encode_admin_reply, Admin, Automove, ShutdownMode, INVALID_SHUTDOWN_MODE, MEMLIMIT_NOT_BYTES,
    MEMLIMIT_TOO_SMALL, SHUTDOWN_NOT_ENABLED,
};
pub use base64::{base64_decode, base64_encode};
pub use encode::{encode_request, encode_response, EncodeError};
pub use flags::Options;
pub use request::RequestDecoder;
pub use response::{decode_response, ResponseError};

use bytes::Bytes;

use crate::model::{ErrorKind, Key};

/// Which meta command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetaCommand {
    /// `mg`: meta get.
    Get,
    /// `ms`: meta set (with a data block).
    Set,
    /// `md`: meta delete.
    Delete,
    /// `ma`: meta arithmetic.
    Arith,
    /// `mn`: meta no-op, answered `MN` (ends a quiet pipeline).
    Noop,
    /// `me`: meta debug.
    Debug,
}

impl MetaCommand {
    /// The two bytes on the wire.
    pub fn name(self) -> &'static [u8] {
        match self {
            MetaCommand::Get => b"mg",
            MetaCommand::Set => b"ms",
            MetaCommand::Delete => b"md",
            MetaCommand::Arith => b"ma",
            MetaCommand::Noop => b"mn",
            MetaCommand::Debug => b"me",
        }
    }

    /// The command named by a first token, if it is a meta command.
    pub fn from_name(token: &[u8]) -> Option<MetaCommand> {
        Some(match token {
            b"mg" => MetaCommand::Get,
            b"ms" => MetaCommand::Set,
            b"md" => MetaCommand::Delete,
            b"ma" => MetaCommand::Arith,
            b"mn" => MetaCommand::Noop,
            b"me" => MetaCommand::Debug,
            _ => return None,
        })
    }
}

/// One flag token as sent: its first byte says which flag, the rest is its
/// argument (`T30`, `Oabc`, `v`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Flag(pub Bytes);

impl Flag {
    /// A flag from its letter and argument.
    pub fn new(kind: u8, arg: &[u8]) -> Flag {
        let mut v = Vec::with_capacity(1 + arg.len());
        v.push(kind);
        v.extend_from_slice(arg);
        Flag(Bytes::from(v))
    }

    /// The flag letter (0 for an empty token, which the wire cannot carry).
    pub fn kind(&self) -> u8 {
        self.0.first().copied().unwrap_or(0)
    }

    /// The argument after the letter.
    pub fn arg(&self) -> &[u8] {
        self.0.get(1..).unwrap_or(&[])
    }
}

impl std::fmt::Debug for Flag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Flag({:?})", String::from_utf8_lossy(&self.0))
    }
}

/// A meta request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaRequest {
    /// Which command.
    pub command: MetaCommand,
    /// The key as stored: base64-decoded when `options.base64`. Empty for `mn`.
    pub key: Key,
    /// The flag tokens in request order (`mn` and `me` keep none).
    pub flags: Vec<Flag>,
    /// What the flags mean, parsed once.
    pub options: Options,
    /// `ms` only: the data block (empty for other commands).
    pub value: Bytes,
}

/// One step of decoding a text connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A classic ascii line (or its error), exactly as [`crate::ascii`] decodes it.
    Ascii(crate::ascii::Decoded),
    /// A well-formed meta request.
    Meta(MetaRequest),
    /// An `ms` whose `datalen` is over
    /// [`Limits::max_value_len`](crate::model::Limits::max_value_len): its data
    /// block was swallowed, `value` is empty. memcached answers
    /// `SERVER_ERROR object too large for cache` and unlinks the key.
    TooLarge(MetaRequest),
    /// Bad meta input was consumed; write this reply (meta errors are never
    /// silenced by `q`).
    Invalid(MetaResponse),
    /// An admin command the server answers itself (`shutdown`, `cache_memlimit`).
    Admin(Admin),
}

/// The status word of a meta reply line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetaStatus {
    /// `HD`: success, no value.
    Stored,
    /// `EN`: mg miss.
    Miss,
    /// `NF`: not found (md, ma, ms in replace/append mode with CAS).
    NotFound,
    /// `NS`: not stored.
    NotStored,
    /// `EX`: CAS mismatch.
    Exists,
}

impl MetaStatus {
    /// The two bytes on the wire.
    pub fn code(self) -> &'static [u8] {
        match self {
            MetaStatus::Stored => b"HD",
            MetaStatus::Miss => b"EN",
            MetaStatus::NotFound => b"NF",
            MetaStatus::NotStored => b"NS",
            MetaStatus::Exists => b"EX",
        }
    }
}

/// One meta reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetaResponse {
    /// `VA <size> <flags>*` then the data block.
    Value {
        /// Returned flags in order (`f0`, `t-1`, `Oabc`, `W`, ...).
        flags: Vec<Flag>,
        /// The value.
        data: Bytes,
    },
    /// `HD`, `EN`, `NF`, `NS` or `EX` with returned flags.
    Status {
        /// The status word.
        status: MetaStatus,
        /// Returned flags in order.
        flags: Vec<Flag>,
    },
    /// `MN`.
    Noop,
    /// `ME <key> <info>`: meta debug, `info` as the server wrote it
    /// (`exp=-1 la=0 cas=2 fetch=no cls=1 size=63`).
    Debug {
        /// The key (base64 for binary keys).
        key: Bytes,
        /// Everything after the key.
        info: Bytes,
    },
    /// `ERROR`, `CLIENT_ERROR ...`, `SERVER_ERROR ...`.
    Error(ErrorKind),
}

impl MetaResponse {
    /// `CLIENT_ERROR <msg>`.
    pub fn client_error(msg: &'static str) -> MetaResponse {
        MetaResponse::Error(ErrorKind::Client(Bytes::from_static(msg.as_bytes())))
    }

    /// `SERVER_ERROR <msg>`.
    pub fn server_error(msg: &'static str) -> MetaResponse {
        MetaResponse::Error(ErrorKind::Server(Bytes::from_static(msg.as_bytes())))
    }
}
