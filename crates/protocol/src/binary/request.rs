//! Server-side request decoding, reproducing memcached 1.6.18
//! (`try_read_command_binary` and `dispatch_bin_command` in proto_bin.c);
//! the rules are on [`RequestDecoder`].

use bytes::{Buf, Bytes, BytesMut};

use super::opcode::{classify, Op};
use super::{encode::has_store_extras, REQUEST_MAGIC};
use super::{status_response, CloseConnection, Decoded, Header, ReplyTo, HEADER_LEN};
use crate::model::MAX_KEY_LEN;
use crate::model::{Arith, Command, Get, GetKind, Key, Limits, Request, Status, Store};

/// Decodes a client's binary request stream the way memcached 1.6.18 does.
///
/// Every decision is taken from the 24-byte header alone, in memcached's
/// order, so nothing beyond one limit-checked frame is ever buffered:
/// 1. magic not 0x80: close, no reply;
/// 2. key + extras longer than the body: `Unknown command`, close;
/// 3. key longer than 250: `Invalid arguments`, close;
/// 4. unknown opcode: `Unknown command`, connection kept; memcached then
///    discards `body_len` bytes counted *after* extras and key, over-reading
///    the next frame by extras + key bytes. Reproduced.
/// 5. lengths that do not fit the opcode: `Invalid arguments`, close;
/// 6. a value longer than `max_value_len`: [`Decoded::TooLarge`] (stores) or
///    `Out of memory` (SASL data); the value is discarded as it arrives.
///
/// STAT, TOUCH and GAT* do not check the body length: memcached consumes
/// only extras and key, and whatever body follows is read as the next frame.
/// Reproduced too. VERBOSITY is unknown to 1.6.18 and decoded as an unknown
/// opcode, as memcached does (the encoder can still write it).
///
/// Quiet forms set `Request::quiet`; the data type byte is ignored.
#[derive(Clone, Debug)]
pub struct RequestDecoder {
    limits: Limits,
    /// Bytes still to discard (a too-large value, or an unknown opcode's body).
    swallow: u64,
}

/// How much of a frame a request consumes.
enum Extent {
    /// Header, extras and key; any further body is left for the next frame.
    ExtrasAndKey,
    /// The whole declared body (a value follows the key).
    WholeBody,
}

impl RequestDecoder {
    /// A decoder enforcing `limits` (`max_value_len` bounds values).
    pub fn new(limits: Limits) -> Self {
        RequestDecoder { limits, swallow: 0 }
    }

    /// Bytes the decoder has still to discard before the next frame.
    pub fn pending_swallow(&self) -> u64 {
        self.swallow
    }

    /// Decodes the next step from `buf`. `Ok(None)`: more bytes are needed
    /// (everything usable has been consumed). `Err`: write the reply, if any,
    /// and close the connection.
    // The Ok side (a whole `Request`) is as large as the Err side; boxing the
    // rare close would only add an allocation.
    #[allow(clippy::result_large_err)]
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, CloseConnection> {
        if !self.discard(buf) {
            return Ok(None);
        }
        let Some(h) = Header::peek(buf) else {
            return Ok(None);
        };
        let to = ReplyTo::new(h.opcode, h.opaque);
        if h.magic != REQUEST_MAGIC {
            return Err(CloseConnection { reply: None });
        }
        if h.ext_key_len() > h.body() {
            return Err(close_with(to, Status::UnknownCommand));
        }
        if usize::from(h.key_len) > MAX_KEY_LEN {
            return Err(close_with(to, Status::InvalidArguments));
        }
        // memcached 1.6 dropped VERBOSITY: it is an unknown opcode there too.
        let known = classify(h.opcode).filter(|(op, _)| !matches!(op, Op::Verbosity));
        let Some((op, quiet)) = known else {
            buf.advance(HEADER_LEN);
            self.swallow = h.ext_key_len() as u64 + u64::from(h.body_len);
            self.discard(buf);
            return Ok(Some(Decoded::Invalid(Some((
                to,
                status_response(Status::UnknownCommand),
            )))));
        };
        let Some(extent) = shape(op, &h) else {
            return Err(close_with(to, Status::InvalidArguments));
        };
        let value_len = h.body() - h.ext_key_len();
        if matches!(extent, Extent::WholeBody) && value_len > self.limits.max_value_len {
            return Ok(self.too_large(buf, &h, op, quiet));
        }
        let consumed = match extent {
            Extent::ExtrasAndKey => h.ext_key_len(),
            Extent::WholeBody => h.body(),
        };
        if buf.len() < HEADER_LEN + consumed {
            buf.reserve(HEADER_LEN + consumed - buf.len());
            return Ok(None);
        }
        buf.advance(HEADER_LEN);
        let mut frame = buf.split_to(consumed);
        let extras = frame.split_to(usize::from(h.extras_len)).freeze();
        let key = frame.split_to(usize::from(h.key_len)).freeze();
        let value = match extent {
            Extent::ExtrasAndKey => Bytes::new(),
            Extent::WholeBody => frame.freeze(),
        };
        // A SET/ADD/REPLACE with a CAS keeps its mode (never StoreMode::Cas).
        let command = build(op, &h, &extras, key, value);
        Ok(Some(Decoded::Request(request(command, quiet, &h))))
    }

    /// Drops swallowed bytes; true when none remain to drop.
    fn discard(&mut self, buf: &mut BytesMut) -> bool {
        if self.swallow > 0 {
            let n = usize::try_from(self.swallow)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            buf.advance(n);
            self.swallow -= n as u64;
        }
        self.swallow == 0
    }

    /// A value over the limit: take header, extras and key, swallow the value.
    fn too_large(
        &mut self,
        buf: &mut BytesMut,
        h: &Header,
        op: Op,
        quiet: bool,
    ) -> Option<Decoded> {
        let head = HEADER_LEN + h.ext_key_len();
        if buf.len() < head {
            return None;
        }
        buf.advance(HEADER_LEN);
        let extras = buf.split_to(usize::from(h.extras_len)).freeze();
        let key = buf.split_to(usize::from(h.key_len)).freeze();
        self.swallow = (h.body() - h.ext_key_len()) as u64;
        self.discard(buf);
        let req = request(build(op, h, &extras, key, Bytes::new()), quiet, h);
        Some(match op {
            Op::Store(_) => Decoded::TooLarge(req),
            // memcached's SASL path fails the item allocation: ENOMEM.
            _ => Decoded::Invalid(Some((
                ReplyTo::new(h.opcode, h.opaque),
                status_response(Status::OutOfMemory),
            ))),
        })
    }
}

fn close_with(to: ReplyTo, status: Status) -> CloseConnection {
    CloseConnection {
        reply: Some((to, status_response(status))),
    }
}

fn request(command: Command, quiet: bool, h: &Header) -> Request {
    Request {
        command,
        quiet,
        opaque: h.opaque,
        vbucket: h.vbucket_or_status,
    }
}

/// memcached's per-opcode length rules; `None` is a protocol error.
fn shape(op: Op, h: &Header) -> Option<Extent> {
    let (ext, key, body) = (usize::from(h.extras_len), usize::from(h.key_len), h.body());
    let exact = body == ext + key;
    let ok = match op {
        Op::Get { touch: false, .. } | Op::Delete => ext == 0 && key > 0 && exact,
        Op::Get { touch: true, .. } | Op::Touch => ext == 4 && key > 0,
        Op::Store(mode) if has_store_extras(mode) => ext == 8 && key > 0,
        Op::Store(_) => ext == 0 && key > 0,
        Op::Arith { .. } => ext == 20 && key > 0 && exact,
        Op::Quit | Op::Noop | Op::Version | Op::SaslListMechs => body == 0,
        Op::Flush => key == 0 && exact && (ext == 0 || ext == 4),
        Op::Stat => ext == 0,
        // Not in memcached 1.6.18 (Unknown command there); 1.4's rule.
        Op::Verbosity => ext == 4 && key == 0 && exact,
        Op::SaslAuth | Op::SaslStep => ext == 0 && key > 0,
    };
    let extent = match op {
        Op::Get { touch: true, .. } | Op::Touch | Op::Stat => Extent::ExtrasAndKey,
        _ => Extent::WholeBody,
    };
    ok.then_some(extent)
}

/// Big-endian u32 at `at` in `extras` (lengths were validated by `shape`).
fn be32(extras: &[u8], at: usize) -> u32 {
    extras
        .get(at..at + 4)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be64(extras: &[u8], at: usize) -> u64 {
    (u64::from(be32(extras, at)) << 32) | u64::from(be32(extras, at + 4))
}

/// The model command for a validated frame.
fn build(op: Op, h: &Header, extras: &[u8], key: Bytes, value: Bytes) -> Command {
    match op {
        Op::Get { touch, with_key } => Command::Get(Get {
            kind: if touch { GetKind::Gat } else { GetKind::Get },
            keys: Key(key).into(),
            exptime: if touch { i64::from(be32(extras, 0)) } else { 0 },
            with_key,
        }),
        Op::Touch => Command::Touch {
            key: Key(key),
            exptime: i64::from(be32(extras, 0)),
        },
        Op::Store(mode) => {
            let with_extras = has_store_extras(mode);
            Command::Store(Store {
                mode,
                key: Key(key),
                flags: if with_extras { be32(extras, 0) } else { 0 },
                exptime: if with_extras {
                    i64::from(be32(extras, 4))
                } else {
                    0
                },
                value,
                cas: h.cas,
            })
        }
        Op::Delete => Command::Delete {
            key: Key(key),
            cas: h.cas,
        },
        Op::Arith { incr } => Command::Arith(Arith {
            incr,
            key: Key(key),
            delta: be64(extras, 0),
            initial: be64(extras, 8),
            exptime: i64::from(be32(extras, 16)),
            cas: h.cas,
        }),
        Op::Quit => Command::Quit,
        Op::Flush => Command::FlushAll {
            delay: i64::from(be32(extras, 0)),
        },
        Op::Noop => Command::Noop,
        Op::Version => Command::Version,
        Op::Stat => Command::Stats { group: key },
        Op::Verbosity => Command::Verbosity {
            level: be32(extras, 0),
        },
        Op::SaslListMechs => Command::SaslListMechs,
        Op::SaslAuth => Command::SaslAuth {
            mechanism: key,
            data: value,
        },
        Op::SaslStep => Command::SaslStep {
            mechanism: key,
            data: value,
        },
    }
}
