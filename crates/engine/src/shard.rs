//! One lock's worth of the key space: an LRU-ordered map (front = least
//! recently used), the bytes it charges, and its own counters.
//!
//! Every removal gives its bytes back to the shared [`Memory`] here, so the
//! global count can never drift from the sum of the shards.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::expiry::Now;
use crate::item::Entry;
use crate::memory::Memory;
use crate::stats::Stats;
use crate::table::Table;

/// How many least-recently-used items a reclaim pass inspects per shard
/// (memcached's `lru_pull_tail` tries 5).
const TAIL_CHECKS: usize = 5;

/// What a store that needs room reads of every shard without taking its
/// lock (kept by the shard under its lock).
#[derive(Debug)]
pub(crate) struct Hints {
    /// Recency stamp of the least recently used entry; `u64::MAX` when the
    /// shard is empty.
    pub(crate) oldest: AtomicU64,
    /// No entry expires before this relative time (a lower bound: it only
    /// falls). `u64::MAX`: no entry has an exptime.
    pub(crate) earliest_exptime: AtomicU64,
}

impl Default for Hints {
    fn default() -> Self {
        Hints {
            oldest: AtomicU64::new(u64::MAX),
            earliest_exptime: AtomicU64::new(u64::MAX),
        }
    }
}

impl Hints {
    /// True when the shard may hold an expired or flushed entry at `now`.
    pub(crate) fn may_hold_dead(&self, now: &Now) -> bool {
        now.flush_passed() || self.earliest_exptime.load(Ordering::Acquire) <= now.rel
    }
}

/// A shard of the cache.
pub(crate) struct Shard {
    table: Table,
    bytes: usize,
    memory: Arc<Memory>,
    cas_enabled: bool,
    hints: Arc<Hints>,
    /// Counters of operations on this shard's keys.
    pub(crate) stats: Stats,
}

impl Shard {
    /// An empty shard charging `memory`; items are charged with the CAS
    /// field when `cas_enabled`.
    pub(crate) fn new(memory: Arc<Memory>, cas_enabled: bool, hints: Arc<Hints>) -> Self {
        Shard {
            table: Table::new(),
            bytes: 0,
            memory,
            cas_enabled,
            hints,
            stats: Stats::default(),
        }
    }

    /// Publishes the least recently used entry's stamp when the front of
    /// the LRU list is no longer `before`, or is `touched` (restamped: the
    /// only entry, read again).
    fn sync_oldest(&self, before: Option<u32>, touched: Option<u32>) {
        let front = self.table.front();
        if front != before || (front.is_some() && front == touched) {
            let stamp = front.map_or(u64::MAX, |i| self.table.access(i));
            self.hints.oldest.store(stamp, Ordering::Release);
        }
    }

    /// Records that an entry expires at `exptime` (0: never).
    pub(crate) fn note_exptime(&self, exptime: u64) {
        if exptime != 0 {
            self.hints
                .earliest_exptime
                .fetch_min(exptime, Ordering::AcqRel);
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
        let before = self.table.front();
        let e = self.table.entry(i);
        let flushed = now.is_flushed(e);
        if flushed || now.is_expired(e) {
            self.remove(i);
            self.sync_oldest(before, None);
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
            self.sync_oldest(before, Some(i));
        }
        Some(self.table.entry_mut(i))
    }

    /// Makes a live entry most recently used without marking it fetched
    /// (memcached `do_item_update`, e.g. `add` on an existing key).
    pub(crate) fn refresh(&mut self, key: &[u8], rel_now: u64, tick: u64) {
        if let Some(i) = self.table.find(key) {
            let before = self.table.front();
            self.table.make_recent(i, tick);
            self.table.entry_mut(i).set_time(rel_now);
            self.sync_oldest(before, Some(i));
        }
    }

    /// Links `entry` under its key, replacing any entry there, as the most
    /// recently used, stamped `tick`. The caller has reserved the entry's
    /// size minus the size of the entry it replaces; any excess is given back.
    pub(crate) fn link(&mut self, entry: Entry, tick: u64) {
        let new = entry.size(self.cas_enabled);
        self.bytes += new;
        self.stats.total_items += 1;
        self.note_exptime(entry.exptime());
        let before = self.table.front();
        let (slot, old) = match self.table.find(entry.key()) {
            Some(i) => (i, self.table.replace(i, entry, tick).size(self.cas_enabled)),
            None => (self.table.insert(entry, tick), 0),
        };
        self.sync_oldest(before, Some(slot));
        self.bytes -= old;
        self.memory.release(old.saturating_sub(new));
    }

    /// Unlinks `key`, giving its bytes back.
    pub(crate) fn unlink(&mut self, key: &[u8]) -> Option<Entry> {
        let i = self.table.find(key)?;
        let before = self.table.front();
        let e = self.remove(i);
        self.sync_oldest(before, None);
        Some(e)
    }

    /// Unlinks slot `i`, giving its bytes back. The caller publishes the
    /// new oldest stamp ([`Shard::sync_oldest`]).
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
        let before = self.table.front();
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
        self.sync_oldest(before, None);
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

    /// Evicts least recently used entries until `need` bytes are freed or the
    /// next one is newer than `until` (the oldest entry of another shard).
    /// Always removes at least one entry if there is any. Returns bytes freed.
    pub(crate) fn evict_tail(&mut self, now: &Now, until: u64, need: usize) -> usize {
        let before = self.table.front();
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
        self.sync_oldest(before, None);
        freed
    }

    /// Removes every dead entry (memcached's LRU crawler); returns how many.
    pub(crate) fn crawl(&mut self, now: &Now) -> usize {
        let before = self.table.front();
        let dead = self.dead(now, usize::MAX);
        for &i in &dead {
            let e = self.remove(i);
            self.stats.crawler_reclaimed += 1;
            if !e.fetched() {
                self.stats.expired_unfetched += 1;
            }
        }
        self.sync_oldest(before, None);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expiry::FlushState;

    #[test]
    fn hints_follow_the_lru_front_and_the_earliest_exptime() {
        let hints = Arc::new(Hints::default());
        let memory = Arc::new(Memory::new(1 << 20));
        let mut s = Shard::new(memory.clone(), true, hints.clone());
        let link = |s: &mut Shard, key: &str, exptime: u64, tick: u64| {
            let e = Entry::new(key.as_bytes(), &[b"v"], 0, exptime, 0, 0);
            assert!(memory.try_reserve(e.size(true)));
            s.link(e, tick);
        };
        let flush = FlushState::default();
        let now = Now::new(10, &flush, true);
        let oldest = || hints.oldest.load(Ordering::Acquire);
        assert_eq!(oldest(), u64::MAX, "empty");
        link(&mut s, "a", 0, 1);
        link(&mut s, "b", 0, 2);
        assert_eq!(oldest(), 1);
        assert!(
            !hints.may_hold_dead(&now),
            "nothing expires, nothing flushed"
        );
        // Reading the oldest makes the next one the oldest.
        assert!(s.lookup(b"a", &now, Some(3)).is_some());
        assert_eq!(oldest(), 2);
        // The only entry of a shard, read again, carries its new stamp.
        let lone = Arc::new(Hints::default());
        let mut one = Shard::new(memory.clone(), true, lone.clone());
        link(&mut one, "z", 0, 5);
        assert!(one.lookup(b"z", &now, Some(6)).is_some());
        assert_eq!(lone.oldest.load(Ordering::Acquire), 6);
        link(&mut s, "c", 15, 4);
        assert!(!hints.may_hold_dead(&now));
        assert!(hints.may_hold_dead(&Now::new(15, &flush, true)));
        s.unlink(b"b");
        assert_eq!(oldest(), 3);
        let bytes = s.snapshot().bytes as usize;
        assert_eq!(s.evict_tail(&now, u64::MAX, usize::MAX), bytes);
        assert_eq!(oldest(), u64::MAX, "empty again");
    }
}
