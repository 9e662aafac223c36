//! One lock's worth of the key space: an LRU-ordered map (front = least
//! recently used), the bytes it charges, and its own counters.
//!
//! Every removal gives its bytes back to the shared [`Memory`] here, so the
//! global count can never drift from the sum of the shards.

use std::sync::Arc;

use bytes::Bytes;
use hashlink::linked_hash_map::RawEntryMut;
use hashlink::LinkedHashMap;

use crate::expiry::Now;
use crate::item::Entry;
use crate::memory::Memory;
use crate::stats::Stats;

/// How many least-recently-used items a reclaim pass inspects per shard
/// (memcached's `lru_pull_tail` tries 5).
const TAIL_CHECKS: usize = 5;

/// A shard of the cache.
pub(crate) struct Shard {
    map: LinkedHashMap<Bytes, Entry>,
    bytes: usize,
    memory: Arc<Memory>,
    /// Counters of operations on this shard's keys.
    pub(crate) stats: Stats,
}

impl Shard {
    /// An empty shard charging `memory`.
    pub(crate) fn new(memory: Arc<Memory>) -> Self {
        Shard {
            map: LinkedHashMap::new(),
            bytes: 0,
            memory,
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
        match self.map.raw_entry_mut().from_key(key) {
            RawEntryMut::Vacant(_) => None,
            RawEntryMut::Occupied(mut o) => {
                let e = o.get();
                let flushed = now.is_flushed(e);
                if flushed || now.is_expired(e) {
                    let (_, e) = o.remove_entry();
                    self.bytes -= e.size;
                    self.memory.release(e.size);
                    if flushed {
                        self.stats.get_flushed += 1;
                    } else {
                        self.stats.get_expired += 1;
                    }
                    return None;
                }
                if let Some(tick) = bump {
                    o.to_back();
                    let e = o.get_mut();
                    e.access = tick;
                    e.fetched = true;
                }
                Some(o.into_mut())
            }
        }
    }

    /// Makes a live entry most recently used without marking it fetched
    /// (memcached `do_item_update`, e.g. `add` on an existing key).
    pub(crate) fn refresh(&mut self, key: &[u8], rel_now: u64, tick: u64) {
        if let Some(e) = self.map.to_back(key) {
            e.time = rel_now;
            e.access = tick;
        }
    }

    /// Links `entry` under `key`, replacing any entry there, as the most
    /// recently used. The caller has reserved `entry.size` minus the size of
    /// the entry it replaces; any excess is given back.
    pub(crate) fn link(&mut self, key: &[u8], entry: Entry) {
        let new = entry.size;
        self.bytes += new;
        self.stats.total_items += 1;
        let old = match self.map.to_back(key) {
            Some(slot) => std::mem::replace(slot, entry).size,
            None => {
                self.map.insert(Bytes::copy_from_slice(key), entry);
                0
            }
        };
        self.bytes -= old;
        self.memory.release(old.saturating_sub(new));
    }

    /// Unlinks `key`, giving its bytes back.
    pub(crate) fn unlink(&mut self, key: &[u8]) -> Option<Entry> {
        let e = self.map.remove(key)?;
        self.bytes -= e.size;
        self.memory.release(e.size);
        Some(e)
    }

    /// Removes dead entries among the least recently used few; returns the
    /// bytes freed. Counts `reclaimed` and `expired_unfetched`.
    pub(crate) fn reclaim_tail(&mut self, now: &Now) -> usize {
        let dead: Vec<Bytes> = self
            .map
            .iter()
            .take(TAIL_CHECKS)
            .filter(|(_, e)| now.is_dead(e))
            .map(|(k, _)| k.clone())
            .collect();
        let mut freed = 0;
        for key in dead {
            if let Some(e) = self.unlink(&key) {
                freed += e.size;
                self.stats.reclaimed += 1;
                if !e.fetched {
                    self.stats.expired_unfetched += 1;
                }
            }
        }
        freed
    }

    /// Recency stamp of the least recently used entry.
    pub(crate) fn oldest_access(&self) -> Option<u64> {
        self.map.front().map(|(_, e)| e.access)
    }

    /// Evicts least recently used entries until `need` bytes are freed or the
    /// next one is newer than `until` (the oldest entry of another shard).
    /// Always removes at least one entry if there is any. Returns bytes freed.
    pub(crate) fn evict_tail(&mut self, now: &Now, until: u64, need: usize) -> usize {
        let mut freed = 0;
        while let Some((_, e)) = self.map.front() {
            if freed > 0 && (freed >= need || e.access > until) {
                break;
            }
            let Some((_, e)) = self.map.pop_front() else {
                break;
            };
            self.bytes -= e.size;
            self.memory.release(e.size);
            freed += e.size;
            if now.is_dead(&e) {
                self.stats.reclaimed += 1;
                if !e.fetched {
                    self.stats.expired_unfetched += 1;
                }
            } else {
                self.stats.evictions += 1;
                if !e.fetched {
                    self.stats.evicted_unfetched += 1;
                }
            }
        }
        freed
    }

    /// Removes every dead entry (memcached's LRU crawler); returns how many.
    pub(crate) fn crawl(&mut self, now: &Now) -> usize {
        let dead: Vec<Bytes> = self
            .map
            .iter()
            .filter(|(_, e)| now.is_dead(e))
            .map(|(k, _)| k.clone())
            .collect();
        for key in &dead {
            if let Some(e) = self.unlink(key) {
                self.stats.crawler_reclaimed += 1;
                if !e.fetched {
                    self.stats.expired_unfetched += 1;
                }
            }
        }
        dead.len()
    }

    /// Counters plus the `curr_items` and `bytes` gauges.
    pub(crate) fn snapshot(&self) -> Stats {
        let mut s = self.stats.clone();
        s.curr_items = self.map.len() as u64;
        s.bytes = self.bytes as u64;
        s
    }
}
