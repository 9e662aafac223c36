//! Fault clocks: how a client tells whether a fault could explain a reply.
//!
//! The fault schedule bumps two counters around every fault: `faults`
//! around any fault (odd while one is under way), `loss` around the part
//! of a fault that loses data (a memcached killed: odd from just before
//! the kill until it is reaped). A client reads both when it sends a
//! request and when the reply arrives ([`Window`]). A model fact is
//! trusted only when no data was lost since it was established, so a
//! killed server can explain a missing item, but nothing can explain
//! another client's bytes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The two fault clocks (see module docs). Even values: no fault now.
#[derive(Debug, Default)]
pub struct Epochs {
    loss: AtomicU64,
    faults: AtomicU64,
    /// When a client last met a failure (so a fault's after-effects can be
    /// waited out before it is declared over).
    last_failure: Mutex<Option<Instant>>,
}

/// Both clocks read at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// Data-loss clock.
    pub loss: u64,
    /// Any-fault clock.
    pub faults: u64,
}

impl Epochs {
    /// Reads both clocks.
    pub fn now(&self) -> Stamp {
        Stamp {
            loss: self.loss.load(Ordering::SeqCst),
            faults: self.faults.load(Ordering::SeqCst),
        }
    }

    /// A fault starts (faults becomes odd).
    pub fn begin_fault(&self) {
        self.faults.fetch_add(1, Ordering::SeqCst);
    }

    /// The fault and its after-effects are over (faults becomes even).
    pub fn end_fault(&self) {
        self.faults.fetch_add(1, Ordering::SeqCst);
    }

    /// A client met a failure (an error reply, a timeout, a lost
    /// connection, a miss that stands for one).
    pub fn note_failure(&self) {
        if let Ok(mut t) = self.last_failure.lock() {
            *t = Some(Instant::now());
        }
    }

    /// How long since a client last met a failure (`None`: never).
    pub fn since_failure(&self) -> Option<Duration> {
        self.last_failure
            .lock()
            .ok()
            .and_then(|t| t.map(|t| t.elapsed()))
    }

    /// Data is about to be lost (loss becomes odd).
    pub fn begin_loss(&self) {
        self.loss.fetch_add(1, Ordering::SeqCst);
    }

    /// The server that lost data is gone for good (loss becomes even).
    pub fn end_loss(&self) {
        self.loss.fetch_add(1, Ordering::SeqCst);
    }
}

/// A request's life by the fault clocks: read when it was sent and when
/// its reply arrived, and when (by the wall clock) it was sent.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// Clocks at send.
    pub sent: Stamp,
    /// Clocks at reply.
    pub recv: Stamp,
    /// Wall clock at send.
    pub at: Instant,
}

impl Window {
    /// A window that no fault touched at all (the cross-talk test's case).
    pub fn quiet(at: Instant) -> Window {
        let zero = Stamp { loss: 0, faults: 0 };
        Window {
            sent: zero,
            recv: zero,
            at,
        }
    }

    /// No data was lost between send and reply, and none was being lost.
    pub fn no_loss(&self) -> bool {
        self.sent.loss == self.recv.loss && self.recv.loss.is_multiple_of(2)
    }

    /// No fault at all between send and reply.
    pub fn calm(&self) -> bool {
        self.sent == self.recv
            && self.recv.loss.is_multiple_of(2)
            && self.recv.faults.is_multiple_of(2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_see_faults() {
        let e = Epochs::default();
        let s0 = e.now();
        let w = |sent, recv| Window {
            sent,
            recv,
            at: Instant::now(),
        };
        assert!(w(s0, e.now()).calm());
        e.begin_fault();
        let s1 = e.now();
        assert!(!w(s0, s1).calm() && w(s0, s1).no_loss());
        e.begin_loss();
        assert!(!w(e.now(), e.now()).no_loss(), "loss under way");
        e.end_loss();
        e.end_fault();
        assert!(!w(s0, e.now()).no_loss());
        assert!(w(e.now(), e.now()).calm());
    }
}
