//! Time sources. The engine reads whole unix seconds through [`Clock`] so
//! tests can drive expiry with a [`ManualClock`] instead of sleeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of unix time in whole seconds.
pub trait Clock: Send + Sync {
    /// Seconds since the unix epoch.
    fn unix_now(&self) -> u64;
}

/// The wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_now(&self) -> u64 {
        // A clock before 1970 is a broken host; treat it as the epoch.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug)]
pub struct ManualClock {
    now: AtomicU64,
}

impl ManualClock {
    /// A clock standing at `start_unix`.
    pub fn new(start_unix: u64) -> Self {
        ManualClock {
            now: AtomicU64::new(start_unix),
        }
    }

    /// Moves the clock forward by `secs` seconds.
    pub fn advance(&self, secs: u64) {
        self.now.fetch_add(secs, Ordering::SeqCst);
    }

    /// Sets the clock to `unix` (it may go backwards).
    pub fn set(&self, unix: u64) {
        self.now.store(unix, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn unix_now(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(1_700_000_000);
        assert_eq!(c.unix_now(), 1_700_000_000);
        c.advance(5);
        assert_eq!(c.unix_now(), 1_700_000_005);
        c.set(10);
        assert_eq!(c.unix_now(), 10);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.unix_now() > 1_577_836_800);
    }
}
