//! The binary memcached protocol (memcached `protocol_binary.h`, and
//! `proto_bin.c` of memcached 1.6.18 for behaviour), in all four directions:
//! decode and encode requests, decode and encode responses.
//!
//! Layers:
//! - raw frames: [`Header`], [`Packet`], [`decode_packet`], [`encode_packet`]
//!   (zero-copy `Bytes` slices of the read buffer).
//! - [`RequestDecoder`]: a server's view of a client stream. It reproduces
//!   memcached 1.6.18's validation, replies and connection closes byte for
//!   byte (see its docs), and never buffers more than one limit-checked frame.
//! - [`encode_request`], [`decode_response`], [`encode_response`],
//!   [`is_suppressed`]: the model <-> wire mapping.
//!
//! Where the model and the wire do not match one to one (documented on each
//! function): `GetKind::Gets/Gats` encode like `Get/Gat` (binary always
//! returns the CAS); `StoreMode::Cas` encodes as SET with a header CAS and
//! decodes back as `Set`; a NOOP reply decodes as [`Response::End`] (it ends
//! a run of GETKQs the way ascii `END` ends a multi-get).

mod encode;
mod frame;
pub mod fuzz;
pub mod opcode;
mod request;
mod response;

#[cfg(test)]
mod tests;

use bytes::Bytes;

use crate::model::{Command, Key, Request, Response, Status};

pub use encode::{encode_request, EncodeError};
pub use frame::{decode_packet, encode_packet, FrameError, Header, Packet};
pub use request::RequestDecoder;
pub use response::{decode_response, encode_response, is_suppressed};

/// Length of every packet header.
pub const HEADER_LEN: usize = 24;
/// Magic byte of a request.
pub const REQUEST_MAGIC: u8 = 0x80;
/// Magic byte of a response.
pub const RESPONSE_MAGIC: u8 = 0x81;

/// Which request a response answers: its opcode (quiet/K variant included)
/// and opaque, plus the key a K-variant miss echoes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyTo {
    /// The request's opcode, echoed in the reply.
    pub opcode: u8,
    /// The request's opaque, echoed in the reply.
    pub opaque: u32,
    /// The key of a GETK/GETKQ/GATK/GATKQ request (empty otherwise):
    /// memcached echoes it in a miss (status Not found, the key as the only
    /// body, no text).
    pub key: Key,
}

impl ReplyTo {
    /// A reply target with no key (everything but K-variant gets).
    pub fn new(opcode: u8, opaque: u32) -> ReplyTo {
        ReplyTo {
            opcode,
            opaque,
            key: Key(Bytes::new()),
        }
    }

    /// The target of the replies to `req`, with the opcode [`encode_request`]
    /// uses for it (for a multi-key get, that of one of its keys).
    pub fn of(req: &Request) -> ReplyTo {
        let key = match &req.command {
            Command::Get(g) if g.with_key => g.keys.first().cloned(),
            _ => None,
        };
        ReplyTo {
            opcode: encode::request_opcode(req),
            opaque: req.opaque,
            key: key.unwrap_or(Key(Bytes::new())),
        }
    }
}

/// One step of a server-side request stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A well-formed request.
    Request(Request),
    /// Bad input consumed; write this reply if Some.
    Invalid(Option<(ReplyTo, Response)>),
    /// A SET/ADD/REPLACE/APPEND/PREPEND (or quiet form) whose value is longer
    /// than `limits.max_value_len`: the decoder swallows the body without
    /// buffering it and returns the request with an EMPTY value so the server
    /// answers E2BIG (`Too large.`) and, for set, unlinks the old item
    /// (memcached does).
    TooLarge(Request),
}

/// The connection must be closed, after writing `reply` if there is one
/// (memcached: bad magic closes silently; inconsistent lengths answer
/// Unknown command, bad arguments Invalid arguments, then close).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseConnection {
    /// Last words, if any.
    pub reply: Option<(ReplyTo, Response)>,
}

/// memcached's error text for a status (`write_bin_error` in proto_bin.c);
/// empty for statuses it has no text for.
pub fn status_message(status: Status) -> &'static str {
    match status {
        Status::KeyNotFound => "Not found",
        Status::KeyExists => "Data exists for key.",
        Status::ValueTooLarge => "Too large.",
        Status::InvalidArguments => "Invalid arguments",
        Status::ItemNotStored => "Not stored.",
        Status::NonNumeric => "Non-numeric server-side value for incr or decr",
        Status::AuthError => "Auth failure.",
        Status::UnknownCommand => "Unknown command",
        Status::OutOfMemory => "Out of memory",
        _ => "",
    }
}

/// `Response::Status` with memcached's text for `status`.
pub fn status_response(status: Status) -> Response {
    Response::Status {
        status,
        message: Bytes::from_static(status_message(status).as_bytes()),
    }
}
