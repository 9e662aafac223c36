//! Engine statistics, named exactly as memcached's `stats` prints them.
//!
//! Each shard keeps its own [`Stats`] of counters under the lock it already
//! holds; [`crate::Engine::stats`] sums them, so counting never makes threads
//! share a cache line.

macro_rules! stats_struct {
    ($($(#[doc = $doc:literal])+ $name:ident,)+) => {
        /// A snapshot of engine statistics. Field names are memcached's stat
        /// names. Connection and network counters belong to the server.
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct Stats {
            $($(#[doc = $doc])+ pub $name: u64,)+
        }

        impl Stats {
            /// Adds every counter of `other` into `self`.
            pub(crate) fn absorb(&mut self, other: &Stats) {
                $(self.$name += other.$name;)+
            }

            /// `(name, value)` pairs in memcached's `stats` output order.
            pub fn pairs(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($name), self.$name),)+]
            }
        }
    };
}

stats_struct! {
    /// Retrieval requests, one per key (get, gets, binary GET).
    cmd_get,
    /// Storage requests that reached the store (not too-large or OOM refusals).
    cmd_set,
    /// flush_all requests.
    cmd_flush,
    /// touch and gat requests, one per key.
    cmd_touch,
    /// Retrievals that found a live item.
    get_hits,
    /// Retrievals that found nothing.
    get_misses,
    /// Lookups (of any command) that found an expired item and unlinked it.
    get_expired,
    /// Lookups (of any command) that found a flushed item and unlinked it.
    get_flushed,
    /// delete on a missing key.
    delete_misses,
    /// delete that removed an item.
    delete_hits,
    /// incr on a missing key (not counted when binary incr creates it).
    incr_misses,
    /// incr that changed a value.
    incr_hits,
    /// decr on a missing key.
    decr_misses,
    /// decr that changed a value.
    decr_hits,
    /// CAS store on a missing key.
    cas_misses,
    /// CAS store that matched and stored.
    cas_hits,
    /// CAS store refused for a different CAS unique.
    cas_badval,
    /// touch/gat that found the item.
    touch_hits,
    /// touch/gat on a missing key.
    touch_misses,
    /// Stores refused as too large.
    store_too_large,
    /// Stores refused for lack of memory.
    store_no_memory,
    /// Memory limit in bytes.
    limit_maxbytes,
    /// Bytes charged for the items currently linked (dead ones included until reclaimed).
    bytes,
    /// Items currently linked (dead ones included until reclaimed).
    curr_items,
    /// Items ever linked (stores, grown incr/decr results, appends).
    total_items,
    /// Dead items reclaimed before ever being read.
    expired_unfetched,
    /// Live items evicted before ever being read.
    evicted_unfetched,
    /// Live items evicted to make room.
    evictions,
    /// Dead items reclaimed to make room.
    reclaimed,
    /// Dead items removed by [`crate::Engine::crawl`].
    crawler_reclaimed,
}

impl Stats {
    /// Clears the counters that memcached's `stats reset` clears; gauges
    /// (`bytes`, `curr_items`, `limit_maxbytes`) are recomputed by the engine.
    pub(crate) fn reset(&mut self) {
        *self = Stats::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absorb_and_pairs() {
        let mut a = Stats {
            cmd_get: 1,
            evictions: 2,
            ..Stats::default()
        };
        let b = Stats {
            cmd_get: 3,
            reclaimed: 4,
            ..Stats::default()
        };
        a.absorb(&b);
        assert_eq!((a.cmd_get, a.evictions, a.reclaimed), (4, 2, 4));
        let pairs = a.pairs();
        assert_eq!(pairs[0], ("cmd_get", 4));
        assert!(pairs.contains(&("reclaimed", 4)));
        a.reset();
        assert_eq!(a, Stats::default());
    }
}
