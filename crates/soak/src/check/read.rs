//! Checking a read of one key: the hit or miss must be this key's, and,
//! when the model is trusted, exactly what it holds.

use bytes::Bytes;

use super::show_content;
use crate::epoch::Window;
use crate::model::{describe, Content, KeyKind, KeyModel};
use crate::value;

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
