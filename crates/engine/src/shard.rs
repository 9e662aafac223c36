//! One lock's worth of the key space: an LRU-ordered map (front = least
//! recently used), the bytes it charges, and its own counters.
//!
//! Every removal gives its bytes back to the shared [`Memory`] here, so the
//! global count can never drift from the sum of the shards.

use std::sync::Arc;

use crate::expiry::Now;
use crate::item::Entry;
use crate::memory::Memory;
use crate::stats::Stats;
use crate::table::Table;

/// How many least-recently-used items a reclaim pass inspects per shard
/// (memcached's `lru_pull_tail` tries 5).
const TAIL_CHECKS: usize = 5;

/// A shard of the cache.
pub(crate) struct Shard {
    table: Table,
    bytes: usize,
    memory: Arc<Memory>,
    cas_enabled: bool,
    /// Counters of operations on this shard's keys.
    pub(crate) stats: Stats,
}

impl Shard {
    /// An empty shard charging `memory`; items are charged with the CAS
    /// field when `cas_enabled`.
    pub(crate) fn new(memory: Arc<Memory>, cas_enabled: bool) -> Self {
        Shard {
            table: Table::new(),
            bytes: 0,
            memory,
            cas_enabled,
            stats: Stats::default(),
        }
    }

    /// memcached's `do_item_get`: the live entry for `key`, or `None`. A dead
    /// (expired or flushed) entry is unlinked and counted as `get_expired` /
    /// `get_flushed`. With `bump = Some(tick)` a hit becomes most recently
    /// used and fetched.
    pub(crate) fn lookup(
        &mut self,
        key: &[u8],
        now: &Now,
        bump: Option<u64>,
    ) -> Option<&mut Entry> {
        let i = self.table.find(key)?;
        let e = self.table.entry(i);
        let flushed = now.is_flushed(e);
        if flushed || now.is_expired(e) {
            self.remove(i);
            if flushed {
                self.stats.get_flushed += 1;
            } else {
                self.stats.get_expired += 1;
            }
            return None;
        }
        if let Some(tick) = bump {
            self.table.make_recent(i, tick);
            self.table.entry_mut(i).set_fetched();
        }
        Some(self.table.entry_mut(i))
    }

    /// Makes a live entry most recently used without marking it fetched
    /// (memcached `do_item_update`, e.g. `add` on an existing key).
    pub(crate) fn refresh(&mut self, key: &[u8], rel_now: u64, tick: u64) {
        if let Some(i) = self.table.find(key) {
            self.table.make_recent(i, tick);
            self.table.entry_mut(i).set_time(rel_now);
        }
    }

    /// Links `entry` under its key, replacing any entry there, as the most
    /// recently used, stamped `tick`. The caller has reserved the entry's
    /// size minus the size of the entry it replaces; any excess is given back.
    pub(crate) fn link(&mut self, entry: Entry, tick: u64) {
        let new = entry.size(self.cas_enabled);
        self.bytes += new;
        self.stats.total_items += 1;
        let old = match self.table.find(entry.key()) {
            Some(i) => self.table.replace(i, entry, tick).size(self.cas_enabled),
            None => {
                self.table.insert(entry, tick);
                0
            }
        };
        self.bytes -= old;
        self.memory.release(old.saturating_sub(new));
    }

    /// Unlinks `key`, giving its bytes back.
    pub(crate) fn unlink(&mut self, key: &[u8]) -> Option<Entry> {
        let i = self.table.find(key)?;
        Some(self.remove(i))
    }

    /// Unlinks slot `i`, giving its bytes back.
    fn remove(&mut self, i: u32) -> Entry {
        let e = self.table.remove(i);
        let size = e.size(self.cas_enabled);
        self.bytes -= size;
        self.memory.release(size);
        e
    }

    /// Removes dead entries among the least recently used few; returns the
    /// bytes freed. Counts `reclaimed` and `expired_unfetched`.
    pub(crate) fn reclaim_tail(&mut self, now: &Now) -> usize {
        let dead = self.dead(now, TAIL_CHECKS);
        let mut freed = 0;
        for i in dead {
            let e = self.remove(i);
            freed += e.size(self.cas_enabled);
            self.stats.reclaimed += 1;
            if !e.fetched() {
                self.stats.expired_unfetched += 1;
            }
        }
        freed
    }

    /// The dead entries among the `limit` least recently used.
    fn dead(&self, now: &Now, limit: usize) -> Vec<u32> {
        let mut dead = Vec::new();
        let mut at = self.table.front();
        for _ in 0..limit {
            let Some(i) = at else { break };
            if now.is_dead(self.table.entry(i)) {
                dead.push(i);
            }
            at = self.table.next(i);
        }
        dead
    }

    /// Recency stamp of the least recently used entry.
    pub(crate) fn oldest_access(&self) -> Option<u64> {
        self.table.front().map(|i| self.table.access(i))
    }

    /// Evicts least recently used entries until `need` bytes are freed or the
    /// next one is newer than `until` (the oldest entry of another shard).
    /// Always removes at least one entry if there is any. Returns bytes freed.
    pub(crate) fn evict_tail(&mut self, now: &Now, until: u64, need: usize) -> usize {
        let mut freed = 0;
        while let Some(i) = self.table.front() {
            if freed > 0 && (freed >= need || self.table.access(i) > until) {
                break;
            }
            let e = self.remove(i);
            freed += e.size(self.cas_enabled);
            if now.is_dead(&e) {
                self.stats.reclaimed += 1;
                if !e.fetched() {
                    self.stats.expired_unfetched += 1;
                }
            } else {
                self.stats.evictions += 1;
                if !e.fetched() {
                    self.stats.evicted_unfetched += 1;
                }
            }
        }
        freed
    }

    /// Removes every dead entry (memcached's LRU crawler); returns how many.
    pub(crate) fn crawl(&mut self, now: &Now) -> usize {
        let dead = self.dead(now, usize::MAX);
        for &i in &dead {
            let e = self.remove(i);
            self.stats.crawler_reclaimed += 1;
            if !e.fetched() {
                self.stats.expired_unfetched += 1;
            }
        }
        dead.len()
    }

    /// Counters plus the `curr_items` and `bytes` gauges.
    pub(crate) fn snapshot(&self) -> Stats {
        let mut s = self.stats.clone();
        s.curr_items = self.table.len() as u64;
        s.bytes = self.bytes as u64;
        s
    }
}
