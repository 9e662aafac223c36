//! The clock the front cache and key stats read: the system's monotonic
//! clock, or a manual one that tests move forward, so no test ever sleeps
//! for a lifespan.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where "now" comes from.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    /// `std::time::Instant::now()`.
    #[default]
    System,
    /// A clock that moves only when [`ManualClock::advance`] is called.
    Manual(Arc<ManualClock>),
}

/// A clock for tests: starts at the moment it is made and moves only when
/// told to.
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    offset_us: AtomicU64,
}

impl ManualClock {
    /// A manual clock reading the current instant.
    pub fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock {
            start: Instant::now(),
            offset_us: AtomicU64::new(0),
        })
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let us = u64::try_from(by.as_micros()).unwrap_or(u64::MAX);
        self.offset_us.fetch_add(us, Ordering::SeqCst);
    }

    /// The instant the clock reads.
    pub fn now(&self) -> Instant {
        self.start + Duration::from_micros(self.offset_us.load(Ordering::SeqCst))
    }
}

impl Clock {
    /// A manual clock and the handle that moves it.
    pub fn manual() -> (Clock, Arc<ManualClock>) {
        let m = ManualClock::new();
        (Clock::Manual(m.clone()), m)
    }

    /// The current instant.
    pub fn now(&self) -> Instant {
        match self {
            Clock::System => Instant::now(),
            Clock::Manual(m) => m.now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let (clock, hand) = Clock::manual();
        let t0 = clock.now();
        assert_eq!(clock.now(), t0);
        hand.advance(Duration::from_millis(1500));
        assert_eq!(clock.now() - t0, Duration::from_millis(1500));
        assert!(Clock::System.now() >= t0);
    }
}
