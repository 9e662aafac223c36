//! The front cache (moxi's "mcache", behaviour inventory 6.1): values of
//! ascii `get` kept in the proxy for `front_cache_lifespan`, for keys that
//! match `front_cache_spec` and not `front_cache_unspec`. One per pool,
//! shared by the pool's workers behind one lock (taken only for matching
//! keys, so a pool with the cache off never touches it).
//!
//! Entries are added only from server replies, never replaced while live
//! (moxi's add-only rule), and dropped by any update, delete, incr/decr,
//! touch or flush_all through the proxy. Memory is bounded twice: at most
//! `front_cache_max` entries and at most [`DEFAULT_MAX_BYTES`] of keys plus
//! values (a bound moxi did not have: its entries pinned whole items);
//! least recently used entries go first. Keys and values are copied in, so
//! an entry never pins a client's or a server's read buffer.
//!
//! A get that was in flight when its key was invalidated must not put the
//! old value back. Every invalidation stamps a slot (chosen by the key's
//! hash) with a new epoch, and [`FrontCache::add`] refuses a value fetched
//! under an older [`Ticket`]; a collision only costs a skipped add.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use config::{Behaviors, PrefixSpec};
use hashlink::LinkedHashMap;
use protocol::{Key, Value};

use crate::clock::Clock;
use crate::features::metrics::{add, sub};

/// The byte budget of one front cache (keys plus values).
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;

/// Invalidation epochs are kept per slot of the key's hash.
const EPOCH_SLOTS: usize = 1024;

/// What a front cache is configured with (`-Z front_cache_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrontCacheConfig {
    /// `front_cache_max`: most entries.
    pub max: usize,
    /// `front_cache_lifespan`: how long an entry is served; zero: off.
    pub lifespan: Duration,
    /// `front_cache_spec`: key prefixes to cache.
    pub spec: PrefixSpec,
    /// `front_cache_unspec`: key prefixes never cached.
    pub unspec: PrefixSpec,
    /// Most bytes of keys plus values.
    pub max_bytes: usize,
}

impl FrontCacheConfig {
    /// The configuration `-Z` describes.
    pub fn from_behaviors(b: &Behaviors) -> Self {
        FrontCacheConfig {
            max: b.front_cache_max as usize,
            lifespan: b.front_cache_lifespan,
            spec: b.front_cache_spec.clone(),
            unspec: b.front_cache_unspec.clone(),
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }

    /// Whether the cache is on: a lifespan, room, and some prefix.
    pub fn enabled(&self) -> bool {
        !self.lifespan.is_zero() && self.max > 0 && self.max_bytes > 0 && !self.spec.is_empty()
    }
}

/// The epoch a lookup saw; a value fetched under it may be added only if
/// its key was not invalidated since.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket(u64);

struct Entry {
    value: Value,
    expires: Instant,
}

fn size_of(value: &Value) -> usize {
    value.key.0.len() + value.data.len()
}

/// moxi's `frontcache:` counters (reset by `stats proxy reset`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Gets answered from the cache.
    pub get_hits: u64,
    /// Lookups that found an entry past its lifespan.
    pub get_expires: u64,
    /// Lookups that found nothing live.
    pub get_misses: u64,
    /// Value bytes answered from the cache.
    pub get_bytes: u64,
    /// Entries added.
    pub adds: u64,
    /// Adds skipped: a live entry exists, or the key was invalidated
    /// while its value was being fetched.
    pub add_skips: u64,
    /// Adds refused: the entry alone exceeds the byte budget.
    pub add_fails: u64,
    /// Value bytes added.
    pub add_bytes: u64,
    /// Entries dropped by invalidation (updates, deletes).
    pub deletes: u64,
    /// Entries evicted to make room.
    pub evictions: u64,
}

struct Inner {
    map: LinkedHashMap<Bytes, Entry>,
    bytes: usize,
    epoch: u64,
    slots: Vec<u64>,
    flushed: u64,
    /// Milliseconds from the cache's start to the last flush_all; 0: none.
    oldest_live_ms: u64,
    counters: Counters,
}

/// One pool's front cache.
pub struct FrontCache {
    config: FrontCacheConfig,
    clock: Clock,
    started: Instant,
    hasher: RandomState,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for FrontCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrontCache")
            .field("config", &self.config)
            .field("len", &self.len())
            .finish()
    }
}

impl FrontCache {
    /// An empty cache.
    pub fn new(config: FrontCacheConfig, clock: Clock) -> Self {
        FrontCache {
            started: clock.now(),
            config,
            clock,
            hasher: RandomState::new(),
            inner: Mutex::new(Inner {
                map: LinkedHashMap::new(),
                bytes: 0,
                epoch: 0,
                slots: vec![0; EPOCH_SLOTS],
                flushed: 0,
                oldest_live_ms: 0,
                counters: Counters::default(),
            }),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &FrontCacheConfig {
        &self.config
    }

    /// Whether `key` is cached: the cache is on, a spec prefix matches and
    /// no unspec prefix does.
    pub fn matches(&self, key: &[u8]) -> bool {
        self.config.enabled() && self.config.spec.matches(key) && !self.config.unspec.matches(key)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn slot(&self, key: &[u8]) -> usize {
        (self.hasher.hash_one(key) as usize) % EPOCH_SLOTS
    }

    /// The live entries for the matching keys among `keys` (each once),
    /// and the ticket to add what the servers return for the others.
    pub fn lookup(&self, keys: &[Key]) -> (HashMap<Key, Value>, Ticket) {
        let now = self.clock.now();
        let mut found = HashMap::new();
        let mut inner = self.lock();
        for key in keys {
            if !self.matches(key.as_bytes()) || found.contains_key(key) {
                continue;
            }
            if let Some(v) = inner.hit(key.as_bytes(), now) {
                found.insert(key.clone(), v);
            }
        }
        (found, Ticket(inner.epoch))
    }

    /// The live entry for `key`, if any (counted as a lookup).
    pub fn get(&self, key: &[u8]) -> Option<Value> {
        if !self.matches(key) {
            return None;
        }
        let now = self.clock.now();
        self.lock().hit(key, now)
    }

    /// A ticket for a fetch starting now.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.lock().epoch)
    }

    /// Adds a value a server returned for a fetch that started under
    /// `ticket`. Returns whether it was added.
    pub fn add(&self, value: &Value, ticket: Ticket) -> bool {
        let key = value.key.as_bytes();
        if !self.matches(key) {
            return false;
        }
        let now = self.clock.now();
        let slot = self.slot(key);
        let mut inner = self.lock();
        let stale = inner.flushed > ticket.0 || inner.slots[slot] > ticket.0;
        let live = inner.map.get(key).is_some_and(|e| e.expires > now);
        if stale || live {
            inner.counters.add_skips += 1;
            add(|t| &t.add_skips, 1);
            return false;
        }
        inner.remove(key);
        let entry = Entry {
            value: Value {
                key: Key(Bytes::copy_from_slice(key)),
                flags: value.flags,
                cas: 0,
                data: Bytes::copy_from_slice(&value.data),
            },
            expires: now + self.config.lifespan,
        };
        let size = size_of(&entry.value);
        if size > self.config.max_bytes {
            inner.counters.add_fails += 1;
            add(|t| &t.add_fails, 1);
            return false;
        }
        inner.make_room(self.config.max, self.config.max_bytes - size);
        inner.counters.adds += 1;
        inner.counters.add_bytes += value.data.len() as u64;
        add(|t| &t.adds, 1);
        inner.bytes += size;
        add(|t| &t.entries, 1);
        add(|t| &t.bytes, size as u64);
        inner.map.insert(entry.value.key.0.clone(), entry);
        true
    }

    /// Drops `key` (an update, delete, incr/decr or touch went through the
    /// proxy), and keeps fetches already under way from adding it back.
    pub fn invalidate(&self, key: &[u8]) {
        if !self.matches(key) {
            return;
        }
        let slot = self.slot(key);
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.slots[slot] = inner.epoch;
        if inner.remove(key) {
            inner.counters.deletes += 1;
            add(|t| &t.deletes, 1);
        }
    }

    /// Drops everything (flush_all through the proxy).
    pub fn flush(&self) {
        if !self.config.enabled() {
            return;
        }
        let since = self.clock.now().saturating_duration_since(self.started);
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.flushed = inner.epoch;
        inner.oldest_live_ms = u64::try_from(since.as_millis()).unwrap_or(u64::MAX).max(1);
        inner.clear();
    }

    /// Entries held (live or not yet found expired).
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of keys and values held.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// The counters since the start or the last [`FrontCache::reset_stats`].
    pub fn counters(&self) -> Counters {
        self.lock().counters
    }

    /// `stats proxy reset`: zeroes the counters (entries stay).
    pub fn reset_stats(&self) {
        self.lock().counters = Counters::default();
    }

    /// moxi's `frontcache:` stats, each name prefixed with `prefix`
    /// (`"<port>:<name>:"`): `size`, `max`, `oldest_live` (milliseconds
    /// from the cache's start to the last flush_all, 0 if none), then the
    /// counters.
    pub fn stats(&self, prefix: &str) -> Vec<(String, String)> {
        let inner = self.lock();
        let c = inner.counters;
        let rows: [(&str, u64); 13] = [
            ("size", inner.map.len() as u64),
            ("max", self.config.max as u64),
            ("oldest_live", inner.oldest_live_ms),
            ("tot_get_hits", c.get_hits),
            ("tot_get_expires", c.get_expires),
            ("tot_get_misses", c.get_misses),
            ("tot_get_bytes", c.get_bytes),
            ("tot_adds", c.adds),
            ("tot_add_skips", c.add_skips),
            ("tot_add_fails", c.add_fails),
            ("tot_add_bytes", c.add_bytes),
            ("tot_deletes", c.deletes),
            ("tot_evictions", c.evictions),
        ];
        rows.iter()
            .map(|(name, v)| (format!("{prefix}frontcache:{name}"), v.to_string()))
            .collect()
    }
}

impl Drop for FrontCache {
    fn drop(&mut self) {
        self.lock().clear();
    }
}

impl Inner {
    fn hit(&mut self, key: &[u8], now: Instant) -> Option<Value> {
        let found = self
            .map
            .to_back(key)
            .map(|e| (e.expires > now).then(|| e.value.clone()));
        match found {
            Some(Some(v)) => {
                self.counters.get_hits += 1;
                self.counters.get_bytes += v.data.len() as u64;
                add(|t| &t.hits, 1);
                let n = v.data.len() as u64;
                add(|t| &t.hit_bytes, n);
                Some(v)
            }
            expired => {
                if expired.is_some() {
                    self.remove(key);
                    self.counters.get_expires += 1;
                    add(|t| &t.expires, 1);
                }
                self.counters.get_misses += 1;
                add(|t| &t.misses, 1);
                None
            }
        }
    }

    fn remove(&mut self, key: &[u8]) -> bool {
        match self.map.remove(key) {
            Some(e) => {
                self.forget(&e);
                true
            }
            None => false,
        }
    }

    /// Accounts for an entry taken out of the map.
    fn forget(&mut self, e: &Entry) {
        let size = size_of(&e.value);
        self.bytes -= size;
        sub(|t| &t.entries, 1);
        sub(|t| &t.bytes, size as u64);
    }

    /// Evicts least recently used entries until one more fits under `max`
    /// entries and `max_bytes` bytes.
    fn make_room(&mut self, max: usize, max_bytes: usize) {
        while self.map.len() >= max || self.bytes > max_bytes {
            let Some((_, e)) = self.map.pop_front() else {
                return;
            };
            self.forget(&e);
            self.counters.evictions += 1;
            add(|t| &t.evictions, 1);
        }
    }

    fn clear(&mut self) {
        sub(|t| &t.entries, self.map.len() as u64);
        sub(|t| &t.bytes, self.bytes as u64);
        self.map.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
#[path = "frontcache_tests.rs"]
mod tests;
