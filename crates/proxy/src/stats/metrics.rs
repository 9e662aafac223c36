//! Counters and latency histograms of the proxy, kept per worker in padded
//! slots (each worker writes only its own) and summed when scraped. They
//! feed the Prometheus endpoint; names follow Prometheus conventions
//! (snake_case, unit suffix), declared next to what they count.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use protocol::{Command, GetKind, Request, Response, StoreMode};

/// Command labels, in the order of the counter arrays.
pub const COMMANDS: [&str; 20] = [
    "get",
    "gets",
    "gat",
    "gats",
    "set",
    "add",
    "replace",
    "append",
    "prepend",
    "cas",
    "incr",
    "decr",
    "delete",
    "touch",
    "flush_all",
    "stats",
    "version",
    "verbosity",
    "quit",
    "other",
];
/// Result labels: `hit`/`ok` is success, `miss` a get that found nothing
/// (or NOT_FOUND, NOT_STORED, EXISTS), `error` an error reply.
pub const RESULTS: [&str; 3] = ["ok", "miss", "error"];
/// Upper bounds of the latency buckets, in microseconds (then +Inf).
pub const LATENCY_BUCKETS_US: [u64; 16] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000,
];

const NC: usize = COMMANDS.len();
const NB: usize = LATENCY_BUCKETS_US.len() + 1;

/// One worker's counters.
#[repr(align(128))]
struct Slot {
    /// `moxi_requests_total{command,result}`.
    requests: [[AtomicU64; 3]; NC],
    /// `moxi_request_duration_seconds_bucket{command,le}` (non-cumulative here).
    latency: [[AtomicU64; NB]; NC],
    /// `moxi_request_duration_seconds_sum{command}`, in microseconds.
    latency_sum_us: [AtomicU64; NC],
    /// `moxi_client_read_bytes_total`.
    bytes_read: AtomicU64,
    /// `moxi_client_written_bytes_total`.
    bytes_written: AtomicU64,
}

impl Default for Slot {
    fn default() -> Self {
        Slot {
            requests: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            latency: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            latency_sum_us: std::array::from_fn(|_| AtomicU64::new(0)),
            bytes_read: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
        }
    }
}

/// The process's proxy metrics.
pub struct Metrics {
    slots: Vec<Slot>,
    /// `moxi_config_version`: bumped by every applied topology.
    config_version: AtomicU64,
}

/// Slots allocated: workers beyond this share slots (still correct, only
/// contended).
const MAX_SLOTS: usize = 64;

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(|| Metrics {
        slots: (0..MAX_SLOTS).map(|_| Slot::default()).collect(),
        config_version: AtomicU64::new(0),
    })
}

fn slot() -> &'static Slot {
    let m = metrics();
    &m.slots[runtime::workers::worker_index() % m.slots.len()]
}

/// The label index of a request's command (its place in [`COMMANDS`]).
pub fn command_index(req: &Request) -> usize {
    match &req.command {
        Command::Get(g) => match g.kind {
            GetKind::Get => 0,
            GetKind::Gets => 1,
            GetKind::Gat => 2,
            GetKind::Gats => 3,
        },
        Command::Store(s) => match s.mode {
            StoreMode::Set => 4,
            StoreMode::Add => 5,
            StoreMode::Replace => 6,
            StoreMode::Append => 7,
            StoreMode::Prepend => 8,
            StoreMode::Cas => 9,
        },
        Command::Arith(a) if a.incr => 10,
        Command::Arith(_) => 11,
        Command::Delete { .. } => 12,
        Command::Touch { .. } => 13,
        Command::FlushAll { .. } => 14,
        Command::Stats { .. } => 15,
        Command::Version => 16,
        Command::Verbosity { .. } => 17,
        Command::Quit => 18,
        _ => NC - 1,
    }
}

/// The result class of a reply.
pub fn result_index(req: &Request, frames: &[Response]) -> usize {
    let mut hit = false;
    for f in frames {
        match f {
            Response::Error(_) => return 2,
            Response::Status { .. } => return 2,
            Response::NotFound | Response::NotStored | Response::Exists => return 1,
            Response::Value(_) => hit = true,
            _ => {}
        }
    }
    if matches!(req.command, Command::Get(_)) && !hit {
        return 1;
    }
    0
}

/// Records one answered request of command `c` (a [`COMMANDS`] index);
/// see [`crate::stats::observe`], its one caller.
pub(crate) fn observe(c: usize, req: &Request, frames: &[Response], elapsed: Duration) {
    let s = slot();
    s.requests[c][result_index(req, frames)].fetch_add(1, Ordering::Relaxed);
    let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    let b = LATENCY_BUCKETS_US
        .iter()
        .position(|&le| us <= le)
        .unwrap_or(NB - 1);
    s.latency[c][b].fetch_add(1, Ordering::Relaxed);
    s.latency_sum_us[c].fetch_add(us, Ordering::Relaxed);
}

/// Counts client bytes.
pub fn add_bytes(read: usize, written: usize) {
    let s = slot();
    if read > 0 {
        s.bytes_read.fetch_add(read as u64, Ordering::Relaxed);
    }
    if written > 0 {
        s.bytes_written.fetch_add(written as u64, Ordering::Relaxed);
    }
}

/// Marks a new topology applied; returns the new version.
pub fn bump_config_version() -> u64 {
    metrics().config_version.fetch_add(1, Ordering::AcqRel) + 1
}

/// The current config version (0: no topology loaded yet).
pub fn config_version() -> u64 {
    metrics().config_version.load(Ordering::Acquire)
}

fn sum(f: impl Fn(&Slot) -> u64) -> u64 {
    metrics().slots.iter().map(f).sum()
}

/// Appends the proxy's metrics in Prometheus text format.
pub fn render(out: &mut String) {
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "# HELP moxi_requests_total Client requests answered, by command and result."
    );
    let _ = writeln!(out, "# TYPE moxi_requests_total counter");
    for (c, cmd) in COMMANDS.iter().enumerate() {
        for (r, res) in RESULTS.iter().enumerate() {
            let v = sum(|s| s.requests[c][r].load(Ordering::Relaxed));
            if v > 0 {
                let _ = writeln!(
                    out,
                    "moxi_requests_total{{command=\"{cmd}\",result=\"{res}\"}} {v}"
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "# HELP moxi_request_duration_seconds Time from a request decoded to its reply ready."
    );
    let _ = writeln!(out, "# TYPE moxi_request_duration_seconds histogram");
    for (c, cmd) in COMMANDS.iter().enumerate() {
        let counts: Vec<u64> = (0..NB)
            .map(|b| sum(|s| s.latency[c][b].load(Ordering::Relaxed)))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            continue;
        }
        let mut cumulative = 0;
        for (b, le) in LATENCY_BUCKETS_US.iter().enumerate() {
            cumulative += counts[b];
            let secs = *le as f64 / 1e6;
            let _ = writeln!(out, "moxi_request_duration_seconds_bucket{{command=\"{cmd}\",le=\"{secs}\"}} {cumulative}");
        }
        let _ = writeln!(
            out,
            "moxi_request_duration_seconds_bucket{{command=\"{cmd}\",le=\"+Inf\"}} {total}"
        );
        let sum_s = sum(|s| s.latency_sum_us[c].load(Ordering::Relaxed)) as f64 / 1e6;
        let _ = writeln!(
            out,
            "moxi_request_duration_seconds_sum{{command=\"{cmd}\"}} {sum_s}"
        );
        let _ = writeln!(
            out,
            "moxi_request_duration_seconds_count{{command=\"{cmd}\"}} {total}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP moxi_client_read_bytes_total Bytes read from proxy clients."
    );
    let _ = writeln!(out, "# TYPE moxi_client_read_bytes_total counter");
    let _ = writeln!(
        out,
        "moxi_client_read_bytes_total {}",
        sum(|s| s.bytes_read.load(Ordering::Relaxed))
    );
    let _ = writeln!(
        out,
        "# HELP moxi_client_written_bytes_total Bytes written to proxy clients."
    );
    let _ = writeln!(out, "# TYPE moxi_client_written_bytes_total counter");
    let _ = writeln!(
        out,
        "moxi_client_written_bytes_total {}",
        sum(|s| s.bytes_written.load(Ordering::Relaxed))
    );
    let _ = writeln!(
        out,
        "# HELP moxi_config_version Topologies applied since start."
    );
    let _ = writeln!(out, "# TYPE moxi_config_version gauge");
    let _ = writeln!(out, "moxi_config_version {}", config_version());
    crate::stats::ops_metrics::render(out);
    crate::features::render_metrics(out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{Arith, Get, Key, Store};

    fn get(kind: GetKind) -> Command {
        Command::Get(Get {
            kind,
            keys: vec![Key::from("k")].into(),
            exptime: 0,
            with_key: false,
        })
    }

    #[test]
    fn command_indexes_name_their_commands() {
        let store = |mode| {
            Command::Store(Store {
                mode,
                key: Key::from("k"),
                flags: 0,
                exptime: 0,
                value: bytes::Bytes::new(),
                cas: 0,
            })
        };
        let arith = |incr| {
            Command::Arith(Arith {
                incr,
                key: Key::from("k"),
                delta: 1,
                initial: 0,
                exptime: 0,
                cas: 0,
            })
        };
        let cases = [
            (get(GetKind::Get), "get"),
            (get(GetKind::Gets), "gets"),
            (get(GetKind::Gat), "gat"),
            (get(GetKind::Gats), "gats"),
            (store(StoreMode::Set), "set"),
            (store(StoreMode::Add), "add"),
            (store(StoreMode::Replace), "replace"),
            (store(StoreMode::Append), "append"),
            (store(StoreMode::Prepend), "prepend"),
            (store(StoreMode::Cas), "cas"),
            (arith(true), "incr"),
            (arith(false), "decr"),
            (
                Command::Delete {
                    key: Key::from("k"),
                    cas: 0,
                },
                "delete",
            ),
            (
                Command::Touch {
                    key: Key::from("k"),
                    exptime: 0,
                },
                "touch",
            ),
            (Command::FlushAll { delay: 0 }, "flush_all"),
            (
                Command::Stats {
                    group: bytes::Bytes::new(),
                },
                "stats",
            ),
            (Command::Version, "version"),
            (Command::Verbosity { level: 0 }, "verbosity"),
            (Command::Quit, "quit"),
            (Command::Noop, "other"),
        ];
        for (command, name) in cases {
            assert_eq!(COMMANDS[command_index(&Request::new(command))], name);
        }
    }
}
