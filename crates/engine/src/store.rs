//! Storage commands: set, add, replace, append, prepend, cas (memcached
//! `process_update_command` + `do_store_item`).
//!
//! Rules carried over from memcached 1.6.18:
//! - a non-zero CAS turns set/add/replace into a CAS store (binary
//!   protocol); append/prepend compare a non-zero CAS but stay append/prepend;
//! - `add` on a live key answers NOT_STORED and makes that key most recently
//!   used;
//! - append/prepend keep the old flags and exptime; a result over the size
//!   limit is NOT_STORED;
//! - a SET refused as too large or for lack of memory also removes the old
//!   value, so a stale value never outlives a failed overwrite;
//! - an item stored with an exptime already past is linked but invisible.

use bytes::Bytes;
use protocol::StoreMode;

use crate::engine::Engine;
use crate::expiry::Now;
use crate::item::{Entry, StoreOutcome};
use crate::memory::{Budget, Step};
use crate::shard::Shard;

/// A store's inputs after the size check.
struct Put<'a> {
    s: MetaStore<'a>,
    /// `s.exptime` as a relative time.
    exptime: u64,
    size: usize,
    now: Now,
    tick: u64,
}

/// A store as [`Engine::meta_store`] takes it.
#[derive(Clone, Debug)]
pub struct MetaStore<'a> {
    /// The storage mode.
    pub mode: StoreMode,
    /// The key.
    pub key: &'a [u8],
    /// Client flags.
    pub flags: u32,
    /// Raw exptime.
    pub exptime: i64,
    /// The value.
    pub value: Bytes,
    /// CAS to compare, as for [`Engine::store`].
    pub cas: u64,
    /// A CAS store with an older CAS stores a stale item instead of failing.
    pub stale_ok: bool,
    /// The key came base64-encoded (`ms ... b`); meta replies show it so.
    pub binary_key: bool,
}

impl Engine {
    /// Stores `value` under `key` (protocol.txt, "Storage commands"). `cas`
    /// is the unique to compare: always for [`StoreMode::Cas`], and for any
    /// mode when non-zero (binary). Counts `cmd_set` and the CAS counters.
    pub fn store(
        &self,
        mode: StoreMode,
        key: &[u8],
        flags: u32,
        exptime: i64,
        value: Bytes,
        cas: u64,
    ) -> StoreOutcome {
        self.meta_store(MetaStore {
            mode,
            key,
            flags,
            exptime,
            value,
            cas,
            stale_ok: false,
            binary_key: false,
        })
    }

    /// [`Engine::store`] with meta's one extra: `stale_ok` (`ms ... I`)
    /// lets a CAS store whose CAS is older than the item's replace it as a
    /// stale item, keeping the old exptime and win token (memcached
    /// `do_store_item`, `CAS_STALE`).
    pub fn meta_store(&self, s: MetaStore<'_>) -> StoreOutcome {
        if !self.item_fits(s.key.len(), s.flags, s.value.len()) {
            self.reject_too_large(s.mode, s.key);
            return StoreOutcome::TooLarge;
        }
        let now = self.now();
        let put = Put {
            exptime: self.realtime(s.exptime, now.rel),
            size: self.item_size(s.key.len(), s.flags, s.value.len()),
            now,
            tick: self.tick(),
            s,
        };
        match put.s.mode {
            StoreMode::Append | StoreMode::Prepend => self.concat(&put),
            _ => self.put(&put),
        }
    }

    /// Records a store refused for size before its data was read: counts
    /// `store_too_large` and, for SET only, unlinks the old item (memcached
    /// `process_update_command`).
    pub fn reject_too_large(&self, mode: StoreMode, key: &[u8]) {
        let now = self.now();
        let mut shard = self.lock(self.shard_of(key));
        shard.stats.store_too_large += 1;
        if mode == StoreMode::Set && shard.lookup(key, &now, None).is_some() {
            shard.unlink(key);
        }
    }

    /// set, add, replace, cas.
    fn put(&self, p: &Put<'_>) -> StoreOutcome {
        self.with_budget(
            self.shard_of(p.s.key),
            |shard, budget| {
                let step = self.put_locked(shard, budget, p);
                if matches!(step, Step::Done(_)) {
                    shard.stats.cmd_set += 1;
                }
                step
            },
            |shard| {
                shard.stats.store_no_memory += 1;
                if p.s.mode == StoreMode::Set && shard.lookup(p.s.key, &p.now, None).is_some() {
                    shard.unlink(p.s.key);
                }
                StoreOutcome::OutOfMemory
            },
        )
    }

    fn put_locked(
        &self,
        shard: &mut Shard,
        budget: &mut Budget<'_>,
        p: &Put<'_>,
    ) -> Step<StoreOutcome> {
        let old = shard
            .lookup(p.s.key, &p.now, None)
            .map(|e| (e.cas(), e.size(self.config().cas_enabled)));
        let mut stale = None;
        if p.s.mode == StoreMode::Cas || p.s.cas != 0 {
            match old {
                None => {
                    shard.stats.cas_misses += 1;
                    return Step::Done(StoreOutcome::NotFound);
                }
                Some((current, _)) if p.s.stale_ok && p.s.cas != 0 && p.s.cas < current => {
                    stale = shard
                        .lookup(p.s.key, &p.now, None)
                        .map(|e| (e.exptime(), e.bit(Entry::TOKEN_SENT)));
                }
                // A CAS of 0 never matches (memcached: CAS_NONE is a bad value
                // for the cas command); with CAS disabled every item reads 0.
                Some((current, _)) if p.s.cas == 0 || p.s.cas != current => {
                    shard.stats.cas_badval += 1;
                    return Step::Done(StoreOutcome::Exists);
                }
                Some(_) => {}
            }
        } else {
            match (p.s.mode, old) {
                (StoreMode::Add, Some(_)) => {
                    shard.refresh(p.s.key, p.now.rel, p.tick);
                    return Step::Done(StoreOutcome::NotStored);
                }
                (StoreMode::Replace, None) => return Step::Done(StoreOutcome::NotStored),
                _ => {}
            }
        }
        let need = p.size.saturating_sub(old.map_or(0, |(_, size)| size));
        if !budget.take(need) {
            return Step::Need(need);
        }
        let cas = self.next_cas();
        let mut entry = self.entry(p, &[&p.s.value], p.s.flags, p.exptime, cas);
        if let Some((exptime, token_sent)) = stale {
            entry.set_exptime(exptime);
            entry.set_bit(Entry::STALE, true);
            entry.set_bit(Entry::TOKEN_SENT, token_sent);
        }
        entry.set_bit(Entry::KEY_BINARY, p.s.binary_key);
        shard.link(entry, p.tick);
        if p.s.mode == StoreMode::Cas || p.s.cas != 0 {
            shard.stats.cas_hits += 1;
        }
        Step::Done(StoreOutcome::Stored { cas })
    }

    /// append, prepend.
    fn concat(&self, p: &Put<'_>) -> StoreOutcome {
        self.with_budget(
            self.shard_of(p.s.key),
            |shard, budget| {
                let step = self.concat_locked(shard, budget, p);
                if matches!(step, Step::Done(_)) {
                    shard.stats.cmd_set += 1;
                }
                step
            },
            // memcached answers NOT_STORED when the joined item cannot be allocated.
            |shard| {
                shard.stats.cmd_set += 1;
                StoreOutcome::NotStored
            },
        )
    }

    fn concat_locked(
        &self,
        shard: &mut Shard,
        budget: &mut Budget<'_>,
        p: &Put<'_>,
    ) -> Step<StoreOutcome> {
        let Some(old) = shard.lookup(p.s.key, &p.now, None) else {
            return Step::Done(StoreOutcome::NotStored);
        };
        if p.s.cas != 0 && p.s.cas != old.cas() {
            return Step::Done(StoreOutcome::Exists);
        }
        let (flags, exptime, old_size) = (
            old.flags(),
            old.exptime(),
            old.size(self.config().cas_enabled),
        );
        let size = self.item_size(p.s.key.len(), flags, old.data().len() + p.s.value.len());
        if size > self.config().item_size_max {
            return Step::Done(StoreOutcome::NotStored);
        }
        let need = size.saturating_sub(old_size);
        if !budget.take(need) {
            return Step::Need(need);
        }
        let cas = self.next_cas();
        let entry = if p.s.mode == StoreMode::Prepend {
            self.entry(p, &[&p.s.value, old.data()], flags, exptime, cas)
        } else {
            self.entry(p, &[old.data(), &p.s.value], flags, exptime, cas)
        };
        shard.link(entry, p.tick);
        Step::Done(StoreOutcome::Stored { cas })
    }

    /// A fresh, unfetched entry for `p`'s key stamped with the operation's
    /// time, its value `parts` joined (copied: the entry owns its bytes).
    fn entry(&self, p: &Put<'_>, parts: &[&[u8]], flags: u32, exptime: u64, cas: u64) -> Entry {
        Entry::new(p.s.key, parts, flags, exptime, p.now.rel, cas)
    }
}
