//! memcached's notion of time: a relative clock that starts 62 seconds
//! before the engine did, exptime conversion (`realtime()` in memcached.c)
//! and the flush_all watermark (`item_is_flushed()` in items.c).
//!
//! protocol.txt, "Expiration times": 0 never expires, up to 30 days is
//! relative, anything larger is an absolute unix time. An item is dead when
//! `exptime != 0 && exptime <= now` (both relative).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::item::Entry;

/// memcached starts its relative clock `ITEM_UPDATE_INTERVAL + 2` seconds in
/// the past so that "now" is never 0 (0 means "never" and "no flush").
const START_OFFSET: u64 = 62;

/// Exptimes above this many seconds are absolute unix times.
const REALTIME_MAXDELTA: u64 = protocol::model::REALTIME_MAXDELTA as u64;

/// Converts between unix seconds and memcached's relative seconds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timebase {
    process_started: u64,
}

impl Timebase {
    /// A timebase for an engine started at `start_unix`.
    pub(crate) fn new(start_unix: u64) -> Self {
        Timebase {
            process_started: start_unix.saturating_sub(START_OFFSET),
        }
    }

    /// Relative seconds for a unix time.
    pub(crate) fn rel(&self, unix: u64) -> u64 {
        unix.saturating_sub(self.process_started)
    }

    /// memcached's `realtime(EXPTIME_TO_POSITIVE_TIME(exptime))`: the relative
    /// expiry for a raw exptime. Negative values give 1, which is always in
    /// the past (memcached reaches the same value by treating them as an
    /// absolute time before it started).
    pub(crate) fn realtime(&self, exptime: i64, rel_now: u64) -> u64 {
        let Ok(exptime) = u64::try_from(exptime) else {
            return 1;
        };
        if exptime == 0 {
            0
        } else if exptime > REALTIME_MAXDELTA {
            // An absolute time at or before the start would wrap: pin it to 1.
            if exptime <= self.process_started {
                1
            } else {
                exptime - self.process_started
            }
        } else {
            exptime + rel_now
        }
    }
}

/// The flush_all watermark shared by all shards.
#[derive(Debug, Default)]
pub(crate) struct FlushState {
    oldest_live: AtomicU64,
    oldest_cas: AtomicU64,
}

impl FlushState {
    /// Records a flush (memcached `process_flush_all_command`).
    pub(crate) fn set(&self, oldest_live: u64, oldest_cas: Option<u64>) {
        if let Some(cas) = oldest_cas {
            self.oldest_cas.store(cas, Ordering::Release);
        }
        self.oldest_live.store(oldest_live, Ordering::Release);
    }
}

/// One operation's view of time: the relative now and the flush watermark,
/// read once before the shard lock is taken.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Now {
    /// Relative seconds.
    pub(crate) rel: u64,
    oldest_live: u64,
    oldest_cas: u64,
}

impl Now {
    /// Snapshots the flush state at relative time `rel`.
    pub(crate) fn new(rel: u64, flush: &FlushState, cas_enabled: bool) -> Self {
        let oldest_live = flush.oldest_live.load(Ordering::Acquire);
        let oldest_cas = if cas_enabled {
            flush.oldest_cas.load(Ordering::Acquire)
        } else {
            0
        };
        Now {
            rel,
            oldest_live,
            oldest_cas,
        }
    }

    /// True when a flush_all covers the entry: the watermark has arrived and
    /// the entry was last linked/updated at or before it, or (same-second
    /// flushes) its CAS predates the flush.
    pub(crate) fn is_flushed(&self, e: &Entry) -> bool {
        if !self.flush_passed() {
            return false;
        }
        e.time() <= self.oldest_live
            || (self.oldest_cas != 0 && e.cas() != 0 && e.cas() < self.oldest_cas)
    }

    /// True when a flush_all's watermark has arrived: entries linked at or
    /// before it may be dead.
    pub(crate) fn flush_passed(&self) -> bool {
        self.oldest_live != 0 && self.oldest_live <= self.rel
    }

    /// True when the entry's exptime has passed.
    pub(crate) fn is_expired(&self, e: &Entry) -> bool {
        e.exptime() != 0 && e.exptime() <= self.rel
    }

    /// Flushed or expired.
    pub(crate) fn is_dead(&self, e: &Entry) -> bool {
        self.is_flushed(e) || self.is_expired(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: u64 = 1_700_000_000;

    #[test]
    fn relative_clock_starts_at_62() {
        let tb = Timebase::new(START);
        assert_eq!(tb.rel(START), 62);
        assert_eq!(tb.rel(START + 10), 72);
        assert_eq!(tb.rel(0), 0);
    }

    #[test]
    fn realtime_rules() {
        let tb = Timebase::new(START);
        let now = tb.rel(START + 100);
        assert_eq!(tb.realtime(0, now), 0);
        assert_eq!(tb.realtime(-1, now), 1);
        assert_eq!(tb.realtime(i64::MIN, now), 1);
        assert_eq!(tb.realtime(10, now), now + 10);
        assert_eq!(tb.realtime(2_592_000, now), now + 2_592_000);
        // One more second is an absolute time in 1970: already past.
        assert_eq!(tb.realtime(2_592_001, now), 1);
        assert_eq!(tb.realtime((START + 200) as i64, now), tb.rel(START + 200));
        assert_eq!(tb.realtime((START - 62) as i64, now), 1);
    }
}
