//! One measured run against one target: prefill, then closed- or open-loop
//! load, then a [`RunResult`] (summary, errors, CSV row).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use crate::closed::{self, Source};
use crate::csv::Row;
use crate::keys::Rng;
use crate::open;
use crate::progress::{Goal, Progress};
use crate::summary::Summary;
use crate::tally::{ClassCount, ErrorClass, Tally};
use crate::workload::{Mix, Workload};

/// Closed loop (throughput) or open loop (latency at a fixed rate).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// Each connection keeps `pipeline` requests outstanding.
    Closed,
    /// Requests leave on a timetable of `rate` per second over all connections.
    Open {
        /// Requests per second.
        rate: f64,
    },
}

/// When a run stops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stop {
    /// After this long.
    After(Duration),
    /// After this many requests in all (closed loop; open loop turns it into
    /// a duration at its rate).
    Requests(u64),
}

/// Everything one run needs.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The target.
    pub addr: SocketAddr,
    /// Name of the system measured (CSV `label`).
    pub label: String,
    /// What requests look like.
    pub mix: Mix,
    /// Closed or open loop.
    pub mode: Mode,
    /// Client connections.
    pub connections: usize,
    /// Outstanding requests per connection (closed loop).
    pub pipeline: usize,
    /// Client threads.
    pub threads: usize,
    /// When to stop.
    pub stop: Stop,
    /// Set every key once before measuring, so that gets hit.
    pub prefill: bool,
    /// Draw a progress bar (when stderr is a terminal).
    pub progress: bool,
    /// Seed of the request streams.
    pub seed: u64,
    /// Processes whose CPU time is read just before and just after the
    /// measured load ([`RunResult::cpu`]).
    pub watch: Vec<u32>,
}

impl RunConfig {
    /// A closed-loop run of `duration` against `addr` with defaults
    /// (ascii, 90% gets, 1 connection, pipeline 1, 1 thread, prefill).
    pub fn new(addr: SocketAddr, duration: Duration) -> RunConfig {
        RunConfig {
            addr,
            label: addr.to_string(),
            mix: Mix::default(),
            mode: Mode::Closed,
            connections: 1,
            pipeline: 1,
            threads: 1,
            stop: Stop::After(duration),
            prefill: true,
            progress: false,
            seed: 0x5eed,
            watch: Vec::new(),
        }
    }
}

/// The outcome of a run.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// Throughput and percentiles.
    pub summary: Summary,
    /// Requests answered wrongly or not at all (prefill included).
    pub errors: u64,
    /// The first problem seen, if any.
    pub first_problem: Option<String>,
    /// Errors by class, each with its first occurrence.
    pub classes: BTreeMap<ErrorClass, ClassCount>,
    /// CPU time (user + system, all threads) each [`RunConfig::watch`]
    /// process spent during the measured load; `None` where it could not
    /// be read.
    pub cpu: Vec<Option<Duration>>,
}

impl RunResult {
    /// The CSV row of this result under `cfg`.
    pub fn row(&self, cfg: &RunConfig) -> Row {
        let (mode, rate) = match cfg.mode {
            Mode::Closed => ("closed", 0.0),
            Mode::Open { rate } => ("open", rate),
        };
        Row {
            label: cfg.label.clone(),
            mode: mode.into(),
            protocol: cfg.mix.protocol.to_string(),
            connections: cfg.connections as u64,
            pipeline: if cfg.mode == Mode::Closed {
                cfg.pipeline as u64
            } else {
                1
            },
            multiget: u64::from(cfg.mix.multiget.max(1)),
            get_ratio: cfg.mix.get_ratio,
            value_size: cfg.mix.value_size as u64,
            rate,
            throughput: self.summary.throughput,
            p50_us: self.summary.p50_us,
            p99_us: self.summary.p99_us,
            p999_us: self.summary.p999_us,
            max_us: self.summary.max_us,
            requests: self.summary.requests,
            errors: self.errors,
        }
    }
}

/// Runs `cfg`: prefill (if asked), then the measured load.
pub fn run(cfg: &RunConfig) -> RunResult {
    let wl = Arc::new(Workload::new(cfg.mix.clone()));
    let mut tally = Tally::default();
    if cfg.prefill {
        tally.merge(&prefill(cfg.addr, wl.clone(), cfg.connections.min(8)));
        // The prefill's latencies are not part of the measurement.
        tally.latencies = Default::default();
    }
    let done = Arc::new(AtomicU64::new(0));
    let goal = match cfg.stop {
        Stop::After(d) => Goal::Time(d),
        Stop::Requests(n) => Goal::Requests(n),
    };
    let bar = Progress::start(cfg.progress, &cfg.label, goal, done.clone());
    let cpu_before: Vec<Option<Duration>> = cfg.watch.iter().map(|&p| cpu_time(p)).collect();
    let (measured, elapsed) = match cfg.mode {
        Mode::Closed => closed::run(cfg.addr, wl, closed_plan(cfg), done),
        Mode::Open { rate } => {
            let duration = match cfg.stop {
                Stop::After(d) => d,
                Stop::Requests(n) => Duration::from_secs_f64(n as f64 / rate.max(1e-9)),
            };
            let plan = open::Plan {
                rate,
                connections: cfg.connections,
                threads: cfg.threads,
                duration,
                seed: cfg.seed,
            };
            open::run(cfg.addr, wl, plan, done)
        }
    };
    let cpu = cfg
        .watch
        .iter()
        .zip(cpu_before)
        .map(|(&p, before)| cpu_time(p)?.checked_sub(before?))
        .collect();
    drop(bar);
    tally.merge(&measured);
    RunResult {
        summary: tally.summarize(elapsed),
        errors: tally.errors,
        first_problem: tally.first_problem,
        classes: tally.classes,
        cpu,
    }
}

/// CPU time process `pid` has used so far, all threads, user and system
/// (`/proc/PID/stat` fields 14 and 15, in clock ticks of 1/100 s).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_cpu_ticks(&stat).map(|ticks| Duration::from_millis(ticks * 10))
}

/// utime + stime from a `/proc/PID/stat` line. The command name (field 2)
/// may hold spaces and parentheses, so fields are counted after its last
/// `)`.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn closed_plan(cfg: &RunConfig) -> closed::Plan {
    let conns = cfg.connections.max(1);
    let (duration, total) = match cfg.stop {
        Stop::After(d) => (Some(d), None),
        Stop::Requests(n) => (None, Some(n)),
    };
    let sources = (0..conns)
        .map(|i| Source::Mix {
            rng: Rng::new(
                cfg.seed
                    .wrapping_add((i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            ),
            remaining: total.map_or(u64::MAX, |n| share(n, conns, i)),
        })
        .collect();
    closed::Plan {
        threads: cfg.threads,
        pipeline: cfg.pipeline,
        duration,
        sources,
    }
}

/// Part `i` of `n` split over `parts` as evenly as possible.
pub fn share(n: u64, parts: usize, i: usize) -> u64 {
    let parts = parts.max(1) as u64;
    n / parts + u64::from((i as u64) < n % parts)
}

/// Sets every key of the workload's key space once over `connections`
/// pipelined connections; returns the counts (errors if a set failed).
pub fn prefill(addr: SocketAddr, wl: Arc<Workload>, connections: usize) -> Tally {
    let conns = connections.clamp(1, 8);
    let keys = wl.keys().len();
    let mut next = 0;
    let sources = (0..conns)
        .map(|i| {
            let end = next + share(keys, conns, i);
            let s = Source::Sets { next, end };
            next = end;
            s
        })
        .collect();
    let plan = closed::Plan {
        threads: 1,
        pipeline: 64,
        duration: None,
        sources,
    };
    closed::run(addr, wl, plan, Arc::new(AtomicU64::new(0))).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_counted_after_the_command_name() {
        let stat = "4242 (a (weird) name) S 1 2 3 4 5 6 7 8 9 10 250 75 0 0 20 0 3 0";
        assert_eq!(parse_cpu_ticks(stat), Some(325));
        assert_eq!(parse_cpu_ticks("4242 (x) S 1 2"), None);
        assert_eq!(parse_cpu_ticks("no parenthesis"), None);
    }

    #[test]
    fn shares_add_up() {
        for (n, p) in [(10u64, 3usize), (0, 4), (7, 7), (5, 8)] {
            let parts: Vec<u64> = (0..p).map(|i| share(n, p, i)).collect();
            assert_eq!(parts.iter().sum::<u64>(), n);
            assert!(parts.iter().max().unwrap_or(&0) - parts.iter().min().unwrap_or(&0) <= 1);
        }
    }

    #[test]
    fn row_reflects_the_config() {
        let mut cfg = RunConfig::new(
            "127.0.0.1:1".parse().unwrap_or_else(|_| unreachable!()),
            Duration::from_secs(1),
        );
        cfg.label = "moxi".into();
        cfg.mode = Mode::Open { rate: 2000.0 };
        cfg.connections = 4;
        cfg.pipeline = 8;
        let r = RunResult {
            summary: Summary {
                requests: 10,
                throughput: 1999.0,
                ..Summary::default()
            },
            errors: 1,
            first_problem: None,
            classes: BTreeMap::new(),
            cpu: Vec::new(),
        };
        let row = r.row(&cfg);
        assert_eq!(
            (row.mode.as_str(), row.rate, row.pipeline),
            ("open", 2000.0, 1)
        );
        assert_eq!((row.connections, row.errors, row.requests), (4, 1, 10));
    }
}
