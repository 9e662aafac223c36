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
