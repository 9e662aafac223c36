//! What a client knows about one of its own keys, and how sure it is.
//!
//! Facts are established by replies (or, for ascii `noreply` writes, by
//! the outcome the model predicts) and carry the fault clocks of the
//! request that established them ([`Basis`]). A fact is *trusted* when it
//! was established outside any fault, is checked outside any fault (during
//! one, moxi may re-send a request after later ones of the same client),
//! no data was lost since, no unconfirmed write could have been dropped by
//! a fault, and no write whose fate is unknown (a "ghost": it timed out or
//! was cut off, yet may still reach memcached) could land after it.
//! Trusted facts are checked exactly; otherwise only plausibly (the bytes
//! must still be this client's, for this key).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::epoch::{Stamp, Window};
use crate::value::{self, Origin};

/// How long a write whose fate is unknown may still reach memcached, by
/// default (see [`KeyModel::ghost_ttl`]).
pub const GHOST_TTL: Duration = Duration::from_secs(20);

/// How many past requests a key remembers for reports.
pub const HISTORY: usize = 6;

/// What kind of data a key holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// Segments (see [`crate::value`]); set, add, replace, append, prepend, cas.
    Blob,
    /// Decimal digits; set, add, incr, decr.
    Counter,
}

/// The key's content as far as the model knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// Not stored.
    Absent,
    /// Stored; data and flags when known.
    Stored {
        /// The bytes (counters: compared as numbers).
        data: Option<Bytes>,
        /// The client flags.
        flags: Option<u32>,
    },
    /// Stored or not.
    Unknown,
}

/// A fact's pedigree: the clocks and time of the request that made it.
#[derive(Clone, Copy, Debug)]
pub struct Basis {
    /// Loss clock when that request was sent.
    pub loss: u64,
    /// For a predicted (noreply) fact: the fault clock at send; the fact
    /// holds only while it has not moved.
    pub faults: Option<u64>,
    /// When that request was sent.
    pub at: Instant,
}

/// A CAS unique seen in one loss epoch (a restarted memcached counts anew).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CasFact {
    /// Loss clock of the window it was seen in.
    pub epoch: u64,
    /// The CAS unique.
    pub cas: u64,
}

/// A write whose fate is unknown.
#[derive(Clone, Copy, Debug)]
struct Ghost {
    sent: Stamp,
    at: Instant,
    /// It failed or was cut off; otherwise it was a noreply write, which
    /// only a fault can have dropped or delayed.
    errored: bool,
}

/// One key of one client.
#[derive(Clone, Debug)]
pub struct KeyModel {
    /// The client's id (owner of every segment it may hold).
    pub client: u32,
    /// The key's index among the client's keys.
    pub index: u8,
    /// Blob or counter.
    pub kind: KeyKind,
    /// What is stored.
    pub content: Content,
    /// Where that knowledge comes from.
    pub basis: Basis,
    /// The item's current CAS, when known.
    pub cas: Option<CasFact>,
    /// A CAS the item had before (never its current one).
    pub old_cas: Option<CasFact>,
    /// Highest CAS seen in the current loss epoch.
    floor: Option<CasFact>,
    ghosts: Vec<Ghost>,
    /// How long a write whose fate is unknown may still reach memcached:
    /// the longest a request can be held up (a stopped server, moxi's
    /// timeouts and queues).
    pub ghost_ttl: Duration,
    /// The last few requests on this key and their replies, for reports.
    history: VecDeque<String>,
}

impl KeyModel {
    /// A key nobody has written yet (memcached starts empty).
    pub fn new(client: u32, index: u8, kind: KeyKind, now: Instant) -> KeyModel {
        KeyModel {
            client,
            index,
            kind,
            content: Content::Absent,
            basis: Basis {
                loss: 0,
                faults: None,
                at: now,
            },
            cas: None,
            old_cas: None,
            floor: None,
            ghosts: Vec::new(),
            ghost_ttl: GHOST_TTL,
            history: VecDeque::new(),
        }
    }

    /// Remembers a request on this key and its reply (the last
    /// [`HISTORY`] are kept).
    pub fn remember(&mut self, event: String) {
        if self.history.len() >= HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(event);
    }

    /// The remembered requests, oldest first.
    pub fn history(&self) -> String {
        self.history.iter().cloned().collect::<Vec<_>>().join(" | ")
    }

    /// True when the model's content can be checked exactly for a reply
    /// that came in window `w` (see module docs).
    pub fn trusted(&self, w: &Window) -> bool {
        // During a fault, moxi may re-send a request (downstream_retry)
        // after later ones of the same client: nothing is exact then.
        let exact = w.calm() && w.no_loss() && self.basis.loss == w.sent.loss;
        if self.content == Content::Unknown || !exact {
            return false;
        }
        if let Some(f) = self.basis.faults {
            if f != w.recv.faults || !f.is_multiple_of(2) {
                return false;
            }
        }
        !self.ghosts.iter().any(|g| {
            let relevant =
                g.errored || g.sent.faults != w.recv.faults || !g.sent.faults.is_multiple_of(2);
            relevant && g.at + self.ghost_ttl > self.basis.at
        })
    }

    /// Sets the content, established by a reply (`predicted`: by a noreply
    /// write's expected outcome) in window `w`.
    pub fn establish(&mut self, content: Content, w: &Window, predicted: bool) {
        self.content = content;
        // A fact seen during a fault (perhaps out of order) holds only
        // once it is seen again outside one: an odd clock never matches.
        let faults = if w.calm() {
            predicted.then_some(w.sent.faults)
        } else {
            Some(u64::MAX)
        };
        self.basis = Basis {
            loss: w.sent.loss,
            faults,
            at: w.at,
        };
        let ttl = self.ghost_ttl;
        self.ghosts.retain(|g| g.at + ttl > w.at);
    }

    /// A write timed out or was cut off: its effect is unknown now and it
    /// may still land later.
    pub fn write_failed(&mut self, w: &Window) {
        self.write_unsure();
        self.add_ghost(w, true);
    }

    /// A write failed in a way that cannot land later (the server was not
    /// reached, or died): whether it happened is unknown.
    pub fn write_unsure(&mut self) {
        self.content = Content::Unknown;
        self.cas = None;
    }

    /// A noreply write was sent: it may be dropped or delayed by a fault.
    pub fn noreply_sent(&mut self, w: &Window) {
        self.add_ghost(w, false);
    }

    fn add_ghost(&mut self, w: &Window, errored: bool) {
        self.ghosts.push(Ghost {
            sent: w.sent,
            at: w.at,
            errored,
        });
    }

    /// The current CAS if known in the loss epoch of `stamp`.
    pub fn cas_in(&self, stamp: Stamp) -> Option<u64> {
        self.cas.filter(|c| c.epoch == stamp.loss).map(|c| c.cas)
    }

    /// A CAS known not to be current, in the loss epoch of `stamp`.
    pub fn old_cas_in(&self, stamp: Stamp) -> Option<u64> {
        self.old_cas
            .filter(|c| c.epoch == stamp.loss)
            .map(|c| c.cas)
    }

    /// Records the CAS a reply showed (0: not shown) and checks that CAS
    /// uniques only grow: a write must show a new, higher one; a read at
    /// least the highest seen.
    pub fn note_cas(&mut self, cas: u64, w: &Window, write: bool) -> Result<(), String> {
        if cas == 0 {
            if write {
                self.replace_cas(None);
            }
            return Ok(());
        }
        if !w.no_loss() {
            self.forget_cas(write);
            return Ok(());
        }
        let fact = CasFact {
            epoch: w.sent.loss,
            cas,
        };
        if !w.calm() {
            // Perhaps out of order (a re-sent request): not compared, and
            // not known to be the item's current CAS.
            if self
                .floor
                .is_none_or(|f| f.epoch != fact.epoch || f.cas < cas)
            {
                self.floor = Some(fact);
            }
            self.forget_cas(write);
            return Ok(());
        }
        if let Some(f) = self.floor.filter(|f| f.epoch == fact.epoch) {
            if (write && cas <= f.cas) || cas < f.cas {
                return Err(format!(
                    "CAS {cas} after {} was seen for this key (CAS must grow)",
                    f.cas
                ));
            }
        }
        if self
            .floor
            .is_none_or(|f| f.epoch != fact.epoch || f.cas < cas)
        {
            self.floor = Some(fact);
        }
        if write || self.cas != Some(fact) {
            self.replace_cas(Some(fact));
        }
        Ok(())
    }

    /// The current CAS is no longer known: a write changed it (it becomes
    /// an old one), a read just could not be trusted (it may still be
    /// current, so it is not an old one).
    fn forget_cas(&mut self, write: bool) {
        if write {
            self.replace_cas(None);
        } else {
            self.cas = None;
        }
    }

    /// A write changed the CAS: the current one becomes an old one.
    pub fn replace_cas(&mut self, new: Option<CasFact>) {
        if let Some(old) = self.cas.take() {
            self.old_cas = Some(old);
        }
        self.cas = new;
    }

    /// Checks that bytes read back could be this key's at all: segments
    /// (or digits) written by this client for this key, flags by this
    /// client. Errs with what the bytes say about who wrote them.
    pub fn plausible(&self, data: &[u8], flags: u32) -> Result<(), String> {
        let flags_ok = value::flags_client(flags) == self.client
            || (self.kind == KeyKind::Counter && flags == 0);
        if !flags_ok {
            return Err(format!(
                "flags {flags:#x} name client {}",
                value::flags_client(flags)
            ));
        }
        match self.kind {
            KeyKind::Counter => match value::parse_counter(data) {
                Some(_) => Ok(()),
                None => Err(format!("counter holds {}", describe(data))),
            },
            KeyKind::Blob => {
                let origins = value::parse(data).map_err(|e| format!("{e}: {}", describe(data)))?;
                match origins.iter().find(|o| !self.owns(o)) {
                    Some(o) => Err(format!("value holds a segment written by {o}")),
                    None if origins.is_empty() => Err("empty value".into()),
                    None => Ok(()),
                }
            }
        }
    }

    fn owns(&self, o: &Origin) -> bool {
        o.client == self.client && o.key == self.index
    }
}

/// The bytes, and the writers of their segments when they parse.
pub fn describe(data: &[u8]) -> String {
    match value::parse(data) {
        Ok(origins) if !origins.is_empty() => {
            let who: Vec<String> = origins.iter().take(4).map(|o| o.to_string()).collect();
            format!("{:?} (segments by {})", value::show(data), who.join(", "))
        }
        _ => format!("{:?}", value::show(data)),
    }
}

#[cfg(test)]
mod tests;
