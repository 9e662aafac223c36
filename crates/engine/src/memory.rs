//! Memory accounting and eviction.
//!
//! One atomic counts the bytes charged by linked items plus reservations in
//! flight. A store reserves its bytes before it commits; when the limit is
//! reached it frees room *without holding any shard lock*: first dead items
//! at the LRU tails (counted `reclaimed`), then, if eviction is on, the least
//! recently used live items across all shards (counted `evictions`); with
//! eviction off, a full sweep for dead items (at most once a second). Only
//! one shard lock is ever held at a time, so this cannot deadlock.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::engine::Engine;
use crate::shard::Shard;

/// How many times an operation re-runs after freeing room before it gives up
/// (each re-run follows a successful reservation, so this only trips under
/// heavy contention for the last bytes).
const MAX_ATTEMPTS: usize = 8;

/// The global byte count against the limit.
#[derive(Debug)]
pub(crate) struct Memory {
    /// The limit; `cache_memlimit` changes it at run time.
    limit: AtomicUsize,
    used: AtomicUsize,
}

impl Memory {
    /// An empty budget of `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        Memory {
            limit: AtomicUsize::new(limit),
            used: AtomicUsize::new(0),
        }
    }

    /// The current limit in bytes.
    pub(crate) fn limit(&self) -> usize {
        self.limit.load(Ordering::Relaxed)
    }

    /// Sets a new limit. Nothing is evicted now: stores make room as they
    /// need it (memcached's `cache_memlimit` frees nothing at once either).
    pub(crate) fn set_limit(&self, limit: usize) {
        self.limit.store(limit, Ordering::Relaxed);
    }

    /// Claims `n` bytes if they fit under the limit.
    pub(crate) fn try_reserve(&self, n: usize) -> bool {
        let limit = self.limit();
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                u.checked_add(n).filter(|&t| t <= limit)
            })
            .is_ok()
    }

    /// Gives `n` bytes back.
    pub(crate) fn release(&self, n: usize) {
        if n > 0 {
            self.used.fetch_sub(n, Ordering::AcqRel);
        }
    }

    /// Bytes over the limit if `n` more were claimed now.
    fn shortfall(&self, n: usize) -> usize {
        self.used
            .load(Ordering::Acquire)
            .saturating_add(n)
            .saturating_sub(self.limit())
    }
}

/// Bytes an operation may spend while it holds a shard lock: whatever was
/// reserved for it beforehand, topped up from [`Memory`] when that is free.
pub(crate) struct Budget<'a> {
    memory: &'a Memory,
    held: usize,
}

impl Budget<'_> {
    /// Spends `n` bytes; `false` when they are not available without
    /// freeing room (the operation then returns [`Step::Need`]).
    pub(crate) fn take(&mut self, n: usize) -> bool {
        if self.held >= n {
            self.held -= n;
            true
        } else if self.memory.try_reserve(n - self.held) {
            self.held = 0;
            true
        } else {
            false
        }
    }
}

/// What an operation under a shard lock decided.
pub(crate) enum Step<R> {
    /// Finished with this result.
    Done(R),
    /// Needs this many bytes in its budget; run it again once they are reserved.
    Need(usize),
}

impl Engine {
    /// Runs `op` under shard `idx`'s lock. When `op` needs memory it cannot
    /// get, the lock is dropped, room is made and `op` runs again from
    /// scratch (so it re-checks everything it decided). If no room can be
    /// made, `oom` runs under the lock instead.
    pub(crate) fn with_budget<R>(
        &self,
        idx: usize,
        mut op: impl FnMut(&mut Shard, &mut Budget<'_>) -> Step<R>,
        oom: impl FnOnce(&mut Shard) -> R,
    ) -> R {
        let mut held = 0;
        for _ in 0..MAX_ATTEMPTS {
            let step = {
                let mut shard = self.lock(idx);
                let mut budget = Budget {
                    memory: &self.memory,
                    held,
                };
                let step = op(&mut shard, &mut budget);
                held = budget.held;
                step
            };
            match step {
                Step::Done(r) => {
                    self.memory.release(held);
                    return r;
                }
                Step::Need(n) => {
                    let more = n.saturating_sub(held);
                    if !self.make_room(more, idx) {
                        break;
                    }
                    held += more;
                }
            }
        }
        self.memory.release(held);
        oom(&mut self.lock(idx))
    }

    /// Reserves `n` bytes, freeing room as needed. `false` when nothing more
    /// can be freed.
    pub(crate) fn make_room(&self, n: usize, home: usize) -> bool {
        // Never empty the cache for an item that could not fit anyway.
        if n > self.memory.limit() {
            return false;
        }
        while !self.memory.try_reserve(n) {
            if !self.free_some(self.memory.shortfall(n), home) {
                return false;
            }
        }
        true
    }

    /// One round of freeing: reclaim dead tail items in every shard; if none
    /// were found and eviction is on, evict from the shard whose least
    /// recently used item is the oldest. Returns whether anything was freed.
    ///
    /// A shard is locked only when it may hold a dead item (its earliest
    /// exptime has passed, or a flush_all's has) or when it is evicted
    /// from; the oldest stamps are read from the shards' [`Hints`].
    fn free_some(&self, need: usize, home: usize) -> bool {
        let now = self.now();
        let mut reclaimed = 0;
        let mut oldest: Option<(u64, usize)> = None;
        let mut runner_up = u64::MAX;
        for i in 0..self.shard_count() {
            let idx = (home + i) & self.shard_mask();
            let hints = self.hints(idx);
            if hints.may_hold_dead(&now) {
                reclaimed += self.lock(idx).reclaim_tail(&now);
            }
            let stamp = hints.oldest.load(Ordering::Acquire);
            let stamp = (stamp != u64::MAX).then_some(stamp);
            match (stamp, oldest) {
                (Some(t), Some((best, _))) if t < best => {
                    runner_up = best;
                    oldest = Some((t, idx));
                }
                (Some(t), Some(_)) => runner_up = runner_up.min(t),
                (Some(t), None) => oldest = Some((t, idx)),
                (None, _) => {}
            }
        }
        if reclaimed > 0 {
            return true;
        }
        if !self.config().evict {
            return self.sweep_rate_limited(&now) > 0;
        }
        match oldest {
            Some((_, idx)) => self.lock(idx).evict_tail(&now, runner_up, need.max(1)) > 0,
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_and_release() {
        let m = Memory::new(100);
        assert!(m.try_reserve(60));
        assert!(!m.try_reserve(41));
        assert_eq!(m.shortfall(41), 1);
        assert!(m.try_reserve(40));
        m.release(100);
        assert!(m.try_reserve(100));
    }

    #[test]
    fn budget_uses_held_bytes_first() {
        let m = Memory::new(10);
        let mut b = Budget {
            memory: &m,
            held: 5,
        };
        assert!(b.take(3));
        assert_eq!(b.held, 2);
        assert!(b.take(12)); // 2 held + 10 fresh
        assert!(!b.take(1));
    }
}
