//! The process-wide drain signal: on SIGTERM/SIGINT the binary stops the
//! listeners and raises it; every connection then finishes the request it is
//! in the middle of, writes its replies and closes, instead of being cut.

use std::sync::OnceLock;

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
}

/// True once the drain has begun.
pub fn draining() -> bool {
    *sender().borrow()
}

/// Completes once the drain has begun. A connection pins one for its whole
/// life and polls it whenever it waits: polling a pinned waiter is cheap,
/// where building and dropping a fresh one at every wait is not.
pub async fn drained() {
    let mut rx = drain_signal();
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            // The sender lives for the whole process; never reached.
            std::future::pending::<()>().await;
        }
    }
}
