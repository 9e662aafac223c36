//! Server-level counters and the `stats` groups of the embedded server,
//! printed with memcached 1.6's names in memcached's order.
//!
//! Counters are kept per worker (each worker writes only its own padded
//! slot) and summed when a client asks, so counting never contends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use engine::Engine;
use protocol::Response;

use crate::conns::ConnTable;
use crate::detail::Detail;
use crate::settings::Settings;
use runtime::listener::ConnLimit;
use runtime::workers::worker_index;

/// The version we report: memcached's protocol level, then ours.
pub const VERSION: &str = concat!("1.6.18-moxi-", env!("CARGO_PKG_VERSION"));

/// One worker's counters, padded to its own cache lines.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Slot {
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
    cmd_flush: AtomicU64,
    conn_yields: AtomicU64,
    cmd_meta: AtomicU64,
    idle_kicks: AtomicU64,
}

/// Counters that belong to the server rather than the engine.
#[derive(Debug)]
pub struct ServerStats {
    slots: Vec<Slot>,
    /// `stats detail`'s per-prefix counters.
    pub detail: Detail,
    /// The open connections, for `stats conns`.
    pub conn_table: Arc<ConnTable>,
    started: Instant,
}

impl ServerStats {
    /// Counters for `workers` worker threads.
    pub fn new(workers: usize) -> Arc<ServerStats> {
        Arc::new(ServerStats {
            slots: (0..workers.max(1)).map(|_| Slot::default()).collect(),
            detail: Detail::default(),
            conn_table: Arc::default(),
            started: Instant::now(),
        })
    }

    fn slot(&self) -> &Slot {
        &self.slots[worker_index() % self.slots.len()]
    }

    /// Counts bytes read from a client.
    pub fn add_read(&self, n: usize) {
        self.slot()
            .bytes_read
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts bytes written to a client.
    pub fn add_written(&self, n: usize) {
        self.slot()
            .bytes_written
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts a `flush_all` refused by `-F` (memcached counts it anyway;
    /// the engine counts the ones it performs).
    pub fn add_refused_flush(&self) {
        self.slot().cmd_flush.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an `me` (memcached's `cmd_meta` counts only meta debug).
    pub fn add_meta_debug(&self) {
        self.slot().cmd_meta.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a connection closed by `-o idle_timeout`.
    pub fn add_idle_kick(&self) {
        self.slot().idle_kicks.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a connection that yielded after `-R` requests.
    pub fn add_yield(&self) {
        self.slot().conn_yields.fetch_add(1, Ordering::Relaxed);
    }

    fn sum(&self, f: impl Fn(&Slot) -> &AtomicU64) -> u64 {
        self.slots
            .iter()
            .map(|s| f(s).load(Ordering::Relaxed))
            .sum()
    }

    /// Zeroes what `stats reset` resets.
    pub fn reset(&self) {
        self.detail.clear();
        for s in &self.slots {
            s.bytes_read.store(0, Ordering::Relaxed);
            s.bytes_written.store(0, Ordering::Relaxed);
            s.cmd_flush.store(0, Ordering::Relaxed);
            s.conn_yields.store(0, Ordering::Relaxed);
            s.cmd_meta.store(0, Ordering::Relaxed);
            s.idle_kicks.store(0, Ordering::Relaxed);
        }
    }

    /// Seconds since start.
    pub fn uptime(&self) -> u64 {
        self.started.elapsed().as_secs()
    }
}

/// Everything a `stats` command reads.
pub struct StatsSources<'a> {
    /// Server counters.
    pub server: &'a ServerStats,
    /// The engine.
    pub engine: &'a Engine,
    /// Connection counters.
    pub conns: &'a ConnLimit,
    /// Settings.
    pub settings: &'a Settings,
    /// Bound TCP port.
    pub port: u16,
}

fn stat(out: &mut Vec<Response>, name: &str, value: impl ToString) {
    out.push(Response::Stat {
        name: Bytes::copy_from_slice(name.as_bytes()),
        value: Bytes::from(value.to_string()),
    });
}

fn rusage() -> (String, String) {
    // `unsafe` is forbidden in this workspace, so getrusage(2) is out of
    // reach: read the process CPU times from /proc instead.
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_owned();
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((
                f.get(11)?.parse::<u64>().ok()?,
                f.get(12)?.parse::<u64>().ok()?,
            ))
        });
    let (u, s) = ticks.unwrap_or((0, 0));
    // Linux reports in clock ticks of 1/100 s on every common configuration.
    let fmt = |t: u64| format!("{}.{:06}", t / 100, (t % 100) * 10_000);
    (fmt(u), fmt(s))
}

/// Plain `stats`: memcached 1.6.18's names in its order.
pub fn general(src: &StatsSources<'_>) -> Vec<Response> {
    let e = src.engine.stats();
    let s = src.server;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (ru, rs) = rusage();
    let mut o = Vec::with_capacity(96);
    stat(&mut o, "pid", std::process::id());
    stat(&mut o, "uptime", s.uptime());
    stat(&mut o, "time", now);
    stat(&mut o, "version", VERSION);
    stat(&mut o, "libevent", "tokio");
    stat(&mut o, "pointer_size", usize::BITS);
    stat(&mut o, "rusage_user", ru);
    stat(&mut o, "rusage_system", rs);
    stat(&mut o, "max_connections", src.conns.max());
    stat(&mut o, "curr_connections", src.conns.current());
    stat(&mut o, "total_connections", src.conns.total());
    stat(&mut o, "rejected_connections", src.conns.rejected());
    stat(&mut o, "connection_structures", src.conns.current());
    for name in [
        "response_obj_oom",
        "response_obj_count",
        "response_obj_bytes",
    ] {
        stat(&mut o, name, 0);
    }
    for name in [
        "read_buf_count",
        "read_buf_bytes",
        "read_buf_bytes_free",
        "read_buf_oom",
    ] {
        stat(&mut o, name, 0);
    }
    stat(&mut o, "reserved_fds", 0);
    stat(&mut o, "cmd_get", e.cmd_get);
    stat(&mut o, "cmd_set", e.cmd_set);
    stat(&mut o, "cmd_flush", e.cmd_flush + s.sum(|x| &x.cmd_flush));
    stat(&mut o, "cmd_touch", e.cmd_touch);
    stat(&mut o, "cmd_meta", s.sum(|x| &x.cmd_meta));
    stat(&mut o, "get_hits", e.get_hits);
    stat(&mut o, "get_misses", e.get_misses);
    stat(&mut o, "get_expired", e.get_expired);
    stat(&mut o, "get_flushed", e.get_flushed);
    stat(&mut o, "delete_misses", e.delete_misses);
    stat(&mut o, "delete_hits", e.delete_hits);
    stat(&mut o, "incr_misses", e.incr_misses);
    stat(&mut o, "incr_hits", e.incr_hits);
    stat(&mut o, "decr_misses", e.decr_misses);
    stat(&mut o, "decr_hits", e.decr_hits);
    stat(&mut o, "cas_misses", e.cas_misses);
    stat(&mut o, "cas_hits", e.cas_hits);
    stat(&mut o, "cas_badval", e.cas_badval);
    stat(&mut o, "touch_hits", e.touch_hits);
    stat(&mut o, "touch_misses", e.touch_misses);
    stat(&mut o, "store_too_large", e.store_too_large);
    stat(&mut o, "store_no_memory", e.store_no_memory);
    stat(&mut o, "auth_cmds", 0);
    stat(&mut o, "auth_errors", 0);
    // memcached prints it only when an idle timeout is set.
    if src.settings.idle_timeout > 0 {
        stat(&mut o, "idle_kicks", s.sum(|x| &x.idle_kicks));
    }
    stat(&mut o, "bytes_read", s.sum(|x| &x.bytes_read));
    stat(&mut o, "bytes_written", s.sum(|x| &x.bytes_written));
    stat(&mut o, "limit_maxbytes", src.engine.max_bytes());
    stat(&mut o, "accepting_conns", 1);
    stat(&mut o, "listen_disabled_num", 0);
    stat(&mut o, "time_in_listen_disabled_us", 0);
    stat(&mut o, "threads", src.settings.threads);
    stat(&mut o, "conn_yields", s.sum(|x| &x.conn_yields));
    // memcached's hash table and slab rebalancer have no counterpart in our
    // engine; the names stay so that tools reading them keep working.
    for name in FIXED_ZERO_MIDDLE {
        stat(&mut o, name, 0);
    }
    stat(&mut o, "bytes", e.bytes);
    stat(&mut o, "curr_items", e.curr_items);
    stat(&mut o, "total_items", e.total_items);
    stat(&mut o, "slab_global_page_pool", 0);
    stat(&mut o, "expired_unfetched", e.expired_unfetched);
    stat(&mut o, "evicted_unfetched", e.evicted_unfetched);
    stat(&mut o, "evicted_active", 0);
    stat(&mut o, "evictions", e.evictions);
    stat(&mut o, "reclaimed", e.reclaimed);
    for name in FIXED_ZERO_TAIL {
        stat(&mut o, name, 0);
    }
    o
}

const FIXED_ZERO_MIDDLE: &[&str] = &[
    "hash_power_level",
    "hash_bytes",
    "hash_is_expanding",
    "slab_reassign_rescues",
    "slab_reassign_chunk_rescues",
    "slab_reassign_evictions_nomem",
    "slab_reassign_inline_reclaim",
    "slab_reassign_busy_items",
    "slab_reassign_busy_deletes",
    "slab_reassign_running",
    "slabs_moved",
    "lru_crawler_running",
    "lru_crawler_starts",
    "lru_maintainer_juggles",
    "malloc_fails",
    "log_worker_dropped",
    "log_worker_written",
    "log_watcher_skipped",
    "log_watcher_sent",
    "log_watchers",
    "unexpected_napi_ids",
    "round_robin_fallback",
];

const FIXED_ZERO_TAIL: &[&str] = &[
    "crawler_reclaimed",
    "crawler_items_checked",
    "lrutail_reflocked",
    "moves_to_cold",
    "moves_to_warm",
    "moves_within_lru",
    "direct_reclaims",
    "lru_bumps_dropped",
];

/// `stats settings`: the settings that mean something for our server.
pub fn settings(src: &StatsSources<'_>) -> Vec<Response> {
    // `cache_memlimit` changes memcached's `settings.maxbytes` too.
    let current = Settings {
        max_bytes: src.engine.max_bytes(),
        ..(*src.settings).clone()
    };
    let mut o = settings_of(&current, src.port);
    // `stats detail` belongs to the server, not to its settings: its two
    // lines go after `num_threads`, where memcached prints them.
    let at = o
        .iter()
        .position(|r| matches!(r, Response::Stat { name, .. } if &name[..] == b"num_threads"))
        .map_or(o.len(), |i| i + 1);
    let mut detail = Vec::with_capacity(2);
    detail.push(Response::Stat {
        name: Bytes::from_static(b"stat_key_prefix"),
        value: Bytes::copy_from_slice(&[src.server.detail.delimiter()]),
    });
    stat(
        &mut detail,
        "detail_enabled",
        yes_no(src.server.detail.enabled()),
    );
    o.splice(at..at, detail);
    o
}

/// `stats settings` from the settings alone (the proxy's `stats proxy
/// settings` prints them whether or not an embedded server runs).
pub fn settings_of(st: &Settings, port: u16) -> Vec<Response> {
    let mut o = Vec::with_capacity(32);
    stat(&mut o, "maxbytes", st.max_bytes);
    stat(&mut o, "maxconns", st.max_conns);
    stat(&mut o, "tcpport", port);
    stat(&mut o, "udpport", 0);
    let inter = if st.listen.is_empty() {
        "NULL".to_string()
    } else {
        st.listen
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    stat(&mut o, "inter", inter);
    stat(&mut o, "verbosity", st.verbosity);
    stat(&mut o, "oldest", 0);
    stat(&mut o, "evictions", if st.no_evict { "off" } else { "on" });
    stat(&mut o, "domain_socket", "NULL");
    stat(&mut o, "umask", 700);
    stat(&mut o, "shutdown_command", yes_no(st.shutdown_enabled));
    stat(&mut o, "num_threads", st.threads);
    stat(&mut o, "reqs_per_event", st.reqs_per_event);
    stat(&mut o, "cas_enabled", yes_no(!st.cas_disabled));
    stat(&mut o, "tcp_backlog", st.backlog);
    stat(&mut o, "binding_protocol", st.binding.name());
    stat(&mut o, "item_size_max", st.item_size_max);
    stat(&mut o, "maxconns_fast", "yes");
    stat(&mut o, "flush_enabled", yes_no(!st.flush_disabled));
    stat(&mut o, "idle_timeout", st.idle_timeout);
    o
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// `stats slabs`: our engine has no slab classes, so only the totals.
pub fn slabs(src: &StatsSources<'_>) -> Vec<Response> {
    let e = src.engine.stats();
    let mut o = Vec::new();
    stat(&mut o, "active_slabs", 0);
    stat(&mut o, "total_malloced", e.bytes);
    o
}
