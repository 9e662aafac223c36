//! The soak: real memcached and moxi processes on loopback, checked load
//! for a while, faults on a schedule ([`crate::faults`]), one report.
//!
//! One moxi process per downstream protocol asked for, each in the same
//! topology shape, all in front of the same memcached; clients are spread
//! over them and over both client protocols.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use testkit::topology::{free_ports, local, spawn_moxi, Shape};
use testkit::{ChildServer, Memcached};

use crate::epoch::Epochs;
use crate::faults::{self, FaultKind, FaultRecord, Plan};
use crate::report::Report;
use crate::run::{self, Load};

/// What to run.
#[derive(Clone, Debug)]
pub struct SoakConfig {
    /// The moxi binary.
    pub moxi: PathBuf,
    /// How long the load runs.
    pub duration: Duration,
    /// Concurrent clients.
    pub clients: u32,
    /// Topology shape of each moxi.
    pub shape: Shape,
    /// Downstream protocols: one moxi each.
    pub downstreams: Vec<String>,
    /// A fault this often (`None`: no faults).
    pub fault_every: Option<Duration>,
    /// Which faults, taking turns.
    pub faults: Vec<FaultKind>,
    /// moxi's `downstream_timeout`.
    pub downstream_timeout: Duration,
    /// Client-side timeout.
    pub client_timeout: Duration,
    /// Most operations per client batch.
    pub pipeline: usize,
    /// Client runtime threads.
    pub threads: usize,
    /// Random seed.
    pub seed: u64,
}

impl SoakConfig {
    /// Defaults: fanout, ascii and binary downstreams, 500 clients, a
    /// fault every 5 s, moxi's downstream_timeout 1 s.
    pub fn new(moxi: PathBuf, duration: Duration) -> SoakConfig {
        SoakConfig {
            moxi,
            duration,
            clients: 500,
            shape: Shape::Fanout,
            downstreams: vec!["ascii".into(), "binary".into()],
            fault_every: Some(Duration::from_secs(5)),
            faults: FaultKind::CYCLE.to_vec(),
            downstream_timeout: Duration::from_secs(1),
            client_timeout: Duration::from_secs(5),
            pipeline: 3,
            threads: 2,
            seed: 1,
        }
    }
}

/// What the soak found.
#[derive(Debug)]
pub struct SoakResult {
    /// Clients' counts.
    pub report: Report,
    /// The faults applied.
    pub faults: Vec<FaultRecord>,
    /// Per moxi (by downstream protocol): peak and final RSS in kB (from
    /// /proc), and whether it was still running at the end.
    pub moxis: Vec<MoxiEnd>,
    /// How long the load ran.
    pub elapsed: Duration,
}

/// A moxi at the end of the soak.
#[derive(Clone, Debug)]
pub struct MoxiEnd {
    /// Its downstream protocol.
    pub downstream: String,
    /// VmHWM (peak resident set), kB.
    pub peak_rss_kb: Option<u64>,
    /// VmRSS at the end, kB.
    pub rss_kb: Option<u64>,
    /// VmRSS every [`RSS_SAMPLE`] from the start, kB (a leak grows here).
    pub rss_series_kb: Vec<u64>,
    /// Still running (a crash is a failure).
    pub alive: bool,
    /// The tail of its stderr when it died.
    pub log_tail: String,
}

impl SoakResult {
    /// True when the soak passed: no mismatch, every moxi alive.
    pub fn passed(&self) -> bool {
        self.report.mismatches == 0 && self.moxis.iter().all(|m| m.alive)
    }
}

/// Errors setting the soak up.
#[derive(Debug, thiserror::Error)]
pub enum SoakError {
    /// A process or port could not be had.
    #[error("set-up: {0}")]
    Setup(#[from] std::io::Error),
}

/// A moxi of the soak: its downstream protocol, process and entry address.
type Moxi = (String, ChildServer, SocketAddr);

/// How often moxi's resident set is sampled for the report.
pub const RSS_SAMPLE: Duration = Duration::from_secs(10);

/// Runs the soak described by `cfg`.
pub fn run_soak(cfg: &SoakConfig) -> Result<SoakResult, SoakError> {
    let (mut servers, moxis) = start_cluster(cfg)?;
    let epochs = Arc::new(Epochs::default());
    let plan = cfg.fault_every.map(|every| Plan {
        kinds: cfg.faults.clone(),
        ..Plan::new(every, cfg.downstream_timeout, hops(cfg.shape))
    });
    let load = load_for(cfg, &moxis, plan.as_ref());
    let pids: Vec<u32> = moxis.iter().map(|(_, c, _)| c.pid()).collect();
    let start = Instant::now();
    let until = start + cfg.duration;
    let (report, faults, series) = std::thread::scope(|s| {
        let fault_epochs = epochs.clone();
        let servers = &mut servers;
        let faults = s.spawn(move || match plan {
            Some(plan) => faults::run(servers, plan, &fault_epochs, start, until),
            None => Vec::new(),
        });
        let series = s.spawn(|| sample_rss(&pids, until));
        let report = run::run(&load, epochs.clone());
        let faults = faults.join().unwrap_or_default();
        (report, faults, series.join().unwrap_or_default())
    });
    let elapsed = start.elapsed();
    let moxis = moxis
        .into_iter()
        .enumerate()
        .map(|(i, (ds, mut child, _))| {
            let rss = series
                .iter()
                .filter_map(|row| row.get(i).copied())
                .collect();
            moxi_end(ds, &mut child, rss)
        })
        .collect();
    Ok(SoakResult {
        report: report?,
        faults,
        moxis,
        elapsed,
    })
}

/// memcached (shared) and one moxi per downstream protocol.
fn start_cluster(cfg: &SoakConfig) -> std::io::Result<(Vec<Memcached>, Vec<Moxi>)> {
    let servers = (0..cfg.shape.memcacheds())
        .map(|_| Memcached::start(&["-U", "0", "-t", "1", "-m", "256", "-c", "8192"]))
        .collect::<std::io::Result<Vec<_>>>()?;
    let mc_ports: Vec<u16> = servers.iter().map(|m| m.addr().port()).collect();
    let mut moxis = Vec::new();
    for ds in &cfg.downstreams {
        let ports = free_ports(cfg.shape.pools())?;
        // A long wait queue: a request that waits there too long is
        // answered as a miss (ascii gets), which only a fault may explain.
        let behaviors = format!(
            "downstream_protocol={ds},downstream_timeout={},wait_queue_timeout=30000",
            cfg.downstream_timeout.as_millis()
        );
        let cluster = cfg.shape.cluster(&ports, &mc_ports);
        let child = spawn_moxi(&cfg.moxi, &cluster, &behaviors, &ports, &["-c", "16384"])?;
        moxis.push((ds.clone(), child, local(ports[0])));
    }
    Ok((servers, moxis))
}

/// The clients, spread over the moxis. A write that failed may land for
/// as long as a server stays stopped plus twice the settling time (each
/// hop's timeout), plus the clients' own timeout, plus a margin.
fn load_for(cfg: &SoakConfig, moxis: &[Moxi], plan: Option<&Plan>) -> Load {
    // Through an inner ascii hop, a failed read comes back as a miss.
    let inner_hops = matches!(cfg.shape, Shape::Chain | Shape::Fanoutin);
    Load {
        targets: moxis.iter().map(|(_, _, a)| *a).collect(),
        miss_on_error: moxis
            .iter()
            .map(|(ds, _, _)| inner_hops && ds == "ascii")
            .collect(),
        fault_aware: cfg.fault_every.is_some(),
        ghost_ttl: plan.map_or(crate::model::GHOST_TTL, |p| {
            p.stop_for + p.settle * 2 + cfg.client_timeout + Duration::from_secs(2)
        }),
        ops_per_client: None,
        duration: Some(cfg.duration),
        pipeline: cfg.pipeline,
        timeout: cfg.client_timeout,
        threads: cfg.threads,
        seed: cfg.seed,
        ..Load::new(local(0), cfg.clients)
    }
}

/// VmRSS (kB) of each pid every [`RSS_SAMPLE`] until `until`.
fn sample_rss(pids: &[u32], until: Instant) -> Vec<Vec<u64>> {
    let mut rows = Vec::new();
    let mut next = Instant::now();
    while next <= until {
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        rows.push(
            pids.iter()
                .map(|pid| proc_status_kb(*pid, "VmRSS:").unwrap_or(0))
                .collect(),
        );
        next += RSS_SAMPLE;
    }
    rows
}

fn proc_status_kb(pid: u32, name: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_kb(&status, name)
}

/// moxi pools between a client and memcached.
fn hops(shape: Shape) -> u32 {
    match shape {
        Shape::Simple | Shape::Fanout => 1,
        Shape::Chain | Shape::Fanoutin => 3,
    }
}

fn moxi_end(downstream: String, child: &mut ChildServer, rss_series_kb: Vec<u64>) -> MoxiEnd {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.pid())).unwrap_or_default();
    let alive = child.is_running();
    let log = child.stderr_text();
    let tail: Vec<&str> = log.lines().rev().take(20).collect();
    MoxiEnd {
        downstream,
        peak_rss_kb: status_kb(&status, "VmHWM:"),
        rss_kb: status_kb(&status, "VmRSS:"),
        rss_series_kb,
        alive,
        log_tail: if alive {
            String::new()
        } else {
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        },
    }
}

/// A `Name:   123 kB` line of /proc/PID/status.
fn status_kb(status: &str, name: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

impl fmt::Display for SoakResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64().max(0.001);
        writeln!(f, "duration: {:.1} s", self.elapsed.as_secs_f64())?;
        writeln!(f, "faults: {}", self.faults.len())?;
        for fault in &self.faults {
            writeln!(f, "  {fault}")?;
        }
        write!(f, "{}", self.report)?;
        writeln!(f, "requests/s: {:.0}", self.report.requests as f64 / secs)?;
        for m in &self.moxis {
            let kb = |v: Option<u64>| v.map_or("?".into(), |v| format!("{v} kB"));
            writeln!(
                f,
                "moxi ({} downstream): peak RSS {}, final RSS {}, {}",
                m.downstream,
                kb(m.peak_rss_kb),
                kb(m.rss_kb),
                if m.alive { "running" } else { "DIED" }
            )?;
            let mb: Vec<String> = m
                .rss_series_kb
                .iter()
                .map(|kb| (kb / 1024).to_string())
                .collect();
            writeln!(
                f,
                "  RSS every {} s (MB): {}",
                RSS_SAMPLE.as_secs(),
                mb.join(" ")
            )?;
            if !m.log_tail.is_empty() {
                writeln!(f, "{}", m.log_tail)?;
            }
        }
        writeln!(f, "result: {}", if self.passed() { "PASS" } else { "FAIL" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_status_lines_parse() {
        let s = "Name:\tmoxi\nVmHWM:\t   12345 kB\nVmRSS:\t    999 kB\n";
        assert_eq!(status_kb(s, "VmHWM:"), Some(12345));
        assert_eq!(status_kb(s, "VmRSS:"), Some(999));
        assert_eq!(status_kb(s, "VmSwap:"), None);
    }
}
