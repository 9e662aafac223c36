//! Checking one reply against the key model, and moving the model on.
//!
//! Whatever the model's trust, a reply must be one the command can have
//! (a `set` is never answered `NOT_FOUND`), its bytes must be this
//! client's for this key, and CAS uniques must grow. When the model is
//! trusted ([`KeyModel::trusted`]), the outcome must be exactly the one
//! predicted. Then the model takes on what the reply says.

use bytes::{Bytes, BytesMut};
use protocol::StoreMode;

use crate::epoch::Window;
use crate::model::{Content, KeyModel};
use crate::value;

mod read;

pub use read::{check_read, Hit, ReadNote};

/// A write to one key, as the model sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// set, add, replace, append, prepend, cas.
    Store {
        /// Which one.
        mode: StoreMode,
        /// The data sent.
        data: Bytes,
        /// The flags sent.
        flags: u32,
        /// The CAS sent (mode `Cas` only).
        cas: u64,
    },
    /// incr or decr.
    Arith {
        /// incr when true.
        incr: bool,
        /// The amount.
        delta: u64,
        /// Binary only: the value to create a missing counter with.
        create: Option<u64>,
    },
    /// delete.
    Delete,
    /// touch.
    Touch,
}

/// A write's reply, in the model's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// STORED, with the new CAS (0: not shown).
    Stored(u64),
    /// NOT_STORED.
    NotStored,
    /// EXISTS.
    Exists,
    /// NOT_FOUND.
    NotFound,
    /// DELETED.
    Deleted,
    /// TOUCHED, with the CAS (0: not shown).
    Touched(u64),
    /// The counter's new value, and CAS (0: not shown).
    Numeric(u64, u64),
}

impl Outcome {
    fn name(&self) -> &'static str {
        match self {
            Outcome::Stored(_) => "STORED",
            Outcome::NotStored => "NOT_STORED",
            Outcome::Exists => "EXISTS",
            Outcome::NotFound => "NOT_FOUND",
            Outcome::Deleted => "DELETED",
            Outcome::Touched(_) => "TOUCHED",
            Outcome::Numeric(..) => "a number",
        }
    }
}

/// Checks a write's reply and applies it to the model.
pub fn check_write(m: &mut KeyModel, op: &Write, got: &Outcome, w: &Window) -> Result<(), String> {
    if !legal(op, got) {
        return Err(format!(
            "{} is not a reply this command can have",
            got.name()
        ));
    }
    let trusted = m.trusted(w);
    if trusted {
        if let Some(want) = predict(m, op, w) {
            let same = match (&want, got) {
                (Outcome::Numeric(a, _), Outcome::Numeric(b, _)) => a == b,
                _ => std::mem::discriminant(&want) == std::mem::discriminant(got),
            };
            if !same {
                return Err(format!(
                    "expected {} ({}); model: {}",
                    show_outcome(&want),
                    show_outcome(got),
                    show_content(&m.content)
                ));
            }
        }
    }
    apply(m, op, got, w, trusted)
}

fn show_outcome(o: &Outcome) -> String {
    match o {
        Outcome::Numeric(v, _) => v.to_string(),
        other => other.name().to_string(),
    }
}

/// What a model state shows, for reports.
pub fn show_content(c: &Content) -> String {
    match c {
        Content::Absent => "absent".into(),
        Content::Unknown => "unknown".into(),
        Content::Stored { data, flags } => {
            let d = data.as_ref().map_or("?".into(), |d| value::show(d));
            let f = flags.map_or("?".into(), |f| format!("{f:#x}"));
            format!("stored {d:?} flags {f}")
        }
    }
}

fn legal(op: &Write, got: &Outcome) -> bool {
    use Outcome::*;
    match op {
        Write::Store { mode, .. } => match mode {
            StoreMode::Set => matches!(got, Stored(_)),
            StoreMode::Cas => matches!(got, Stored(_) | Exists | NotFound),
            _ => matches!(got, Stored(_) | NotStored),
        },
        Write::Arith { create: None, .. } => matches!(got, Numeric(..) | NotFound),
        Write::Arith {
            create: Some(_), ..
        } => matches!(got, Numeric(..)),
        Write::Delete => matches!(got, Deleted | NotFound),
        Write::Touch => matches!(got, Touched(_) | NotFound),
    }
}

/// The outcome a trusted model expects (CAS not predicted); `None` when
/// the model lacks what it would take (a counter of unknown value).
fn predict(m: &KeyModel, op: &Write, w: &Window) -> Option<Outcome> {
    use Outcome::*;
    let stored = match &m.content {
        Content::Absent => None,
        Content::Stored { data, .. } => Some(data.as_ref()),
        Content::Unknown => return None,
    };
    Some(match (op, stored) {
        (Write::Store { mode, cas, .. }, s) => match (mode, s) {
            (StoreMode::Set, _) | (StoreMode::Add, None) => Stored(0),
            (StoreMode::Add, Some(_)) => NotStored,
            (StoreMode::Cas, None) => NotFound,
            (StoreMode::Cas, Some(_)) if m.cas_in(w.sent) == Some(*cas) => Stored(0),
            (StoreMode::Cas, Some(_)) => Exists,
            (_, None) => NotStored,
            (_, Some(_)) => Stored(0),
        },
        (Write::Arith { create: None, .. }, None) => NotFound,
        (
            Write::Arith {
                create: Some(n), ..
            },
            None,
        ) => Numeric(*n, 0),
        (Write::Arith { incr, delta, .. }, Some(Some(d))) => {
            let v = value::parse_counter(d)?;
            Numeric(arith(*incr, v, *delta), 0)
        }
        (Write::Arith { .. }, Some(None)) => return None,
        (Write::Delete, None) | (Write::Touch, None) => NotFound,
        (Write::Delete, Some(_)) => Deleted,
        (Write::Touch, Some(_)) => Touched(0),
    })
}

/// memcached 1.6.18 refuses incr/decr on a counter of 2^63 or more when
/// stale bytes after the value in its slab chunk hold a `-`: its
/// `safe_strtoull` (util.c) looks for a minus sign with `strchr` on data
/// that is not NUL-terminated. True when the model allows such a counter.
pub fn may_be_refused_as_non_numeric(m: &KeyModel, w: &Window) -> bool {
    if !m.trusted(w) {
        return true;
    }
    match &m.content {
        Content::Stored { data: Some(d), .. } => {
            value::parse_counter(d).is_some_and(|v| v >= 1 << 63)
        }
        Content::Stored { data: None, .. } => true,
        _ => false,
    }
}

/// memcached's counter arithmetic: incr wraps at 2^64, decr stops at 0.
pub fn arith(incr: bool, v: u64, delta: u64) -> u64 {
    if incr {
        v.wrapping_add(delta)
    } else {
        v.saturating_sub(delta)
    }
}

/// Moves the model to what an (already checked) outcome says.
fn apply(
    m: &mut KeyModel,
    op: &Write,
    got: &Outcome,
    w: &Window,
    trusted: bool,
) -> Result<(), String> {
    let (old_data, old_flags) = match (&m.content, trusted) {
        (Content::Stored { data, flags }, true) => (data.clone(), *flags),
        _ => (None, None),
    };
    let unknown_present = Content::Stored {
        data: None,
        flags: None,
    };
    let content = match (op, got) {
        (
            Write::Store {
                mode, data, flags, ..
            },
            Outcome::Stored(cas),
        ) => {
            m.note_cas(*cas, w, true)?;
            stored_content(*mode, data, *flags, old_data, old_flags)
        }
        (Write::Store { mode, .. }, Outcome::NotStored) if *mode == StoreMode::Add && trusted => {
            return Ok(())
        }
        (Write::Store { mode, .. }, Outcome::NotStored) if *mode == StoreMode::Add => {
            unknown_present
        }
        (_, Outcome::Exists) if trusted => return Ok(()),
        (_, Outcome::Exists) => unknown_present,
        (_, Outcome::NotStored | Outcome::NotFound | Outcome::Deleted) => {
            m.replace_cas(None);
            Content::Absent
        }
        (_, Outcome::Touched(cas)) => {
            m.note_cas(*cas, w, false)?;
            if trusted {
                return Ok(());
            }
            unknown_present
        }
        (Write::Arith { create, .. }, Outcome::Numeric(n, cas)) => {
            m.note_cas(*cas, w, true)?;
            let created = trusted && m.content == Content::Absent && create.is_some();
            Content::Stored {
                data: Some(value::counter_text(*n)),
                flags: if created { Some(0) } else { old_flags },
            }
        }
        (_, other) => return Err(format!("{} cannot answer this write", other.name())),
    };
    m.establish(content, w, false);
    Ok(())
}

fn stored_content(
    mode: StoreMode,
    data: &Bytes,
    flags: u32,
    old_data: Option<Bytes>,
    old_flags: Option<u32>,
) -> Content {
    let joined = |first: &[u8], second: &[u8]| {
        let mut b = BytesMut::with_capacity(first.len() + second.len());
        b.extend_from_slice(first);
        b.extend_from_slice(second);
        b.freeze()
    };
    match mode {
        StoreMode::Append => Content::Stored {
            data: old_data.map(|old| joined(&old, data)),
            flags: old_flags,
        },
        StoreMode::Prepend => Content::Stored {
            data: old_data.map(|old| joined(data, &old)),
            flags: old_flags,
        },
        _ => Content::Stored {
            data: Some(data.clone()),
            flags: Some(flags),
        },
    }
}

/// A noreply write: applies the outcome a trusted model predicts (and
/// makes the key unknown otherwise), marked as predicted.
pub fn assume_write(m: &mut KeyModel, op: &Write, w: &Window) {
    m.noreply_sent(w);
    let predicted = m.trusted(w).then(|| predict(m, op, w)).flatten();
    // memcached may refuse it, silently (see may_be_refused_as_non_numeric).
    let refusable = matches!(op, Write::Arith { .. })
        && matches!(predicted, Some(Outcome::Numeric(..)))
        && may_be_refused_as_non_numeric(m, w);
    let Some(got) = predicted.filter(|_| !refusable) else {
        m.write_failed(w);
        return;
    };
    let changes = matches!(
        got,
        Outcome::Stored(_) | Outcome::Numeric(..) | Outcome::Deleted
    );
    if apply(m, op, &got, w, true).is_err() {
        m.write_failed(w);
    } else if changes {
        let content = m.content.clone();
        m.establish(content, w, true);
    }
}

/// A binary quiet write that was not answered, so it succeeded: checks
/// that the model allows success and applies it.
pub fn quiet_success(m: &mut KeyModel, op: &Write, w: &Window) -> Result<(), String> {
    let got = match op {
        Write::Store { .. } => Outcome::Stored(0),
        Write::Delete => Outcome::Deleted,
        Write::Touch => Outcome::Touched(0),
        Write::Arith { .. } => match m.trusted(w).then(|| predict(m, op, w)).flatten() {
            Some(Outcome::Numeric(n, _)) => Outcome::Numeric(n, 0),
            Some(other) => {
                return Err(format!(
                    "no reply (success); expected {}",
                    show_outcome(&other)
                ))
            }
            None => {
                let flags = match &m.content {
                    Content::Stored { flags, .. } if m.trusted(w) => *flags,
                    _ => None,
                };
                m.replace_cas(None);
                m.establish(Content::Stored { data: None, flags }, w, false);
                return Ok(());
            }
        },
    };
    check_write(m, op, &got, w).map_err(|e| format!("no reply (success); {e}"))
}

#[cfg(test)]
mod tests;
