//! Response encoding (a server answering, byte-exact with memcached 1.6.18)
//! and decoding (a proxy reading a binary downstream), plus the quiet rules.
//!
//! Shapes memcached writes (proto_bin.c, checked against a live 1.6.18):
//! - GET/GAT hit: 4-byte flags extras, key only for K variants, CAS in header;
//!   TOUCH hit: flags extras only (no value).
//! - GET/GAT/TOUCH miss: status 1 `Not found`; K variants: status 1 with the
//!   key (which is then the whole body), no text.
//! - store success: CAS in header, empty body; INCR/DECR: 8-byte value + CAS.
//! - STAT: key = name, value = value, ended by an all-empty STAT frame.
//! - errors: status + memcached's text, CAS 0.

use bytes::{Buf, Bytes, BytesMut};

use super::frame::{decode_packet, write_frame, Fields, Packet};
use super::opcode::{classify, Op};
use super::{status_message, FrameError, ReplyTo, RESPONSE_MAGIC};
use crate::model::{Command, ErrorKind, Key, Limits, Request, Response, Status, StoreMode, Value};

/// Room allowed beyond `max_value_len` in a response body (extras, a key of
/// up to 64 KiB). Nothing is reserved until a frame passes this check.
const RESPONSE_SLACK: usize = 64 * 1024 + 256;

/// Appends the reply frame for `resp` to the request `to` (see the module
/// docs for the shapes). `Response::End` is the miss for the GET family and
/// TOUCH, the empty terminating frame for STAT and the NOOP reply otherwise;
/// `Reset` is the empty STAT frame memcached sends for `stats reset`;
/// `Touched` carries flags 0 (send a `Value` to TOUCH to echo real flags).
/// A key or body too long for the length fields is cut to fit.
pub fn encode_response(to: ReplyTo, resp: &Response, out: &mut BytesMut) {
    let op = classify(to.opcode).map(|(op, _)| op);
    let mut f = Fields {
        magic: RESPONSE_MAGIC,
        opcode: to.opcode,
        data_type: 0,
        vbucket_or_status: 0,
        opaque: to.opaque,
        cas: 0,
    };
    let empty: &[u8] = &[];
    match resp {
        Response::Value(v) => {
            f.cas = v.cas;
            let flags = v.flags.to_be_bytes();
            match op {
                Some(Op::Touch) => write_frame(out, f, &flags, empty, empty),
                _ => write_frame(out, f, &flags, hit_key(op, &v.key), &v.data),
            }
        }
        Response::End | Response::NotFound if is_get_like(op) => miss(out, f, op, &to.key),
        Response::End | Response::Stored { .. } | Response::Deleted | Response::Ok => {
            f.cas = match resp {
                Response::Stored { cas } => *cas,
                _ => 0,
            };
            write_frame(out, f, empty, empty, empty);
        }
        Response::Reset => write_frame(out, f, empty, empty, empty),
        Response::Touched { cas } => {
            f.cas = *cas;
            write_frame(out, f, &0u32.to_be_bytes(), empty, empty);
        }
        Response::Numeric { value, cas } => {
            f.cas = *cas;
            write_frame(out, f, empty, empty, &value.to_be_bytes());
        }
        Response::Version(b) | Response::SaslMechs(b) | Response::SaslAuthenticated(b) => {
            write_frame(out, f, empty, empty, b);
        }
        Response::Stat { name, value } => write_frame(out, f, empty, name, value),
        Response::NotStored => error(out, f, not_stored_status(op), None),
        Response::Exists => error(out, f, Status::KeyExists, None),
        Response::NotFound => error(out, f, Status::KeyNotFound, None),
        Response::Error(ErrorKind::UnknownCommand) => error(out, f, Status::UnknownCommand, None),
        Response::Error(ErrorKind::Client(m)) => error(out, f, Status::InvalidArguments, Some(m)),
        Response::Error(ErrorKind::Server(m)) => error(out, f, Status::InternalError, Some(m)),
        Response::Status { status, message } => error(out, f, *status, Some(message)),
    }
}

/// True for opcodes whose miss is a Not found frame: GET family and TOUCH.
fn is_get_like(op: Option<Op>) -> bool {
    matches!(op, Some(Op::Get { .. } | Op::Touch))
}

fn is_k_variant(op: Option<Op>) -> bool {
    matches!(op, Some(Op::Get { with_key: true, .. }))
}

fn hit_key(op: Option<Op>, key: &Key) -> &[u8] {
    if is_k_variant(op) {
        key.as_bytes()
    } else {
        &[]
    }
}

/// memcached `write_bin_miss_response`: K variants echo the key (the whole
/// body), no text.
fn miss(out: &mut BytesMut, mut f: Fields, op: Option<Op>, key: &Key) {
    if is_k_variant(op) && !key.is_empty() {
        f.vbucket_or_status = Status::KeyNotFound as u16;
        write_frame(out, f, &[], key.as_bytes(), &[]);
    } else {
        error(out, f, Status::KeyNotFound, None);
    }
}

/// NOT_STORED is reported as EEXISTS by ADD and ENOENT by REPLACE
/// (`complete_update_bin`).
fn not_stored_status(op: Option<Op>) -> Status {
    match op {
        Some(Op::Store(StoreMode::Add)) => Status::KeyExists,
        Some(Op::Store(StoreMode::Replace)) => Status::KeyNotFound,
        _ => Status::ItemNotStored,
    }
}

/// An error frame: status, text as body (memcached's text if none given).
fn error(out: &mut BytesMut, mut f: Fields, status: Status, text: Option<&Bytes>) {
    f.vbucket_or_status = status as u16;
    let text = text.map_or(status_message(status).as_bytes(), |t| t.as_ref());
    write_frame(out, f, &[], &[], text);
}

/// Decodes one reply frame from a downstream: which request it answers and
/// what it says. The inverse of [`encode_response`] up to what the wire
/// cannot tell apart: ADD's EEXISTS and REPLACE's ENOENT decode as
/// `NotStored`; a NOOP reply as `End`; ENOENT to the GET family and TOUCH as
/// `End` (the key of a K-variant miss goes to `ReplyTo::key`); EINVAL as
/// `Error(Client(text))`, 0x0084 as `Error(Server(text))`, 0x0081 with
/// memcached's text as `Error(UnknownCommand)`; other failures as
/// `Response::Status` with their text.
pub fn decode_response(
    buf: &mut BytesMut,
    limits: &Limits,
) -> Result<Option<(ReplyTo, Response)>, FrameError> {
    let max = limits.max_value_len.saturating_add(RESPONSE_SLACK);
    let Some(p) = decode_packet(buf, RESPONSE_MAGIC, max)? else {
        return Ok(None);
    };
    let h = p.header;
    let op = classify(h.opcode).map(|(op, _)| op);
    let mut to = ReplyTo::new(h.opcode, h.opaque);
    let frame_key = p.key.clone();
    let Some(status) = Status::from_u16(h.vbucket_or_status) else {
        return Err(FrameError::UnknownStatus {
            opcode: h.opcode,
            status: h.vbucket_or_status,
        });
    };
    let resp = match status {
        Status::NoError => success(op, p)?,
        Status::KeyNotFound if is_get_like(op) => Response::End,
        Status::KeyNotFound if op == Some(Op::Store(StoreMode::Replace)) => Response::NotStored,
        Status::KeyNotFound => Response::NotFound,
        Status::KeyExists if op == Some(Op::Store(StoreMode::Add)) => Response::NotStored,
        Status::KeyExists => Response::Exists,
        Status::ItemNotStored => Response::NotStored,
        Status::InvalidArguments => Response::Error(ErrorKind::Client(p.value)),
        Status::InternalError => Response::Error(ErrorKind::Server(p.value)),
        Status::UnknownCommand if p.value == status_message(status).as_bytes() => {
            Response::Error(ErrorKind::UnknownCommand)
        }
        _ => Response::Status {
            status,
            message: p.value,
        },
    };
    // A K-variant hit or miss names its key; nothing else does.
    if is_k_variant(op) && matches!(resp, Response::End | Response::Value(_)) {
        to.key = Key(frame_key);
    }
    Ok(Some((to, resp)))
}

/// A status-0 frame by opcode.
fn success(op: Option<Op>, p: Packet) -> Result<Response, FrameError> {
    let opcode = p.header.opcode;
    let cas = p.header.cas;
    Ok(match op {
        Some(Op::Get { .. }) => {
            let flags = flags_of(&p)?;
            let key = if is_k_variant(op) {
                p.key
            } else {
                Bytes::new()
            };
            Response::Value(Value {
                key: Key(key),
                flags,
                cas,
                data: p.value,
            })
        }
        Some(Op::Touch) => Response::Touched { cas },
        Some(Op::Store(_)) => Response::Stored { cas },
        Some(Op::Delete) => Response::Deleted,
        Some(Op::Arith { .. }) => {
            let mut v = p.value.as_ref();
            if v.len() != 8 {
                return Err(FrameError::Malformed {
                    opcode,
                    what: "incr/decr value is not 8 bytes",
                });
            }
            Response::Numeric {
                value: v.get_u64(),
                cas,
            }
        }
        Some(Op::Quit | Op::Flush | Op::Verbosity) => Response::Ok,
        Some(Op::Noop) => Response::End,
        Some(Op::Stat) if p.key.is_empty() && p.value.is_empty() => Response::End,
        Some(Op::Stat) => Response::Stat {
            name: p.key,
            value: p.value,
        },
        Some(Op::Version) => Response::Version(p.value),
        Some(Op::SaslListMechs) => Response::SaslMechs(p.value),
        Some(Op::SaslAuth | Op::SaslStep) => Response::SaslAuthenticated(p.value),
        None => Response::Status {
            status: Status::NoError,
            message: p.value,
        },
    })
}

fn flags_of(p: &Packet) -> Result<u32, FrameError> {
    match p.extras.as_ref() {
        [a, b, c, d] => Ok(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => Err(FrameError::Malformed {
            opcode: p.header.opcode,
            what: "get hit without 4-byte flags extras",
        }),
    }
}

/// memcached's quiet rules: true when this response to this request is NOT
/// written. Quiet gets (GETQ, GETKQ, GATQ, GATKQ) hide misses and show hits;
/// every other quiet command (SETQ.., DELETEQ, INCRQ, FLUSHQ, QUITQ, and
/// ascii `noreply`) hides success and shows failures. NOOP is never quiet.
pub fn is_suppressed(req: &Request, resp: &Response) -> bool {
    if !req.quiet {
        return false;
    }
    match &req.command {
        Command::Noop => false,
        Command::Get(_) => matches!(
            resp,
            Response::End
                | Response::NotFound
                | Response::Status {
                    status: Status::KeyNotFound,
                    ..
                }
        ),
        _ => is_success(resp),
    }
}

/// A reply that memcached writes with status 0.
fn is_success(resp: &Response) -> bool {
    match resp {
        Response::Value(_)
        | Response::End
        | Response::Stored { .. }
        | Response::Deleted
        | Response::Touched { .. }
        | Response::Ok
        | Response::Numeric { .. }
        | Response::Version(_)
        | Response::Stat { .. }
        | Response::Reset
        | Response::SaslMechs(_)
        | Response::SaslAuthenticated(_) => true,
        Response::Status { status, .. } => *status == Status::NoError,
        Response::NotStored | Response::Exists | Response::NotFound | Response::Error(_) => false,
    }
}
