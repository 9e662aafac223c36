//! The [`Engine`]: shards, the CAS counter, the flush watermark, and the
//! read-side commands (get, gat, touch, delete, flush_all, stats). Stores
//! live in `store.rs`, incr/decr in `arith.rs`, eviction in `memory.rs`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use bytes::Bytes;

use crate::clock::Clock;
use crate::config::Config;
use crate::expiry::{FlushState, Now, Timebase};
use crate::item::{item_size, DeleteOutcome, Item};
use crate::memory::Memory;
use crate::shard::{Hints, Shard};
use crate::stats::Stats;

/// A shard lock on its own cache lines, so neighbouring locks do not
/// false-share.
#[repr(align(128))]
struct Padded {
    shard: Mutex<Shard>,
    /// Read by stores that need room without taking `shard`'s lock.
    hints: Arc<Hints>,
}

/// The embedded cache. Shareable across threads (`Arc<Engine>`); every call
/// locks only the shard of its key.
pub struct Engine {
    config: Config,
    clock: Arc<dyn Clock>,
    timebase: Timebase,
    shards: Box<[Padded]>,
    pub(crate) memory: Arc<Memory>,
    flush: FlushState,
    next_cas: AtomicU64,
    cmd_flush: AtomicU64,
    last_sweep: AtomicU64,
    epoch: Instant,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An empty cache. `config.shards` is rounded up to a power of two (at
    /// least 1). The engine's relative clock starts at `clock`'s now.
    pub fn new(config: Config, clock: Arc<dyn Clock>) -> Self {
        let memory = Arc::new(Memory::new(config.max_bytes));
        let n = config.shards.max(1).next_power_of_two();
        let shards = (0..n)
            .map(|_| {
                let hints = Arc::new(Hints::default());
                let shard = Shard::new(memory.clone(), config.cas_enabled, hints.clone());
                Padded {
                    shard: Mutex::new(shard),
                    hints,
                }
            })
            .collect();
        Engine {
            timebase: Timebase::new(clock.unix_now()),
            config,
            clock,
            shards,
            memory,
            flush: FlushState::default(),
            next_cas: AtomicU64::new(0),
            cmd_flush: AtomicU64::new(0),
            last_sweep: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Bytes an item would be charged ([`crate::item_size`] with this
    /// engine's CAS setting).
    pub fn item_size(&self, nkey: usize, flags: u32, nvalue: usize) -> usize {
        item_size(nkey, flags, nvalue, self.config.cas_enabled)
    }

    /// True when an item of this shape is within `item_size_max`; a server
    /// can check this before reading a data block (then call
    /// [`Engine::reject_too_large`] if not).
    pub fn item_fits(&self, nkey: usize, flags: u32, nvalue: usize) -> bool {
        self.item_size(nkey, flags, nvalue) <= self.config.item_size_max
    }

    /// Looks up `key` (memcached `get`): counts `cmd_get` and a hit or miss,
    /// and makes a hit most recently used.
    pub fn get(&self, key: &[u8]) -> Option<Item> {
        let mut item = None;
        self.get_with(key, |flags, cas, data| {
            item = Some(Item {
                flags,
                cas,
                data: Bytes::copy_from_slice(data),
            })
        });
        item
    }

    /// [`Engine::get`] without a copy of the value: on a hit, calls `read`
    /// with the item's flags, CAS and value while its shard is locked (a
    /// server writes the reply straight into its buffer). True on a hit.
    pub fn get_with(&self, key: &[u8], read: impl FnOnce(u32, u64, &[u8])) -> bool {
        let now = self.now();
        let tick = self.tick();
        let mut shard = self.lock(self.shard_of(key));
        shard.stats.cmd_get += 1;
        match shard.lookup(key, &now, Some(tick)) {
            Some(e) => {
                read(e.flags(), e.cas(), e.data());
                shard.stats.get_hits += 1;
                true
            }
            None => {
                shard.stats.get_misses += 1;
                false
            }
        }
    }

    /// Get-and-touch (memcached `gat`): sets a new exptime on a hit and
    /// returns the item. Counts `cmd_touch` and `touch_hits`/`touch_misses`
    /// (not the get counters, as memcached).
    pub fn touch_get(&self, key: &[u8], exptime: i64) -> Option<Item> {
        let now = self.now();
        let exptime = self.timebase.realtime(exptime, now.rel);
        let tick = self.tick();
        let mut shard = self.lock(self.shard_of(key));
        shard.stats.cmd_touch += 1;
        let item = shard.lookup(key, &now, Some(tick)).map(|e| {
            e.set_exptime(exptime);
            e.to_item()
        });
        if item.is_some() {
            shard.note_exptime(exptime);
        }
        match item {
            Some(item) => {
                shard.stats.touch_hits += 1;
                Some(item)
            }
            None => {
                shard.stats.touch_misses += 1;
                None
            }
        }
    }

    /// Sets a new exptime (memcached `touch`); returns the item's CAS, or
    /// `None` when it is missing. The CAS does not change.
    pub fn touch(&self, key: &[u8], exptime: i64) -> Option<u64> {
        self.touch_get(key, exptime).map(|item| item.cas)
    }

    /// Removes `key`. A non-zero `cas` (binary) must match, else `Exists`.
    pub fn delete(&self, key: &[u8], cas: u64) -> DeleteOutcome {
        let now = self.now();
        let mut shard = self.lock(self.shard_of(key));
        let current = shard.lookup(key, &now, None).map(|e| e.cas());
        match current {
            None => {
                shard.stats.delete_misses += 1;
                DeleteOutcome::NotFound
            }
            Some(c) if cas != 0 && cas != c => DeleteOutcome::Exists,
            Some(_) => {
                shard.unlink(key);
                shard.stats.delete_hits += 1;
                DeleteOutcome::Deleted
            }
        }
    }

    /// memcached `flush_all [delay]`: items last stored or updated before
    /// the flush time become invisible once it arrives. A delay of 0 or less
    /// flushes now; items stored after a flush (even in the same second)
    /// survive when CAS is enabled, as in memcached. Without CAS, items
    /// stored in the same second as an immediate flush are flushed too.
    pub fn flush_all(&self, delay: i64) {
        self.cmd_flush.fetch_add(1, Ordering::Relaxed);
        let rel = self.rel_now();
        let new_oldest = if delay > 0 {
            self.timebase.realtime(delay, rel)
        } else {
            rel
        };
        if self.config.cas_enabled {
            let oldest_live = new_oldest.saturating_sub(1);
            let oldest_cas = (oldest_live <= rel).then(|| self.next_cas());
            self.flush.set(oldest_live, oldest_cas);
        } else {
            self.flush.set(new_oldest, None);
        }
    }

    /// A snapshot of the statistics, summed over shards.
    pub fn stats(&self) -> Stats {
        let mut total = Stats::default();
        for i in 0..self.shard_count() {
            total.absorb(&self.lock(i).snapshot());
        }
        total.cmd_flush = self.cmd_flush.load(Ordering::Relaxed);
        total.limit_maxbytes = self.memory.limit() as u64;
        total
    }

    /// The item memory limit in bytes (`-m`, or the last `cache_memlimit`).
    pub fn max_bytes(&self) -> usize {
        self.memory.limit()
    }

    /// memcached `cache_memlimit`: a new item memory limit. Nothing is
    /// evicted at once; stores make room as they need it.
    pub fn set_max_bytes(&self, max_bytes: usize) {
        self.memory.set_limit(max_bytes);
    }

    /// memcached `stats reset`: zeroes the counters (not `curr_items`/`bytes`).
    pub fn reset_stats(&self) {
        for i in 0..self.shard_count() {
            self.lock(i).stats.reset();
        }
        self.cmd_flush.store(0, Ordering::Relaxed);
    }

    /// Removes every expired or flushed item now, as memcached's background
    /// LRU crawler eventually does; returns how many. Optional: dead items
    /// are otherwise removed when touched or when room is needed.
    pub fn crawl(&self) -> usize {
        let now = self.now();
        (0..self.shard_count())
            .map(|i| self.lock(i).crawl(&now))
            .sum()
    }

    // ---- crate-internal helpers -------------------------------------------

    /// A full [`Engine::crawl`], at most once per second: the fallback when
    /// room is needed, eviction is off and no LRU tail holds a dead item.
    pub(crate) fn sweep_rate_limited(&self, now: &Now) -> usize {
        if self.last_sweep.swap(now.rel, Ordering::AcqRel) == now.rel {
            return 0;
        }
        (0..self.shard_count())
            .map(|i| self.lock(i).crawl(now))
            .sum()
    }

    /// Locks shard `idx`. A panic elsewhere while holding the lock cannot
    /// leave a shard half-updated in a way that breaks its invariants for
    /// readers, so a poisoned lock is used as is.
    pub(crate) fn lock(&self, idx: usize) -> MutexGuard<'_, Shard> {
        self.shards[idx]
            .shard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// What shard `idx` publishes for stores that need room.
    pub(crate) fn hints(&self, idx: usize) -> &Hints {
        &self.shards[idx].hints
    }

    /// Number of shards (a power of two).
    pub(crate) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// `shard_count() - 1`.
    pub(crate) fn shard_mask(&self) -> usize {
        self.shards.len() - 1
    }

    /// The shard owning `key`.
    pub(crate) fn shard_of(&self, key: &[u8]) -> usize {
        (shard_hash(key) >> 32) as usize & self.shard_mask()
    }

    /// Relative seconds now.
    pub(crate) fn rel_now(&self) -> u64 {
        self.timebase.rel(self.clock.unix_now())
    }

    /// This operation's view of time and flushes.
    pub(crate) fn now(&self) -> Now {
        Now::new(self.rel_now(), &self.flush, self.config.cas_enabled)
    }

    /// Relative expiry for a raw exptime.
    pub(crate) fn realtime(&self, exptime: i64, rel_now: u64) -> u64 {
        self.timebase.realtime(exptime, rel_now)
    }

    /// A recency stamp, comparable across shards.
    pub(crate) fn tick(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// A fresh CAS unique, or 0 when CAS is disabled.
    pub(crate) fn next_cas(&self) -> u64 {
        if self.config.cas_enabled {
            self.next_cas.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            0
        }
    }
}

/// FNV-1a with a final mix: fast, and only used to pick a shard (each
/// shard's map uses a randomly keyed hasher, so hostile keys cannot
/// degrade lookups).
fn shard_hash(key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}
