//! The proxy's own counters, named as moxi's `pstd_stats` (`tot_retry`,
//! `tot_downstream_timeout`, `num_upstream`, ...).
//!
//! Three homes, one counter set ([`ProxyStats`]):
//! - per worker for the whole process ([`bump`], summed by [`totals`]);
//! - per pool ([`PoolRuntime`]), one padded slot per worker, for the
//!   request-level counters `stats proxy` prints under `<port>:<name>:`;
//! - per server address ([`crate::health`]) for the connection-level ones
//!   (connections are shared by every pool naming the server).
//!
//! Each worker writes only its own slot, with relaxed atomics; sums are
//! taken when stats are asked for.

pub mod metrics;
pub(crate) mod ops_metrics;
pub mod proxy;
pub(crate) mod timings;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::stats::timings::Timings;

/// Slots per pool: workers beyond this share slots (still correct).
pub const MAX_SLOTS: usize = 64;

macro_rules! counters {
    ($( $(#[$doc:meta])* $name:ident, )*) => {
        /// One set of counters. Field names are moxi's stat names;
        /// `num_` ones are gauges, `tot_` ones only grow (until a reset).
        #[derive(Debug, Default)]
        #[repr(align(128))]
        pub struct ProxyStats {
            $( $(#[$doc])* pub $name: AtomicU64, )*
        }

        /// A summed copy of [`ProxyStats`] sets.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct Totals {
            $( $(#[$doc])* pub $name: u64, )*
        }

        impl ProxyStats {
            /// Adds this set into `t`.
            pub fn add_to(&self, t: &mut Totals) {
                $( t.$name += self.$name.load(Ordering::Relaxed); )*
            }

            /// Zeroes the `tot_` counters; `num_` gauges stay (moxi's
            /// `stats proxy reset`).
            pub fn reset(&self) {
                $(
                    if !stringify!($name).starts_with("num_") {
                        self.$name.store(0, Ordering::Relaxed);
                    }
                )*
            }
        }

        impl Totals {
            /// Every counter with its name, in declaration order.
            pub fn entries(&self) -> Vec<(&'static str, u64)> {
                vec![ $( (stringify!($name), self.$name), )* ]
            }
        }
    };
}

counters! {
    /// Client connections open now.
    num_upstream,
    /// Client connections accepted.
    tot_upstream,
    /// Downstream connections open now.
    num_downstream_conn,
    /// Downstream connections started (connected or not).
    tot_downstream_conn,
    /// Of those, the ones that connected (and authenticated).
    tot_downstream_connect,
    /// Of those, the ones whose connect or authentication failed.
    tot_downstream_connect_failed,
    /// Requests failed at once because their server was marked down.
    tot_downstream_connect_interval,
    /// SASL PLAIN exchanges started on new downstream connections.
    tot_downstream_auth,
    /// Of those, the ones refused, failed or timed out.
    tot_downstream_auth_failed,
    /// Bucket selects (opcode 0x2a) started on new downstream connections.
    tot_downstream_bucket,
    /// Of those, the ones refused, failed or timed out.
    tot_downstream_bucket_failed,
    /// SASL or bucket-select round trips that exceeded `auth_timeout`.
    tot_auth_timeout,
    /// Requests whose reply did not come within `downstream_timeout`.
    tot_downstream_timeout,
    /// Requests that waited `downstream_conn_queue_timeout` for a slot on
    /// a server's connections in vain.
    tot_downstream_conn_queue_timeout,
    /// Requests that waited `wait_queue_timeout` in the wait queue in vain.
    tot_wait_queue_timeout,
    /// Requests re-sent for any reason (closed connection, NOT_MY_VBUCKET).
    tot_retry,
    /// Requests (or multi-get key sets) re-sent after NOT_MY_VBUCKET.
    tot_retry_vbucket,
    /// Keys named by ascii multi-gets.
    tot_multiget_keys,
    /// Of those, the repeats not sent downstream again.
    tot_multiget_keys_dedupe,
    /// Client requests answered (local or forwarded).
    tot_cmd_count,
    /// Their total time, in microseconds.
    tot_cmd_time,
}

static WORKER_SETS: Mutex<Vec<Arc<ProxyStats>>> = Mutex::new(Vec::new());

thread_local! {
    static LOCAL: Arc<ProxyStats> = {
        let stats = Arc::new(ProxyStats::default());
        WORKER_SETS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(stats.clone());
        stats
    };
}

/// Adds one to the counter `pick` chooses, in this thread's process-wide set.
pub fn bump(pick: impl FnOnce(&ProxyStats) -> &AtomicU64) {
    LOCAL.with(|s| pick(s).fetch_add(1, Ordering::Relaxed));
}

/// Every worker's process-wide counters, summed.
pub fn totals() -> Totals {
    let all = WORKER_SETS.lock().unwrap_or_else(|p| p.into_inner());
    let mut t = Totals::default();
    for s in all.iter() {
        s.add_to(&mut t);
    }
    t
}

/// Zeroes the process-wide `tot_` counters.
pub fn reset_totals() {
    for s in WORKER_SETS.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        s.reset();
    }
}

/// What one pool keeps across reloads: its counters (a slot per worker),
/// its wait queue (a `downstream_max` gate per worker) and its timings.
/// Every topology of a pool shares it
/// ([`crate::Bucket::replace_topology`] carries it over).
pub struct PoolRuntime {
    slots: Box<[ProxyStats]>,
    /// The bucket's wait queue (`downstream_max`), one per worker; see
    /// [`crate::admission`].
    pub(crate) wait_queue: crate::admission::PerWorker,
    /// Latency histograms (with `time_stats=1`).
    pub timings: Timings,
}

impl std::fmt::Debug for PoolRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolRuntime").finish_non_exhaustive()
    }
}

impl Default for PoolRuntime {
    fn default() -> Self {
        PoolRuntime {
            slots: (0..MAX_SLOTS).map(|_| ProxyStats::default()).collect(),
            wait_queue: Default::default(),
            timings: Timings::default(),
        }
    }
}

impl PoolRuntime {
    fn slot(&self) -> &ProxyStats {
        &self.slots[runtime::workers::worker_index() % self.slots.len()]
    }

    /// Adds `n` to the counter `pick` chooses, in this worker's slot.
    pub fn add(&self, n: u64, pick: impl FnOnce(&ProxyStats) -> &AtomicU64) {
        pick(self.slot()).fetch_add(n, Ordering::Relaxed);
    }

    /// Subtracts one (gauges).
    pub fn sub(&self, pick: impl FnOnce(&ProxyStats) -> &AtomicU64) {
        pick(self.slot()).fetch_sub(1, Ordering::Relaxed);
    }

    /// Counts one answered request of command `cmd` (a
    /// [`crate::stats::metrics::COMMANDS`] index) that took `took`.
    pub fn answered(&self, cmd: usize, took: Duration, time_stats: bool) {
        let s = self.slot();
        s.tot_cmd_count.fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        s.tot_cmd_time.fetch_add(us, Ordering::Relaxed);
        if time_stats {
            self.timings.record(cmd, took);
        }
    }

    /// Every worker's slot, summed.
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for s in self.slots.iter() {
            s.add_to(&mut t);
        }
        t
    }

    /// Zeroes the `tot_` counters and the timings.
    pub fn reset(&self) {
        for s in self.slots.iter() {
            s.reset();
        }
        self.timings.reset();
    }
}

/// Records one answered request, once, in every view that counts it: the
/// Prometheus counters and latency histograms ([`metrics`]), the bucket's
/// `tot_cmd_count`/`tot_cmd_time` and, with `time_stats`, its timings
/// ([`PoolRuntime::answered`]), and the key stats of its bucket.
pub(crate) fn observe(
    topo: &crate::topology::Topology,
    req: &protocol::Request,
    frames: &[protocol::Response],
    took: Duration,
) {
    let cmd = metrics::command_index(req);
    metrics::observe(cmd, req, frames, took);
    topo.runtime.answered(cmd, took, topo.timeouts.time_stats);
    topo.features.keys.observe(req, frames);
}

/// Counts a client connection of a pool while it lives
/// (`num_upstream`, `tot_upstream`).
pub struct Upstream(Arc<PoolRuntime>);

impl Upstream {
    /// A client connected to the pool of `runtime`.
    pub fn new(runtime: Arc<PoolRuntime>) -> Upstream {
        runtime.add(1, |s| &s.tot_upstream);
        runtime.add(1, |s| &s.num_upstream);
        Upstream(runtime)
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.0.sub(|s| &s.num_upstream);
    }
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

    #[test]
    fn pool_counters_reset_all_but_gauges() {
        let rt = Arc::new(PoolRuntime::default());
        let up = Upstream::new(rt.clone());
        rt.answered(0, Duration::from_micros(7), false);
        let t = rt.totals();
        assert_eq!((t.num_upstream, t.tot_upstream), (1, 1));
        assert_eq!((t.tot_cmd_count, t.tot_cmd_time), (1, 7));
        rt.reset();
        let t = rt.totals();
        assert_eq!((t.num_upstream, t.tot_upstream, t.tot_cmd_count), (1, 0, 0));
        drop(up);
        assert_eq!(rt.totals().num_upstream, 0);
        let names: Vec<_> = t.entries().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names[0], "num_upstream");
        assert!(names.contains(&"tot_wait_queue_timeout"));
    }
}
