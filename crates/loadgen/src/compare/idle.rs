//! The idle-connection check: a fresh instance of each system, its RSS
//! (`VmRSS` of /proc/PID/status) before, with N idle client connections,
//! and after one get on each (which proves every connection was accepted
//! and gives the cost of a connection that has been used once).

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::lab::{Lab, System};
use super::procs::{addr, rss_kib, CompareError};

/// Memory of one system with `conns` connections.
#[derive(Clone, Debug, PartialEq)]
pub struct IdleResult {
    /// System label.
    pub label: String,
    /// Connections actually opened.
    pub conns: usize,
    /// RSS before any client, KiB.
    pub base_kib: u64,
    /// RSS with the connections idle, KiB.
    pub idle_kib: u64,
    /// RSS after one get on each, KiB.
    pub used_kib: u64,
    /// Connections that failed to open or to answer.
    pub failures: usize,
}

impl IdleResult {
    /// Extra KiB per connection between `base_kib` and `kib`.
    pub fn per_conn(&self, kib: u64) -> f64 {
        kib.saturating_sub(self.base_kib) as f64 / self.conns.max(1) as f64
    }
}

/// Runs the check on a fresh backend and fresh instances of `systems`.
pub fn check_all(lab: &Lab, systems: &[System], conns: usize) -> Result<String, CompareError> {
    let fresh = Lab::new(lab.config().clone(), 1)?;
    let mut results = Vec::new();
    for s in systems {
        let target = fresh.start(s, 1, None)?;
        let r = check(&s.label, target.port, target.pid, conns);
        drop(target);
        results.push(r);
    }
    Ok(render(&results))
}

/// Opens `conns` connections to `port`, measuring process `pid`.
pub fn check(label: &str, port: u16, pid: u32, conns: usize) -> IdleResult {
    let base_kib = settled_rss(pid);
    let mut streams = Vec::with_capacity(conns);
    let mut failures = 0;
    for _ in 0..conns {
        match TcpStream::connect_timeout(&addr(port), Duration::from_secs(5)) {
            Ok(s) => streams.push(s),
            Err(_) => {
                failures = conns - streams.len();
                break;
            }
        }
    }
    let idle_kib = settled_rss(pid);
    for s in &mut streams {
        if s.write_all(b"get ml:0\r\n").is_err() {
            failures += 1;
        }
    }
    for s in &mut streams {
        if !answered(s) {
            failures += 1;
        }
    }
    let used_kib = settled_rss(pid);
    IdleResult {
        label: label.to_string(),
        conns: streams.len(),
        base_kib,
        idle_kib,
        used_kib,
        failures,
    }
}

/// Reads one retrieval reply (ends with `END\r\n`) within 10 s.
fn answered(s: &mut TcpStream) -> bool {
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !got.ends_with(b"END\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    true
}

/// RSS once it stops moving (three equal samples 100 ms apart, at most 3 s).
fn settled_rss(pid: u32) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut last = rss_kib(pid).unwrap_or(0);
    let mut same = 0;
    while same < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        let now = rss_kib(pid).unwrap_or(0);
        same = if now == last { same + 1 } else { 0 };
        last = now;
    }
    last
}

/// The table of results.
pub fn render(results: &[IdleResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<12} {:>7} {:>10} {:>10} {:>11} {:>10} {:>11} {:>8}",
        "system", "conns", "base MiB", "idle MiB", "KiB/conn", "used MiB", "KiB/conn", "failed"
    );
    for r in results {
        let mib = |k: u64| k as f64 / 1024.0;
        let _ = writeln!(
            out,
            "{:<12} {:>7} {:>10.1} {:>10.1} {:>11.2} {:>10.1} {:>11.2} {:>8}",
            r.label,
            r.conns,
            mib(r.base_kib),
            mib(r.idle_kib),
            r.per_conn(r.idle_kib),
            mib(r.used_kib),
            r.per_conn(r.used_kib),
            r.failures
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_connection_cost_and_table() {
        let r = IdleResult {
            label: "moxi".into(),
            conns: 1000,
            base_kib: 4096,
            idle_kib: 4096 + 2000,
            used_kib: 4096 + 30_000,
            failures: 0,
        };
        assert_eq!(r.per_conn(r.idle_kib), 2.0);
        assert_eq!(r.per_conn(r.used_kib), 30.0);
        let t = render(&[r]);
        assert_eq!(t.lines().count(), 2);
        assert!(
            t.contains("moxi") && t.contains("2.00") && t.contains("30.00"),
            "{t}"
        );
    }
}
