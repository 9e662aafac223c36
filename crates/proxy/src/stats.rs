//! The proxy's own counters (moxi's `tot_retry`, `tot_retry_vbucket`,
//! `tot_downstream_auth`, ...), one set per worker thread.
//!
//! Each worker writes only its own set, with relaxed atomics (no lock, no
//! contended cache line); every set is registered once in a process-wide
//! list so [`totals`] can sum them when stats are asked for.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One worker's counters. Field names are moxi's stat names.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct ProxyStats {
    /// Requests re-sent for any reason (moxi counts NOT_MY_VBUCKET retries).
    pub tot_retry: AtomicU64,
    /// Requests (or multi-get key sets) re-sent after NOT_MY_VBUCKET.
    pub tot_retry_vbucket: AtomicU64,
    /// SASL PLAIN exchanges started on new downstream connections.
    pub tot_downstream_auth: AtomicU64,
    /// Of those, the ones refused, failed or timed out.
    pub tot_downstream_auth_failed: AtomicU64,
    /// Bucket selects (opcode 0x2a) started on new downstream connections.
    pub tot_downstream_bucket: AtomicU64,
    /// Of those, the ones refused, failed or timed out.
    pub tot_downstream_bucket_failed: AtomicU64,
    /// SASL or bucket-select round trips that exceeded `auth_timeout`.
    pub tot_auth_timeout: AtomicU64,
}

/// A summed copy of every worker's [`ProxyStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// See [`ProxyStats::tot_retry`].
    pub tot_retry: u64,
    /// See [`ProxyStats::tot_retry_vbucket`].
    pub tot_retry_vbucket: u64,
    /// See [`ProxyStats::tot_downstream_auth`].
    pub tot_downstream_auth: u64,
    /// See [`ProxyStats::tot_downstream_auth_failed`].
    pub tot_downstream_auth_failed: u64,
    /// See [`ProxyStats::tot_downstream_bucket`].
    pub tot_downstream_bucket: u64,
    /// See [`ProxyStats::tot_downstream_bucket_failed`].
    pub tot_downstream_bucket_failed: u64,
    /// See [`ProxyStats::tot_auth_timeout`].
    pub tot_auth_timeout: u64,
}

static REGISTRY: Mutex<Vec<Arc<ProxyStats>>> = Mutex::new(Vec::new());

thread_local! {
    static LOCAL: Arc<ProxyStats> = {
        let stats = Arc::new(ProxyStats::default());
        REGISTRY
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(stats.clone());
        stats
    };
}

/// Adds one to the counter `pick` chooses, in this thread's set.
pub fn bump(pick: impl FnOnce(&ProxyStats) -> &AtomicU64) {
    LOCAL.with(|s| pick(s).fetch_add(1, Ordering::Relaxed));
}

/// Every worker's counters, summed.
pub fn totals() -> Totals {
    let all = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    let mut t = Totals::default();
    for s in all.iter() {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        t.tot_retry += get(&s.tot_retry);
        t.tot_retry_vbucket += get(&s.tot_retry_vbucket);
        t.tot_downstream_auth += get(&s.tot_downstream_auth);
        t.tot_downstream_auth_failed += get(&s.tot_downstream_auth_failed);
        t.tot_downstream_bucket += get(&s.tot_downstream_bucket);
        t.tot_downstream_bucket_failed += get(&s.tot_downstream_bucket_failed);
        t.tot_auth_timeout += get(&s.tot_auth_timeout);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_every_thread_are_summed() {
        let before = totals().tot_retry_vbucket;
        bump(|s| &s.tot_retry_vbucket);
        std::thread::spawn(|| bump(|s| &s.tot_retry_vbucket))
            .join()
            .ok();
        assert!(totals().tot_retry_vbucket >= before + 2);
    }
}
