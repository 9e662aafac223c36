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
use crate::model::{describe, Content, KeyKind, KeyModel};
use crate::value;

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

/// A retrieval hit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// Client flags.
    pub flags: u32,
    /// CAS unique (0: not shown).
    pub cas: u64,
    /// The data.
    pub data: Bytes,
}

/// What a read found, when it was not a plain confirmation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadNote {
    /// As the model says (or adopted).
    Fine,
    /// A miss for an item the model holds, during a fault, on an ascii
    /// get: moxi answers a failed server's keys as misses.
    FaultMiss,
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
    let Some(got) = predicted else {
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

/// Checks a read of one key (`None`: a miss) and adopts what it shows.
/// `fault_miss_ok`: the reply is an ascii get's, where moxi reads a failed
/// server as a miss.
pub fn check_read(
    m: &mut KeyModel,
    got: Option<&Hit>,
    w: &Window,
    fault_miss_ok: bool,
) -> Result<ReadNote, String> {
    let trusted = m.trusted(w);
    let Some(hit) = got else {
        let holds = matches!(m.content, Content::Stored { .. });
        if fault_miss_ok && !w.calm() {
            return Ok(if holds {
                ReadNote::FaultMiss
            } else {
                ReadNote::Fine
            });
        }
        if trusted && holds {
            return Err(format!("miss; model: {}", show_content(&m.content)));
        }
        m.replace_cas(None);
        m.establish(Content::Absent, w, false);
        return Ok(ReadNote::Fine);
    };
    m.plausible(&hit.data, hit.flags)?;
    if trusted {
        expect_hit(m, hit, w)?;
    }
    m.note_cas(hit.cas, w, false)?;
    let content = Content::Stored {
        data: Some(hit.data.clone()),
        flags: Some(hit.flags),
    };
    m.establish(content, w, false);
    Ok(ReadNote::Fine)
}

/// A trusted model's expectations of a hit.
fn expect_hit(m: &KeyModel, hit: &Hit, w: &Window) -> Result<(), String> {
    let Content::Stored { data, flags } = &m.content else {
        return Err(format!("hit {}; model: absent", describe(&hit.data)));
    };
    if let Some(want) = data {
        let same = match m.kind {
            KeyKind::Counter => value::parse_counter(want) == value::parse_counter(&hit.data),
            KeyKind::Blob => *want == hit.data,
        };
        if !same {
            return Err(format!(
                "data {}; model: {}",
                describe(&hit.data),
                describe(want)
            ));
        }
    }
    if flags.is_some_and(|f| f != hit.flags) {
        return Err(format!(
            "flags {:#x}; model: {}",
            hit.flags,
            show_content(&m.content)
        ));
    }
    match m.cas_in(w.sent) {
        Some(c) if hit.cas != 0 && hit.cas != c => Err(format!("CAS {}; model: {c}", hit.cas)),
        _ => Ok(()),
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
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::epoch::Epochs;
    use crate::value::Origin;

    fn set(mode: StoreMode, seq: u64, cas: u64) -> Write {
        let origin = Origin {
            client: 1,
            key: 1,
            seq,
        };
        Write::Store {
            mode,
            data: value::segment(origin, 3),
            flags: value::flags(1, seq),
            cas,
        }
    }

    fn hit(seq: u64, cas: u64) -> Hit {
        let origin = Origin {
            client: 1,
            key: 1,
            seq,
        };
        Hit {
            flags: value::flags(1, seq),
            cas,
            data: value::segment(origin, 3),
        }
    }

    #[test]
    fn a_trusted_model_predicts_exactly() {
        let e = Epochs::default();
        let w = || Window {
            sent: e.now(),
            recv: e.now(),
            at: Instant::now(),
        };
        let mut m = KeyModel::new(1, 1, KeyKind::Blob, Instant::now());
        assert!(check_write(
            &mut m,
            &set(StoreMode::Add, 1, 0),
            &Outcome::NotStored,
            &w()
        )
        .is_err());
        check_write(
            &mut m,
            &set(StoreMode::Add, 1, 0),
            &Outcome::Stored(5),
            &w(),
        )
        .unwrap();
        assert!(check_read(&mut m, None, &w(), false).is_err(), "miss");
        assert!(
            check_read(&mut m, Some(&hit(2, 5)), &w(), false).is_err(),
            "stale"
        );
        assert!(
            check_read(&mut m, Some(&hit(1, 4)), &w(), false).is_err(),
            "cas"
        );
        check_read(&mut m, Some(&hit(1, 5)), &w(), false).unwrap();
        let append = set(StoreMode::Append, 3, 0);
        check_write(&mut m, &append, &Outcome::Stored(0), &w()).unwrap();
        let mut both = hit(1, 6);
        both.data = [hit(1, 0).data, hit(3, 0).data].concat().into();
        check_read(&mut m, Some(&both), &w(), false).unwrap();
        let stale = set(StoreMode::Cas, 4, 5);
        check_write(&mut m, &stale, &Outcome::Exists, &w()).unwrap();
        let fresh = set(StoreMode::Cas, 4, 6);
        assert!(check_write(&mut m, &fresh, &Outcome::Exists, &w()).is_err());
        check_write(&mut m, &fresh, &Outcome::Stored(7), &w()).unwrap();
        assert!(check_write(&mut m, &Write::Delete, &Outcome::NotFound, &w()).is_err());
        assert!(check_write(&mut m, &Write::Touch, &Outcome::Deleted, &w()).is_err());
    }

    #[test]
    fn counters_and_quiet_writes() {
        let w = Window::quiet(Instant::now());
        let mut m = KeyModel::new(1, 0, KeyKind::Counter, Instant::now());
        let incr = Write::Arith {
            incr: true,
            delta: 5,
            create: Some(10),
        };
        quiet_success(&mut m, &incr, &w).unwrap();
        let decr = Write::Arith {
            incr: false,
            delta: 20,
            create: None,
        };
        assert!(check_write(&mut m, &decr, &Outcome::Numeric(1, 0), &w).is_err());
        check_write(&mut m, &decr, &Outcome::Numeric(0, 0), &w).unwrap();
        let pad = Hit {
            flags: 0,
            cas: 0,
            data: Bytes::from_static(b"0 "),
        };
        check_read(&mut m, Some(&pad), &w, false).unwrap();
        let mut absent = KeyModel::new(1, 1, KeyKind::Blob, Instant::now());
        assert!(quiet_success(&mut absent, &set(StoreMode::Replace, 1, 0), &w).is_err());
        assume_write(&mut absent, &set(StoreMode::Set, 2, 0), &w);
        check_read(&mut absent, Some(&hit(2, 0)), &w, false).unwrap();
    }

    #[test]
    fn faults_loosen_but_never_accept_foreign_bytes() {
        let e = Epochs::default();
        let mut m = KeyModel::new(1, 1, KeyKind::Blob, Instant::now());
        let sent = e.now();
        m.write_failed(&Window::quiet(Instant::now()));
        e.begin_fault();
        let w = Window {
            sent,
            recv: e.now(),
            at: Instant::now(),
        };
        assert_eq!(check_read(&mut m, None, &w, true), Ok(ReadNote::Fine));
        check_read(&mut m, Some(&hit(9, 0)), &w, true).unwrap();
        let mut foreign = hit(9, 0);
        foreign.data = value::segment(
            Origin {
                client: 2,
                key: 1,
                seq: 9,
            },
            3,
        );
        let err = check_read(&mut m, Some(&foreign), &w, true).unwrap_err();
        assert!(err.contains("client 2"), "{err}");
    }
}
