//! The process-wide drain signal: on SIGTERM/SIGINT the binary stops the
//! listeners and raises it; every connection then finishes the request it is
//! in the middle of, writes its replies and closes, instead of being cut.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use tokio::sync::watch;

fn sender() -> &'static watch::Sender<bool> {
    static DRAIN: OnceLock<watch::Sender<bool>> = OnceLock::new();
    DRAIN.get_or_init(|| watch::channel(false).0)
}

/// A receiver that sees the drain begin.
pub fn drain_signal() -> watch::Receiver<bool> {
    sender().subscribe()
}

/// Starts the drain.
pub fn begin_drain() {
    sender().send_replace(true);
    wake_waiters();
}

/// True once the drain has begun.
pub fn draining() -> bool {
    *sender().borrow()
}

/// Every connection's waker, woken when the drain begins.
static WAITERS: Mutex<Waiters> = Mutex::new(Waiters {
    wakers: Vec::new(),
    free: Vec::new(),
});
/// Mirrors the watch channel's value, for a check without a lock.
static DRAINING: AtomicBool = AtomicBool::new(false);

struct Waiters {
    wakers: Vec<Option<Waker>>,
    free: Vec<usize>,
}

fn waiters() -> std::sync::MutexGuard<'static, Waiters> {
    WAITERS.lock().unwrap_or_else(|e| e.into_inner())
}

fn wake_waiters() {
    DRAINING.store(true, Ordering::SeqCst);
    for w in waiters().wakers.iter().flatten() {
        w.wake_by_ref();
    }
}

/// Completes once the drain has begun. A connection keeps one for its
/// whole life and polls it whenever it waits: a poll is one atomic load
/// and a waker comparison, with a lock only the first time (or when the
/// connection's waker changes).
pub fn drained() -> Drained {
    Drained {
        slot: None,
        waker: None,
    }
}

/// The future of [`drained`].
pub struct Drained {
    slot: Option<usize>,
    waker: Option<Waker>,
}

impl Future for Drained {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if DRAINING.load(Ordering::Relaxed) {
            return Poll::Ready(());
        }
        if self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            return Poll::Pending;
        }
        let mut all = waiters();
        let waker = cx.waker().clone();
        let slot = match self.slot {
            Some(i) => i,
            None => match all.free.pop() {
                Some(i) => i,
                None => {
                    all.wakers.push(None);
                    all.wakers.len() - 1
                }
            },
        };
        all.wakers[slot] = Some(waker.clone());
        drop(all);
        self.slot = Some(slot);
        self.waker = Some(waker);
        // The drain may have begun before the waker was in the list.
        if DRAINING.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl Drop for Drained {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            let mut all = waiters();
            all.wakers[i] = None;
            all.free.push(i);
        }
    }
}

fn stop_sender() -> &'static watch::Sender<bool> {
    static STOP: OnceLock<watch::Sender<bool>> = OnceLock::new();
    STOP.get_or_init(|| watch::channel(false).0)
}

/// Asks the process to stop as SIGINT would (memcached's `shutdown`
/// command raises SIGINT). The binary waits on [`stop_requested`].
pub fn request_stop() {
    stop_sender().send_replace(true);
}

/// A receiver whose value turns true once [`request_stop`] was called.
pub fn stop_requested() -> watch::Receiver<bool> {
    stop_sender().subscribe()
}
