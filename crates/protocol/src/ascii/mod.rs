//! The ascii (text) memcached protocol, in all four directions, as
//! memcached 1.6.18 speaks it (protocol.txt; behaviour checked against a
//! running 1.6.18).
//!
//! - [`RequestDecoder`] turns client bytes into [`Decoded`] requests, or into
//!   the exact error reply memcached writes for bad input;
//! - [`encode_request`] writes the canonical text form of a [`Request`];
//! - [`decode_response`] parses one reply frame from a downstream;
//! - [`encode_response`] writes a [`Response`] exactly as memcached does.
//!
//! This module owns ascii framing and its limits. It does no I/O and keeps no
//! item state: replies to valid requests are the server's business.
//!
//! # Framing rules (protocol.txt, "Commands"; memcached `try_read_command_ascii`)
//! - A command line ends at `\n`; one `\r` right before it is dropped when the
//!   line holds at least two bytes, so a bare `\n` is accepted.
//! - Tokens are separated by spaces only (tabs are part of a token), and a
//!   NUL byte ends the line for parsing (memcached works on C strings).
//! - Numbers follow C `strtol`/`strtoul` as memcached uses them: leading
//!   whitespace and a sign are accepted, a number may be followed by a tab or
//!   `\r` inside its token, and values are truncated to 32 bits where
//!   memcached stores them in 32 bits (`<flags>`, `<exptime>`, `<bytes>`).
//! - A data block is exactly `<bytes>` bytes then `\r\n`. When those two
//!   bytes are anything else, all `<bytes>+2` are consumed, the reply is
//!   `CLIENT_ERROR bad data chunk`, and what follows is parsed as a new line.
//! - `noreply` is recognised as the last token of the line and silences every
//!   reply of that command, errors included (memcached's `out_string`).
//!
//! # Bounds
//! - A line longer than [`Limits::max_line_len`] (at least 128) closes the
//!   connection unless it starts with `get ` or `gets ` after at most 100
//!   spaces, as memcached does when 2048 bytes arrive without a newline. We
//!   apply the rule to complete lines too, so the outcome never depends on how
//!   the bytes were split by the network.
//! - memcached lets a multi-get line grow without bound. We bound it to
//!   `max_keys * 251 + 128` bytes (a full line of maximal keys) and close the
//!   connection with `CLIENT_ERROR line too long` beyond that; a complete line
//!   with more than [`Limits::max_keys`] keys is answered with
//!   `CLIENT_ERROR too many keys`.
//! - A data block is buffered only after its declared length passed
//!   [`Limits::max_value_len`]; a larger one is swallowed as it arrives.
//!
//! # Not implemented
//! Meta commands (`mg ms md ma mn me`) are answered with `ERROR` here; a
//! text connection that speaks them is read by [`crate::meta::RequestDecoder`],
//! which hands every other line to this decoder (and reads the admin
//! commands `shutdown`, `cache_memlimit`, `slabs automove|reassign` and
//! `lru_crawler sleep|tocrawl` itself, for the embedded server). Here the
//! admin commands `shutdown`, `slabs`, `cache_memlimit`, `lru`,
//! `lru_crawler`, `watch`, `extstore` are answered with `ERROR`.
//!
//! [`Limits::max_line_len`]: crate::model::Limits::max_line_len
//! [`Limits::max_keys`]: crate::model::Limits::max_keys
//! [`Limits::max_value_len`]: crate::model::Limits::max_value_len

mod command;
mod encode;
pub mod fuzz;
pub(crate) mod line;
pub(crate) mod number;
pub(crate) mod request;
mod response;

#[cfg(test)]
mod tests;

pub use encode::{encode_request, encode_response, encode_value_parts};
pub use number::parse_u32;
pub use request::RequestDecoder;
pub use response::decode_response;

use crate::model::{Request, Response};

/// One step of request decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A well-formed request.
    Request(Request),
    /// Bad input was consumed; write this reply if `Some` (`None` when
    /// memcached stays silent, e.g. because of `noreply`).
    Invalid(Option<Response>),
    /// A storage command whose declared `<bytes>` exceeds
    /// [`Limits::max_value_len`](crate::model::Limits::max_value_len). The
    /// decoder swallows the data block itself (without buffering it) and
    /// returns the request with an EMPTY value, so the server can answer
    /// `SERVER_ERROR object too large for cache` and (memcached does this for
    /// `set`) unlink the old item. `quiet` reflects `noreply`.
    TooLarge(Request),
}

/// The connection must be closed (after writing `reply` if `Some`), e.g. a
/// line with no newline after 2048 bytes that is not a get, as memcached does.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("ascii connection must be closed")]
pub struct CloseConnection {
    /// What to write before closing, if anything.
    pub reply: Option<Response>,
}

/// Why a request has no ascii form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The command has no ascii form: NOOP, SASL, an incr/decr that creates
    /// the item, a delete/incr/decr/append/prepend/add carrying a CAS.
    #[error("command has no ascii form")]
    NotAscii,
    /// A key (or stats group) cannot be written in a command line: empty,
    /// longer than 250 bytes, holding a space or control byte; also a
    /// retrieval with no key at all.
    #[error("key cannot be written in an ascii command line")]
    BadKey,
}

/// A downstream reply that is not valid ascii protocol. The buffer is left
/// untouched; the connection to that downstream cannot be trusted any more.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// A line that is no known reply.
    #[error("malformed ascii reply line: {0:?}")]
    Malformed(bytes::Bytes),
    /// No newline within `max_line_len` bytes.
    #[error("ascii reply line longer than {0} bytes")]
    LineTooLong(usize),
    /// A `VALUE` larger than `max_value_len`.
    #[error("ascii VALUE of {0} bytes exceeds the item size limit")]
    ValueTooLarge(u64),
    /// A `VALUE` data block not followed by `\r\n`.
    #[error("ascii VALUE data block not terminated by \\r\\n")]
    BadDataChunk,
}
