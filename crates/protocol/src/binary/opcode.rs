//! Binary protocol opcodes (memcached `protocol_binary.h`) and the
//! classification the codec uses to give each one its meaning.
//!
//! Quiet (`…Q`) forms answer only failures (GETQ-style: only hits); `…K`
//! forms echo the key in the reply.

use crate::model::StoreMode;

/// GET: value by key.
pub const GET: u8 = 0x00;
/// SET: store unconditionally.
pub const SET: u8 = 0x01;
/// ADD: store if absent.
pub const ADD: u8 = 0x02;
/// REPLACE: store if present.
pub const REPLACE: u8 = 0x03;
/// DELETE.
pub const DELETE: u8 = 0x04;
/// INCREMENT.
pub const INCREMENT: u8 = 0x05;
/// DECREMENT.
pub const DECREMENT: u8 = 0x06;
/// QUIT: reply then close.
pub const QUIT: u8 = 0x07;
/// FLUSH (flush_all).
pub const FLUSH: u8 = 0x08;
/// GETQ: GET answering hits only.
pub const GETQ: u8 = 0x09;
/// NOOP: always answered; ends a run of quiet commands.
pub const NOOP: u8 = 0x0a;
/// VERSION.
pub const VERSION: u8 = 0x0b;
/// GETK: GET whose reply carries the key.
pub const GETK: u8 = 0x0c;
/// GETKQ: quiet GETK.
pub const GETKQ: u8 = 0x0d;
/// APPEND.
pub const APPEND: u8 = 0x0e;
/// PREPEND.
pub const PREPEND: u8 = 0x0f;
/// STAT: one frame per stat, then an empty one.
pub const STAT: u8 = 0x10;
/// SETQ.
pub const SETQ: u8 = 0x11;
/// ADDQ.
pub const ADDQ: u8 = 0x12;
/// REPLACEQ.
pub const REPLACEQ: u8 = 0x13;
/// DELETEQ.
pub const DELETEQ: u8 = 0x14;
/// INCREMENTQ.
pub const INCREMENTQ: u8 = 0x15;
/// DECREMENTQ.
pub const DECREMENTQ: u8 = 0x16;
/// QUITQ: close without a reply.
pub const QUITQ: u8 = 0x17;
/// FLUSHQ.
pub const FLUSHQ: u8 = 0x18;
/// APPENDQ.
pub const APPENDQ: u8 = 0x19;
/// PREPENDQ.
pub const PREPENDQ: u8 = 0x1a;
/// VERBOSITY (memcached 1.6.18 answers it with Unknown command).
pub const VERBOSITY: u8 = 0x1b;
/// TOUCH.
pub const TOUCH: u8 = 0x1c;
/// GAT: get and touch.
pub const GAT: u8 = 0x1d;
/// GATQ.
pub const GATQ: u8 = 0x1e;
/// SASL_LIST_MECHS.
pub const SASL_LIST_MECHS: u8 = 0x20;
/// SASL_AUTH.
pub const SASL_AUTH: u8 = 0x21;
/// SASL_STEP.
pub const SASL_STEP: u8 = 0x22;
/// GATK.
pub const GATK: u8 = 0x23;
/// GATKQ.
pub const GATKQ: u8 = 0x24;
/// Couchbase SELECT_BUCKET; not a memcached command (answered Unknown command).
pub const SELECT_BUCKET: u8 = 0x89;

/// What an opcode does, with the quiet and key-echo bits split out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// GET/GETK/GAT/GATK and quiet forms.
    Get {
        touch: bool,
        with_key: bool,
    },
    Touch,
    Store(StoreMode),
    Delete,
    Arith {
        incr: bool,
    },
    Quit,
    Flush,
    Noop,
    Version,
    Stat,
    Verbosity,
    SaslListMechs,
    SaslAuth,
    SaslStep,
}

/// Classifies an opcode: its meaning and whether it is a quiet form.
/// `None` for opcodes this codec does not know.
pub(crate) fn classify(op: u8) -> Option<(Op, bool)> {
    let get = |touch, with_key| Op::Get { touch, with_key };
    Some(match op {
        GET => (get(false, false), false),
        GETQ => (get(false, false), true),
        GETK => (get(false, true), false),
        GETKQ => (get(false, true), true),
        GAT => (get(true, false), false),
        GATQ => (get(true, false), true),
        GATK => (get(true, true), false),
        GATKQ => (get(true, true), true),
        TOUCH => (Op::Touch, false),
        SET => (Op::Store(StoreMode::Set), false),
        SETQ => (Op::Store(StoreMode::Set), true),
        ADD => (Op::Store(StoreMode::Add), false),
        ADDQ => (Op::Store(StoreMode::Add), true),
        REPLACE => (Op::Store(StoreMode::Replace), false),
        REPLACEQ => (Op::Store(StoreMode::Replace), true),
        APPEND => (Op::Store(StoreMode::Append), false),
        APPENDQ => (Op::Store(StoreMode::Append), true),
        PREPEND => (Op::Store(StoreMode::Prepend), false),
        PREPENDQ => (Op::Store(StoreMode::Prepend), true),
        DELETE => (Op::Delete, false),
        DELETEQ => (Op::Delete, true),
        INCREMENT => (Op::Arith { incr: true }, false),
        INCREMENTQ => (Op::Arith { incr: true }, true),
        DECREMENT => (Op::Arith { incr: false }, false),
        DECREMENTQ => (Op::Arith { incr: false }, true),
        QUIT => (Op::Quit, false),
        QUITQ => (Op::Quit, true),
        FLUSH => (Op::Flush, false),
        FLUSHQ => (Op::Flush, true),
        NOOP => (Op::Noop, false),
        VERSION => (Op::Version, false),
        STAT => (Op::Stat, false),
        VERBOSITY => (Op::Verbosity, false),
        SASL_LIST_MECHS => (Op::SaslListMechs, false),
        SASL_AUTH => (Op::SaslAuth, false),
        SASL_STEP => (Op::SaslStep, false),
        _ => return None,
    })
}

/// The opcode for a classified operation; inverse of [`classify`].
/// `StoreMode::Cas` maps to SET (binary carries the CAS in the header).
pub(crate) fn opcode_of(op: Op, quiet: bool) -> u8 {
    let pick = |loud: u8, q: u8| if quiet { q } else { loud };
    match op {
        Op::Get {
            touch: false,
            with_key: false,
        } => pick(GET, GETQ),
        Op::Get {
            touch: false,
            with_key: true,
        } => pick(GETK, GETKQ),
        Op::Get {
            touch: true,
            with_key: false,
        } => pick(GAT, GATQ),
        Op::Get {
            touch: true,
            with_key: true,
        } => pick(GATK, GATKQ),
        Op::Store(StoreMode::Set | StoreMode::Cas) => pick(SET, SETQ),
        Op::Store(StoreMode::Add) => pick(ADD, ADDQ),
        Op::Store(StoreMode::Replace) => pick(REPLACE, REPLACEQ),
        Op::Store(StoreMode::Append) => pick(APPEND, APPENDQ),
        Op::Store(StoreMode::Prepend) => pick(PREPEND, PREPENDQ),
        Op::Delete => pick(DELETE, DELETEQ),
        Op::Arith { incr: true } => pick(INCREMENT, INCREMENTQ),
        Op::Arith { incr: false } => pick(DECREMENT, DECREMENTQ),
        Op::Quit => pick(QUIT, QUITQ),
        Op::Flush => pick(FLUSH, FLUSHQ),
        // No quiet forms exist for these: the loud opcode is used.
        Op::Touch => TOUCH,
        Op::Noop => NOOP,
        Op::Version => VERSION,
        Op::Stat => STAT,
        Op::Verbosity => VERBOSITY,
        Op::SaslListMechs => SASL_LIST_MECHS,
        Op::SaslAuth => SASL_AUTH,
        Op::SaslStep => SASL_STEP,
    }
}

/// A human-readable opcode name for logs, `None` for unknown opcodes.
pub fn name(op: u8) -> Option<&'static str> {
    const NAMES: [&str; 0x25] = [
        "GET",
        "SET",
        "ADD",
        "REPLACE",
        "DELETE",
        "INCREMENT",
        "DECREMENT",
        "QUIT",
        "FLUSH",
        "GETQ",
        "NOOP",
        "VERSION",
        "GETK",
        "GETKQ",
        "APPEND",
        "PREPEND",
        "STAT",
        "SETQ",
        "ADDQ",
        "REPLACEQ",
        "DELETEQ",
        "INCREMENTQ",
        "DECREMENTQ",
        "QUITQ",
        "FLUSHQ",
        "APPENDQ",
        "PREPENDQ",
        "VERBOSITY",
        "TOUCH",
        "GAT",
        "GATQ",
        "",
        "SASL_LIST_MECHS",
        "SASL_AUTH",
        "SASL_STEP",
        "GATK",
        "GATKQ",
    ];
    match op {
        SELECT_BUCKET => Some("SELECT_BUCKET"),
        _ => NAMES
            .get(usize::from(op))
            .copied()
            .filter(|n| !n.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_and_opcode_of_are_inverse() {
        let mut known = 0;
        for op in 0..=u8::MAX {
            if let Some((kind, quiet)) = classify(op) {
                known += 1;
                assert_eq!(opcode_of(kind, quiet), op, "opcode {op:#04x}");
                assert!(name(op).is_some(), "opcode {op:#04x} has a name");
            }
        }
        // 36 classic opcodes (0x00..=0x24 without 0x1f).
        assert_eq!(known, 36);
        assert_eq!(name(0x1f), None);
        assert_eq!(name(SELECT_BUCKET), Some("SELECT_BUCKET"));
        assert_eq!(classify(SELECT_BUCKET), None);
    }
}
