//! Server health, one record per downstream address for the whole process
//! (moxi kept it per worker thread): consecutive connect or auth failures,
//! the "down" mark, connection counters and the connect-time histogram.
//!
//! After `connect_max_errors` consecutive failures a server is marked down
//! and requests for it fail at once (`SERVER_ERROR proxy write to
//! downstream <host>`; gets in hashed pools read as misses) instead of each
//! waiting for `connect_timeout`. moxi then skipped the server blindly for
//! `connect_retry_interval` (30 s). Here a probe thread tries it every
//! `cycle` (200 ms): a connect plus one round trip (binary NOOP or ascii
//! `version`); any well-formed answer brings the server back at once. With
//! `cycle=0` there is no probe and moxi's blind interval applies.
//!
//! Records are shared by every topology naming the address; the registry
//! keeps weak references, so a server no configuration names any more is
//! forgotten, and its probe stops.

pub(crate) mod eject;
pub(crate) mod server_log;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::health::server_log::ServerLog;
use crate::stats::timings::Histogram;
use crate::stats::{ProxyStats, Totals};
use crate::topology::{DownstreamProtocol, Timeouts};

/// How failures turn into a down server and back (`-Z connect_max_errors`,
/// `cycle`, `connect_retry_interval`, `eject_hosts`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthPolicy {
    /// Consecutive connect/auth failures that mark a server down; 0: never.
    pub max_errors: u32,
    /// Probe interval of a down server (`cycle`); zero: no probe, the
    /// server is skipped for `retry_interval` instead (moxi).
    pub probe_interval: Duration,
    /// `connect_retry_interval`: without probes, how long a down server is
    /// skipped before traffic tries it again.
    pub retry_interval: Duration,
    /// `eject_hosts`: a down server leaves the hash ring of hashed pools.
    pub eject: bool,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        HealthPolicy {
            max_errors: 5,
            probe_interval: Duration::from_millis(200),
            retry_interval: Duration::from_millis(30_000),
            eject: false,
        }
    }
}

/// The health and connection counters of one downstream address.
pub struct ServerHealth {
    addr: String,
    errors: AtomicU32,
    down: AtomicBool,
    probing: AtomicBool,
    /// Times this server was marked down.
    marked_down: AtomicU64,
    /// Connection-level counters (`num_downstream_conn`,
    /// `tot_downstream_connect`, `tot_downstream_auth`, ...).
    pub counters: ProxyStats,
    /// Microseconds from connect start to a usable connection.
    pub connect_time: Histogram,
    /// The server's budget of requests in flight per worker
    /// (`downstream_conn_pipeline`); see [`crate::admission`].
    pub(crate) budget: crate::admission::PerWorker,
    /// The log of this server's state changes (`-v`).
    pub log: ServerLog,
}

impl std::fmt::Debug for ServerHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHealth")
            .field("addr", &self.addr)
            .field("down", &self.is_down())
            .finish_non_exhaustive()
    }
}

static SERVERS: Mutex<Option<HashMap<String, Weak<ServerHealth>>>> = Mutex::new(None);
/// Bumped whenever any server goes down or comes back (ejection caches
/// compare it).
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The record of `addr` (`host:port`), created on first use.
pub fn entry(addr: &str) -> Arc<ServerHealth> {
    let mut reg = SERVERS.lock().unwrap_or_else(|p| p.into_inner());
    let map = reg.get_or_insert_with(HashMap::new);
    if let Some(h) = map.get(addr).and_then(Weak::upgrade) {
        return h;
    }
    map.retain(|_, w| w.strong_count() > 0);
    let h = Arc::new(ServerHealth {
        addr: addr.to_owned(),
        errors: AtomicU32::new(0),
        down: AtomicBool::new(false),
        probing: AtomicBool::new(false),
        marked_down: AtomicU64::new(0),
        counters: ProxyStats::default(),
        connect_time: Histogram::default(),
        budget: Default::default(),
        log: ServerLog::default(),
    });
    map.insert(addr.to_owned(), Arc::downgrade(&h));
    h
}

/// Every live record, sorted by address.
pub fn all() -> Vec<Arc<ServerHealth>> {
    let reg = SERVERS.lock().unwrap_or_else(|p| p.into_inner());
    let mut v: Vec<_> = reg
        .iter()
        .flat_map(|m| m.values())
        .filter_map(Weak::upgrade)
        .collect();
    v.sort_by(|a, b| a.addr.cmp(&b.addr));
    v
}

/// Changes whenever a server goes down or comes back.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// Keeps `num_downstream_conn` counted while a connection lives.
pub struct LiveConn(Arc<ServerHealth>);

impl Drop for LiveConn {
    fn drop(&mut self) {
        self.0
            .counters
            .num_downstream_conn
            .fetch_sub(1, Ordering::Relaxed);
    }
}

impl ServerHealth {
    /// `host:port`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Whether requests for this server fail at once.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// Consecutive failures so far.
    pub fn errors(&self) -> u32 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Times marked down since start.
    pub fn times_marked_down(&self) -> u64 {
        self.marked_down.load(Ordering::Relaxed)
    }

    /// A connection opened (and authenticated) in `took`.
    pub fn connected(self: &Arc<Self>, took: Duration, time_stats: bool) -> LiveConn {
        let c = &self.counters;
        c.tot_downstream_conn.fetch_add(1, Ordering::Relaxed);
        c.tot_downstream_connect.fetch_add(1, Ordering::Relaxed);
        c.num_downstream_conn.fetch_add(1, Ordering::Relaxed);
        if time_stats {
            self.connect_time.record(took);
        }
        self.errors.store(0, Ordering::Relaxed);
        self.log.success(&self.addr, true);
        LiveConn(self.clone())
    }

    /// A connect or authentication failed: counts it, and marks the server
    /// down after `max_errors` in a row.
    pub fn connect_failed(self: &Arc<Self>, t: &Timeouts, protocol: DownstreamProtocol) {
        let c = &self.counters;
        c.tot_downstream_conn.fetch_add(1, Ordering::Relaxed);
        c.tot_downstream_connect_failed
            .fetch_add(1, Ordering::Relaxed);
        let errors = self
            .errors
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        let max = t.health.max_errors;
        if max == 0 || errors < max || self.down.swap(true, Ordering::AcqRel) {
            return;
        }
        self.marked_down.fetch_add(1, Ordering::Relaxed);
        GENERATION.fetch_add(1, Ordering::AcqRel);
        let cause = self.log.cause().unwrap_or_else(|| "no cause known".into());
        log::warn!(
            "downstream {}: down after {errors} failed connects (last: {cause})",
            self.addr
        );
        if !self.probing.swap(true, Ordering::AcqRel) {
            let probe = Probe {
                health: Arc::downgrade(self),
                policy: t.health.clone(),
                protocol,
                timeout: t.connect.max(Duration::from_millis(100)),
            };
            let spawned = std::thread::Builder::new()
                .name("moxi-probe".into())
                .spawn(move || probe.run());
            if spawned.is_err() {
                // No thread: fall back to letting traffic find out.
                self.probing.store(false, Ordering::Release);
                self.up(max.saturating_sub(1));
            }
        }
    }

    fn up(&self, errors: u32) {
        self.errors.store(errors, Ordering::Relaxed);
        if self.down.swap(false, Ordering::AcqRel) {
            GENERATION.fetch_add(1, Ordering::AcqRel);
            log::warn!("downstream {}: up again", self.addr);
        }
    }

    /// Adds the connection-level counters into `t`.
    pub fn add_to(&self, t: &mut Totals) {
        self.counters.add_to(t);
    }
}

/// A background check of one down server.
struct Probe {
    health: Weak<ServerHealth>,
    policy: HealthPolicy,
    protocol: DownstreamProtocol,
    timeout: Duration,
}

impl Probe {
    fn run(self) {
        let started = Instant::now();
        loop {
            let wait = if self.policy.probe_interval.is_zero() {
                self.policy.retry_interval
            } else {
                self.policy.probe_interval
            };
            std::thread::sleep(wait);
            let Some(h) = self.health.upgrade() else {
                return;
            };
            if !h.is_down() {
                h.probing.store(false, Ordering::Release);
                return;
            }
            if self.policy.probe_interval.is_zero() {
                // moxi: after the interval, the next request may try again;
                // one more failure marks it down again.
                h.probing.store(false, Ordering::Release);
                h.up(self.policy.max_errors.saturating_sub(1));
                return;
            }
            if answers(&h.addr, self.protocol, self.timeout) {
                log::info!(
                    "downstream {}: probe answered after {:?}",
                    h.addr,
                    started.elapsed()
                );
                h.probing.store(false, Ordering::Release);
                h.up(0);
                return;
            }
        }
    }
}

/// Whether `addr` accepts a connection and answers one NOOP (binary) or
/// `version` (ascii) within `timeout` each.
pub fn answers(addr: &str, protocol: DownstreamProtocol, timeout: Duration) -> bool {
    let Ok(addrs) = addr.to_socket_addrs() else {
        return false;
    };
    for a in addrs {
        let Ok(mut s) = TcpStream::connect_timeout(&a, timeout) else {
            continue;
        };
        let _ = s.set_read_timeout(Some(timeout));
        let _ = s.set_write_timeout(Some(timeout));
        return match protocol {
            DownstreamProtocol::Binary => {
                let mut noop = [0u8; 24];
                noop[0] = 0x80;
                noop[1] = 0x0a;
                let mut head = [0u8; 24];
                s.write_all(&noop).is_ok() && s.read_exact(&mut head).is_ok() && head[0] == 0x81
            }
            DownstreamProtocol::Ascii => {
                let mut line = Vec::new();
                let mut byte = [0u8; 1];
                if s.write_all(b"version\r\n").is_err() {
                    return false;
                }
                while line.len() < 256 && !line.ends_with(b"\n") {
                    match s.read(&mut byte) {
                        Ok(1) => line.push(byte[0]),
                        _ => return false,
                    }
                }
                line.ends_with(b"\n")
            }
        };
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeouts(max_errors: u32) -> Timeouts {
        Timeouts {
            health: HealthPolicy {
                max_errors,
                probe_interval: Duration::from_millis(20),
                ..HealthPolicy::default()
            },
            ..Timeouts::default()
        }
    }

    #[test]
    fn failures_in_a_row_mark_down_and_a_success_resets() {
        let h = entry("127.0.0.1:1");
        let t = timeouts(3);
        h.connect_failed(&t, DownstreamProtocol::Ascii);
        h.connect_failed(&t, DownstreamProtocol::Ascii);
        drop(h.connected(Duration::ZERO, false));
        h.connect_failed(&t, DownstreamProtocol::Ascii);
        h.connect_failed(&t, DownstreamProtocol::Ascii);
        assert!(!h.is_down());
        let before = generation();
        h.connect_failed(&t, DownstreamProtocol::Ascii);
        assert!(h.is_down());
        assert!(generation() > before);
        assert_eq!(h.times_marked_down(), 1);
        let mut tot = Totals::default();
        h.add_to(&mut tot);
        assert_eq!(
            (tot.tot_downstream_connect_failed, tot.num_downstream_conn),
            (5, 0)
        );
        assert!(Arc::ptr_eq(&h, &entry("127.0.0.1:1")));
    }

    #[test]
    fn zero_max_errors_never_marks_down() {
        let h = entry("127.0.0.1:2");
        for _ in 0..10 {
            h.connect_failed(&timeouts(0), DownstreamProtocol::Binary);
        }
        assert!(!h.is_down());
    }

    #[test]
    fn a_probe_brings_a_listening_server_back() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for s in listener.incoming() {
                let mut s = s.unwrap();
                let mut line = [0u8; 9];
                if s.read_exact(&mut line).is_ok() {
                    let _ = s.write_all(b"VERSION 1\r\n");
                }
            }
        });
        let h = entry(&addr);
        h.connect_failed(&timeouts(1), DownstreamProtocol::Ascii);
        assert!(h.is_down());
        let start = Instant::now();
        while h.is_down() && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!h.is_down(), "probe did not bring it back");
        assert_eq!(h.errors(), 0);
    }
}
