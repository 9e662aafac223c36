//! Key stats (behaviour inventory 6.2): per-key request counters for keys
//! that match `key_stats_spec` and not `key_stats_unspec`, kept while
//! `key_stats_lifespan` is not zero, printed by `stats proxy keystats`
//! (moxi's dump was a stub that printed nothing).
//!
//! One table per pool behind one lock (moxi kept one per worker thread and
//! never printed them), so `key_stats_max` bounds the keys of a pool, not
//! of a thread. The table is an LRU: a new key past the limit pushes out
//! the one least recently seen. A key's counters cover one lifespan from
//! its first request: once that has passed they start again from zero
//! (and are no longer printed until the key is seen again).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use config::{Behaviors, PrefixSpec};
use hashlink::LinkedHashMap;
use protocol::{Command, Request, Response};

use crate::clock::Clock;

/// What key stats are configured with (`-Z key_stats_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyStatsConfig {
    /// `key_stats_max`: most keys tracked.
    pub max: usize,
    /// `key_stats_lifespan`: how long one key's counters accumulate; zero: off.
    pub lifespan: Duration,
    /// `key_stats_spec`: key prefixes to track.
    pub spec: PrefixSpec,
    /// `key_stats_unspec`: key prefixes never tracked.
    pub unspec: PrefixSpec,
}

impl KeyStatsConfig {
    /// The configuration `-Z` describes.
    pub fn from_behaviors(b: &Behaviors) -> Self {
        KeyStatsConfig {
            max: b.key_stats_max as usize,
            lifespan: b.key_stats_lifespan,
            spec: b.key_stats_spec.clone(),
            unspec: b.key_stats_unspec.clone(),
        }
    }

    /// Whether key stats are on: a lifespan, room, and some prefix.
    pub fn enabled(&self) -> bool {
        !self.lifespan.is_zero() && self.max > 0 && !self.spec.is_empty()
    }
}

/// One key's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyCounters {
    /// Requests naming the key (any command; a multi-get naming it twice
    /// counts twice).
    pub seen: u64,
    /// get-type requests.
    pub gets: u64,
    /// Gets that returned a value.
    pub hits: u64,
    /// Gets that returned none.
    pub misses: u64,
    /// Value bytes returned to clients.
    pub read_bytes: u64,
    /// Storage requests (set, add, replace, append, prepend, cas).
    pub sets: u64,
    /// Value bytes clients sent.
    pub write_bytes: u64,
}

impl KeyCounters {
    /// `(name, value)` in print order.
    pub fn fields(&self) -> [(&'static str, u64); 7] {
        [
            ("seen", self.seen),
            ("gets", self.gets),
            ("hits", self.hits),
            ("misses", self.misses),
            ("read_bytes", self.read_bytes),
            ("sets", self.sets),
            ("write_bytes", self.write_bytes),
        ]
    }
}

struct Tracked {
    counters: KeyCounters,
    until: Instant,
}

/// One pool's key stats.
pub struct KeyStats {
    config: KeyStatsConfig,
    clock: Clock,
    table: Mutex<LinkedHashMap<Bytes, Tracked>>,
}

impl std::fmt::Debug for KeyStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStats")
            .field("config", &self.config)
            .field("len", &self.len())
            .finish()
    }
}

impl KeyStats {
    /// An empty table.
    pub fn new(config: KeyStatsConfig, clock: Clock) -> Self {
        KeyStats {
            config,
            clock,
            table: Mutex::new(LinkedHashMap::new()),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &KeyStatsConfig {
        &self.config
    }

    /// Whether `key` is tracked.
    pub fn matches(&self, key: &[u8]) -> bool {
        self.config.enabled() && self.config.spec.matches(key) && !self.config.unspec.matches(key)
    }

    fn lock(&self) -> MutexGuard<'_, LinkedHashMap<Bytes, Tracked>> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies `update` to `key`'s counters (if the key is tracked),
    /// starting them afresh when their lifespan has passed.
    pub fn record(&self, key: &[u8], update: impl FnOnce(&mut KeyCounters)) {
        if !self.matches(key) {
            return;
        }
        let now = self.clock.now();
        let mut table = self.lock();
        let fresh = Tracked {
            counters: KeyCounters::default(),
            until: now + self.config.lifespan,
        };
        match table.to_back(key) {
            Some(t) if t.until > now => update(&mut t.counters),
            Some(t) => {
                *t = fresh;
                update(&mut t.counters);
            }
            None => {
                while table.len() >= self.config.max {
                    if table.pop_front().is_none() {
                        break;
                    }
                }
                let mut t = fresh;
                update(&mut t.counters);
                table.insert(Bytes::copy_from_slice(key), t);
            }
        }
    }

    /// Counts one answered request: its keys and what the reply says of
    /// each (`frames` as the client sees them, before encoding).
    pub fn observe(&self, req: &Request, frames: &[Response]) {
        if !self.config.enabled() {
            return;
        }
        match &req.command {
            Command::Get(g) => {
                for key in &g.keys {
                    let found = frames.iter().find_map(|f| match f {
                        Response::Value(v) if v.key == *key => Some(v.data.len() as u64),
                        _ => None,
                    });
                    self.record(key.as_bytes(), |c| {
                        c.seen += 1;
                        c.gets += 1;
                        match found {
                            Some(n) => {
                                c.hits += 1;
                                c.read_bytes += n;
                            }
                            None => c.misses += 1,
                        }
                    });
                }
            }
            Command::Store(s) => self.record(s.key.as_bytes(), |c| {
                c.seen += 1;
                c.sets += 1;
                c.write_bytes += s.value.len() as u64;
            }),
            Command::Arith(a) => self.record(a.key.as_bytes(), |c| c.seen += 1),
            Command::Delete { key, .. } | Command::Touch { key, .. } => {
                self.record(key.as_bytes(), |c| c.seen += 1)
            }
            _ => {}
        }
    }

    /// Keys tracked (live or not).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The live counters of `key`.
    pub fn counters(&self, key: &[u8]) -> Option<KeyCounters> {
        let now = self.clock.now();
        let table = self.lock();
        table.get(key).filter(|t| t.until > now).map(|t| t.counters)
    }

    /// `stats proxy reset`: forgets every key.
    pub fn reset(&self) {
        self.lock().clear();
    }

    /// `stats proxy keystats` lines, sorted by key: for each live key,
    /// `<prefix>keystats:<key>:<field>` with the fields of
    /// [`KeyCounters::fields`]. Bytes of the key that would break a `STAT`
    /// line (space, control, non-ascii) are written `\xNN`.
    pub fn stats(&self, prefix: &str) -> Vec<(String, String)> {
        let now = self.clock.now();
        let live: BTreeMap<Bytes, KeyCounters> = self
            .lock()
            .iter()
            .filter(|(_, t)| t.until > now)
            .map(|(k, t)| (k.clone(), t.counters))
            .collect();
        let mut out = Vec::with_capacity(live.len() * 7);
        for (key, counters) in live {
            let key = printable(&key);
            for (field, v) in counters.fields() {
                out.push((format!("{prefix}keystats:{key}:{field}"), v.to_string()));
            }
        }
        out
    }
}

/// A key as it can appear in a `STAT` name.
fn printable(key: &[u8]) -> String {
    let mut s = String::with_capacity(key.len());
    for &b in key {
        if b.is_ascii_graphic() && b != b'\\' {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

#[cfg(test)]
#[path = "keystats_tests.rs"]
mod tests;
