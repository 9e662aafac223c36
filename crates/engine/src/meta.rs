//! What the meta commands need beyond the classic ones (memcached 1.6.18
//! `process_mget_command`, `process_mdelete_command`,
//! `process_meta_command`): reading an item's state under its shard lock
//! (TTL left, last access, fetched), the stale bit and the win token, and
//! vivify-on-miss. What a meta reply looks like is the server's business;
//! this module only keeps the item state those replies read.

use crate::engine::Engine;
use crate::expiry::Now;
use crate::item::{DeleteOutcome, Entry, ITEM_HEADER_LEN};
use crate::memory::Step;
use crate::shard::Shard;

/// A live item as a meta command sees it, under its shard's lock.
pub struct MetaView<'a> {
    entry: &'a mut Entry,
    engine: &'a Engine,
    rel_now: u64,
    created: bool,
    /// A `T` flag set the TTL (counted as a touch).
    touched: bool,
    /// The exptime changed (noted in the shard's expiry hints).
    ttl_changed: bool,
}

impl MetaView<'_> {
    /// Client flags.
    pub fn flags(&self) -> u32 {
        self.entry.flags()
    }

    /// CAS unique.
    pub fn cas(&self) -> u64 {
        self.entry.cas()
    }

    /// The value.
    pub fn data(&self) -> &[u8] {
        self.entry.data()
    }

    /// Seconds left to live, -1 for never (memcached's `t` flag). Like
    /// memcached's unsigned 32-bit subtraction, an exptime already past (a
    /// vivify with a negative TTL) wraps to a large number.
    pub fn ttl(&self) -> i64 {
        match self.entry.exptime() {
            0 => -1,
            e => i64::from((e as u32).wrapping_sub(self.rel_now as u32)),
        }
    }

    /// Sets a new raw exptime (the `T` flag); `mg` then counts as a touch.
    pub fn set_ttl(&mut self, exptime: i64) {
        self.set_vivified_ttl(exptime);
        self.touched = true;
    }

    /// Sets the raw exptime of an item this command created (the `N`
    /// flag), which memcached does not count as a touch.
    pub fn set_vivified_ttl(&mut self, exptime: i64) {
        let e = self.engine.realtime(exptime, self.rel_now);
        self.entry.set_exptime(e);
        self.ttl_changed = true;
    }

    /// True when the item expires, and before raw exptime `recache` would
    /// (the `R` flag's test).
    pub fn expires_before(&self, recache: i64) -> bool {
        let e = self.entry.exptime();
        e != 0 && e < self.engine.realtime(recache, self.rel_now)
    }

    /// Seconds since the item was last stored or bumped (the `l` flag).
    pub fn last_access(&self) -> u64 {
        self.rel_now.saturating_sub(self.entry.time())
    }

    /// Read before (the `h` flag).
    pub fn fetched(&self) -> bool {
        self.entry.fetched()
    }

    /// Marked stale by `md ... I` (or stored stale by `ms ... I`).
    pub fn stale(&self) -> bool {
        self.entry.bit(Entry::STALE)
    }

    /// A win token (`W`) was already handed out for this item.
    pub fn win_sent(&self) -> bool {
        self.entry.bit(Entry::TOKEN_SENT)
    }

    /// Records that a win token was handed out.
    pub fn set_win_sent(&mut self) {
        self.entry.set_bit(Entry::TOKEN_SENT, true);
    }

    /// Stored with a base64 key (`ms ... b`).
    pub fn binary_key(&self) -> bool {
        self.entry.bit(Entry::KEY_BINARY)
    }

    /// This command created the item (vivify on miss).
    pub fn created(&self) -> bool {
        self.created
    }
}

/// What `me` shows of an item (memcached `process_meta_command`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetaDebug {
    /// memcached's `exp=`: -1 for no exptime, else now minus the exptime.
    pub exp: i64,
    /// Seconds since last access.
    pub last_access: u64,
    /// CAS unique.
    pub cas: u64,
    /// Read since stored.
    pub fetched: bool,
    /// memcached's slab class for the item's size (default `-n 48 -f 1.25`).
    pub class: u32,
    /// Stored with a base64 key.
    pub binary_key: bool,
    /// Bytes charged (`ITEM_ntotal`).
    pub size: usize,
}

impl Engine {
    /// `mg`: looks `key` up without bumping it, links an empty item (flags
    /// 0, no exptime) on a miss when `vivify`, and calls `read` with the
    /// item under its lock. Counts a hit as `get_hits`, or as `touch_hits`
    /// when `read` set a TTL (a miss as `get_misses`), as memcached does;
    /// makes the item most recently used afterwards when `bump`, so `read`
    /// sees the fetched bit and access time from before this access.
    pub fn meta_get<R>(
        &self,
        key: &[u8],
        vivify: bool,
        bump: bool,
        read: impl FnOnce(&mut MetaView<'_>) -> R,
    ) -> Option<R> {
        let now = self.now();
        let tick = self.tick();
        let mut read = Some(read);
        self.with_budget(
            self.shard_of(key),
            |shard, budget| {
                let mut created = false;
                if shard.lookup(key, &now, None).is_none() {
                    if !vivify {
                        shard.stats.cmd_get += 1;
                        shard.stats.get_misses += 1;
                        return Step::Done(None);
                    }
                    let size = self.item_size(key.len(), 0, 0);
                    if !budget.take(size) {
                        return Step::Need(size);
                    }
                    let cas = self.next_cas();
                    shard.link(Entry::new(key, &[], 0, 0, now.rel, cas), tick);
                    created = true;
                }
                let Some(read) = read.take() else {
                    return Step::Done(None);
                };
                let Some((out, touched)) = self.with_view(shard, key, &now, created, read) else {
                    return Step::Done(None);
                };
                if touched {
                    shard.stats.cmd_touch += 1;
                    shard.stats.touch_hits += 1;
                } else {
                    shard.stats.cmd_get += 1;
                    shard.stats.get_hits += 1;
                }
                if bump {
                    shard.lookup(key, &now, Some(tick));
                }
                Step::Done(Some(out))
            },
            |_| None,
        )
    }

    /// Calls `f` with the live item for `key` under its lock, counting
    /// nothing and bumping nothing (`ma` reads and sets TTLs with it after
    /// the arithmetic). `created` is passed on to the view.
    pub fn meta_view<R>(
        &self,
        key: &[u8],
        created: bool,
        f: impl FnOnce(&mut MetaView<'_>) -> R,
    ) -> Option<R> {
        let now = self.now();
        let mut shard = self.lock(self.shard_of(key));
        self.with_view(&mut shard, key, &now, created, f)
            .map(|(out, _)| out)
    }

    /// Runs `f` on the live entry for `key`; returns its result and whether
    /// it touched the item (a changed exptime is noted in the shard's
    /// expiry hints).
    fn with_view<R>(
        &self,
        shard: &mut Shard,
        key: &[u8],
        now: &Now,
        created: bool,
        f: impl FnOnce(&mut MetaView<'_>) -> R,
    ) -> Option<(R, bool)> {
        let entry = shard.lookup(key, now, None)?;
        let mut view = MetaView {
            entry,
            engine: self,
            rel_now: now.rel,
            created,
            touched: false,
            ttl_changed: false,
        };
        let out = f(&mut view);
        let (touched, changed, exptime) = (view.touched, view.ttl_changed, view.entry.exptime());
        if changed {
            shard.note_exptime(exptime);
        }
        Some((out, touched))
    }

    /// `md`: with `cas`, only an item with that CAS (else `Exists`). With
    /// `invalidate`, the item is not removed but marked stale, its win token
    /// cleared, a new CAS given and, with `Some(ttl)`, a new exptime.
    pub fn meta_delete(
        &self,
        key: &[u8],
        cas: Option<u64>,
        invalidate: Option<Option<i64>>,
    ) -> DeleteOutcome {
        let now = self.now();
        let mut shard = self.lock(self.shard_of(key));
        let Some(entry) = shard.lookup(key, &now, None) else {
            shard.stats.delete_misses += 1;
            return DeleteOutcome::NotFound;
        };
        if cas.is_some_and(|c| c != entry.cas()) {
            shard.stats.delete_misses += 1;
            return DeleteOutcome::Exists;
        }
        if let Some(ttl) = invalidate {
            if let Some(ttl) = ttl {
                entry.set_exptime(self.realtime(ttl, now.rel));
            }
            entry.set_bit(Entry::STALE, true);
            entry.set_bit(Entry::TOKEN_SENT, false);
            entry.set_cas(self.next_cas());
            let exptime = entry.exptime();
            shard.note_exptime(exptime);
            return DeleteOutcome::Deleted;
        }
        shard.unlink(key);
        shard.stats.delete_hits += 1;
        DeleteOutcome::Deleted
    }

    /// `me`: the item's debug line fields, without bumping it.
    pub fn meta_debug(&self, key: &[u8]) -> Option<MetaDebug> {
        let now = self.now();
        let cas_enabled = self.config().cas_enabled;
        let mut shard = self.lock(self.shard_of(key));
        let e = shard.lookup(key, &now, None)?;
        let size = e.size(cas_enabled);
        Some(MetaDebug {
            exp: match e.exptime() {
                0 => -1,
                t => now.rel as i64 - t as i64,
            },
            last_access: now.rel.saturating_sub(e.time()),
            cas: e.cas(),
            fetched: e.fetched(),
            class: slab_class(size, self.config().item_size_max),
            binary_key: e.bit(Entry::KEY_BINARY),
            size,
        })
    }
}

/// memcached's slab class for an item of `size` bytes with the default
/// chunk sizes (`slabs_init`: 96 bytes, factor 1.25, 8-byte alignment, the
/// largest class half of a 1 MiB page or of `-I`, whichever is larger).
fn slab_class(size: usize, item_size_max: usize) -> u32 {
    let chunk_max = (item_size_max / 2).max(512 * 1024);
    let mut chunk = ITEM_HEADER_LEN + 48;
    let mut class = 1;
    while (chunk as f64) < chunk_max as f64 / 1.25 && class < 63 {
        chunk = chunk.div_ceil(8) * 8;
        if size <= chunk {
            return class;
        }
        chunk = (chunk as f64 * 1.25) as usize;
        class += 1;
    }
    class
}

#[cfg(test)]
mod tests {
    use super::slab_class;

    #[test]
    fn slab_classes_follow_memcached_defaults() {
        // memcached -vv: class 1 is 96 bytes, 2 is 120, 3 is 152.
        assert_eq!(slab_class(60, 1 << 20), 1);
        assert_eq!(slab_class(96, 1 << 20), 1);
        assert_eq!(slab_class(97, 1 << 20), 2);
        assert_eq!(slab_class(121, 1 << 20), 3);
    }
}
