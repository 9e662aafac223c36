//! Request encoding: model -> binary request frame (what a proxy sends to a
//! binary downstream, a2b and b2b).

use bytes::{BufMut, BytesMut};

use super::frame::{write_frame, Fields};
use super::opcode::{self, Op};
use super::REQUEST_MAGIC;
use crate::model::{Arith, Command, Get, Request, Store, StoreMode};

/// A request the binary protocol cannot carry as one frame.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A binary GET-family frame holds exactly one key; the proxy splits a
    /// multi-get into one GETKQ per key followed by a NOOP itself.
    #[error("a binary get carries exactly one key, not {count}")]
    KeyCount {
        /// Keys in the request.
        count: usize,
    },
    /// The key (or SASL mechanism, or stats group) does not fit in 16 bits.
    #[error("key of {len} bytes does not fit a binary frame")]
    KeyTooLong {
        /// Key length.
        len: usize,
    },
    /// Extras + key + value do not fit in 32 bits.
    #[error("body of {len} bytes does not fit a binary frame")]
    BodyTooLarge {
        /// Body length.
        len: usize,
    },
    /// A time (exptime, flush delay) outside the binary u32 range, e.g. a
    /// negative ascii exptime. (incr/decr exptime -1 is accepted: it is the
    /// "do not create" marker 0xffffffff.)
    #[error("time {value} does not fit the binary u32 field")]
    TimeOutOfRange {
        /// The value.
        value: i64,
    },
}

/// Appends the binary frame for `req` to `out` (nothing is written on error).
///
/// Mapping choices: `GetKind::Gets/Gats` are encoded like `Get/Gat` (binary
/// replies always carry the CAS), GETK/GATK when `with_key`; `StoreMode::Cas`
/// is SET with the CAS in the header; append/prepend drop flags and exptime
/// (binary has no extras for them); commands with no quiet opcode (touch,
/// stats, version, verbosity, noop, SASL) use the loud one even when `quiet`;
/// FLUSH always carries its 4-byte extras.
pub fn encode_request(req: &Request, out: &mut BytesMut) -> Result<(), EncodeError> {
    let mut extras = [0u8; 20];
    let mut cursor = &mut extras[..];
    let (key, value, cas): (&[u8], &[u8], u64) = match &req.command {
        Command::Get(g) => {
            if g.kind.touches() {
                cursor.put_u32(to_u32(g.exptime)?);
            }
            (single_key(g)?, &[], 0)
        }
        Command::Store(s) => {
            if has_store_extras(s.mode) {
                cursor.put_u32(s.flags);
                cursor.put_u32(to_u32(s.exptime)?);
            }
            (s.key.as_bytes(), &s.value, s.cas)
        }
        Command::Arith(a) => {
            cursor.put_u64(a.delta);
            cursor.put_u64(a.initial);
            cursor.put_u32(arith_exptime(a)?);
            (a.key.as_bytes(), &[], a.cas)
        }
        Command::Delete { key, cas } => (key.as_bytes(), &[], *cas),
        Command::Touch { key, exptime } => {
            cursor.put_u32(to_u32(*exptime)?);
            (key.as_bytes(), &[], 0)
        }
        Command::FlushAll { delay } => {
            cursor.put_u32(to_u32(*delay)?);
            (&[], &[], 0)
        }
        Command::Verbosity { level } => {
            cursor.put_u32(*level);
            (&[], &[], 0)
        }
        Command::Stats { group } => (group, &[], 0),
        Command::SaslAuth { mechanism, data } | Command::SaslStep { mechanism, data } => {
            (mechanism, data, 0)
        }
        Command::Version | Command::Quit | Command::Noop | Command::SaslListMechs => (&[], &[], 0),
    };
    let ext_len = 20 - cursor.len();
    check_lengths(ext_len, key.len(), value.len())?;
    let fields = Fields {
        magic: REQUEST_MAGIC,
        opcode: request_opcode(req),
        data_type: 0,
        vbucket_or_status: req.vbucket,
        opaque: req.opaque,
        cas,
    };
    write_frame(out, fields, &extras[..ext_len], key, value);
    Ok(())
}

/// The opcode `req` is sent with (total: defined even for requests
/// [`encode_request`] refuses).
pub(crate) fn request_opcode(req: &Request) -> u8 {
    opcode::opcode_of(op_of(&req.command), req.quiet)
}

/// The operation class of a command.
fn op_of(command: &Command) -> Op {
    match command {
        Command::Get(g) => Op::Get {
            touch: g.kind.touches(),
            with_key: g.with_key,
        },
        Command::Store(Store { mode, .. }) => Op::Store(*mode),
        Command::Arith(Arith { incr, .. }) => Op::Arith { incr: *incr },
        Command::Delete { .. } => Op::Delete,
        Command::Touch { .. } => Op::Touch,
        Command::FlushAll { .. } => Op::Flush,
        Command::Stats { .. } => Op::Stat,
        Command::Version => Op::Version,
        Command::Verbosity { .. } => Op::Verbosity,
        Command::Quit => Op::Quit,
        Command::Noop => Op::Noop,
        Command::SaslListMechs => Op::SaslListMechs,
        Command::SaslAuth { .. } => Op::SaslAuth,
        Command::SaslStep { .. } => Op::SaslStep,
    }
}

/// SET/ADD/REPLACE (and CAS, sent as SET) carry flags + exptime extras.
pub(crate) fn has_store_extras(mode: StoreMode) -> bool {
    !matches!(mode, StoreMode::Append | StoreMode::Prepend)
}

fn single_key(g: &Get) -> Result<&[u8], EncodeError> {
    match &g.keys[..] {
        [key] => Ok(key.as_bytes()),
        keys => Err(EncodeError::KeyCount { count: keys.len() }),
    }
}

fn to_u32(value: i64) -> Result<u32, EncodeError> {
    u32::try_from(value).map_err(|_| EncodeError::TimeOutOfRange { value })
}

/// incr/decr exptime: the raw u32, with the ascii "never create" -1 mapped
/// to the binary marker 0xffffffff.
fn arith_exptime(a: &Arith) -> Result<u32, EncodeError> {
    if a.exptime == -1 {
        return Ok(u32::MAX);
    }
    to_u32(a.exptime)
}

fn check_lengths(ext: usize, key: usize, value: usize) -> Result<(), EncodeError> {
    if key > usize::from(u16::MAX) {
        return Err(EncodeError::KeyTooLong { len: key });
    }
    let body = ext + key + value;
    if u32::try_from(body).is_err() {
        return Err(EncodeError::BodyTooLarge { len: body });
    }
    Ok(())
}
