//! Instructions per request: each proxy runs under
//! `valgrind --tool=callgrind`; after a warm-up its counters are zeroed
//! (`callgrind_control -z`), a fixed number of gets is sent, and the
//! counters are dumped (`callgrind_control -d`). Instructions executed by
//! the proxy process (all threads) divided by requests is machine-noise
//! free, unlike throughput on a shared machine. It is measured at several
//! connection counts: the more requests arrive together, the more of them
//! share one wake-up, one read and one write, in either proxy.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use super::lab::{Kind, Lab, System};
use super::procs::{addr, CompareError};
use super::{need, CompareConfig};
use crate::run::{prefill, run, Mode, RunConfig, Stop};
use crate::workload::{Mix, Workload};

/// Client connections of the measured gets, by default.
pub const CONNECTIONS: [usize; 3] = [1, 4, 32];
/// Requests sent before the counters are zeroed.
pub const WARM_UP: u64 = 1_000;

/// Instructions of one proxy.
#[derive(Clone, Debug, PartialEq)]
pub struct IrResult {
    /// System label.
    pub label: String,
    /// Client connections the gets were sent on.
    pub connections: usize,
    /// Instructions executed during the measured requests.
    pub ir: u64,
    /// Requests measured.
    pub requests: u64,
    /// Wrong or missing replies.
    pub errors: u64,
}

impl IrResult {
    /// Instructions per request.
    pub fn per_request(&self) -> f64 {
        self.ir as f64 / self.requests.max(1) as f64
    }
}

/// Measures every proxy in `systems` (memcached itself is skipped: it is
/// the backend) and returns the report.
pub fn measure(lab: &Lab, systems: &[System], cfg: &CompareConfig) -> Result<String, CompareError> {
    need("valgrind", "valgrind")?;
    need("callgrind_control", "valgrind")?;
    let mix = Mix {
        get_ratio: 1.0,
        multiget: 1,
        ..cfg.mix.clone()
    };
    let backend = lab.ports(1)[0];
    let filled = prefill(addr(backend), Arc::new(Workload::new(mix.clone())), 4);
    if filled.errors > 0 {
        return Err(CompareError::Other(format!(
            "prefill of memcached failed: {:?}",
            filled.first_problem
        )));
    }
    let mut results = Vec::new();
    for &connections in &cfg.callgrind_connections {
        for s in systems.iter().filter(|s| s.kind != Kind::Direct) {
            results.push(measure_one(
                lab,
                s,
                &mix,
                connections,
                cfg.callgrind_requests,
            )?);
        }
    }
    Ok(render(&results))
}

fn measure_one(
    lab: &Lab,
    system: &System,
    mix: &Mix,
    connections: usize,
    requests: u64,
) -> Result<IrResult, CompareError> {
    let out_name = format!(
        "callgrind.{}.c{connections}.out",
        system
            .label
            .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    );
    let out = lab.path(&out_name);
    let target = lab.start(system, 1, Some(&out))?;
    let gets = |n: u64, seed: u64| {
        let mut rc = RunConfig::new(addr(target.port), std::time::Duration::ZERO);
        rc.label = system.label.clone();
        rc.mix = mix.clone();
        rc.mode = Mode::Closed;
        rc.connections = connections;
        rc.stop = Stop::Requests(n);
        rc.prefill = false;
        rc.seed = seed;
        run(&rc)
    };
    gets(WARM_UP, 1);
    control(target.pid, "-z")?;
    let measured = gets(requests, 2);
    control(target.pid, "-d")?;
    drop(target);
    let ir = latest_dump(lab.path("."), &out_name)
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| parse_ir(&t))
        .ok_or_else(|| CompareError::Other(format!("no callgrind dump for {}", system.label)))?;
    Ok(IrResult {
        label: system.label.clone(),
        connections,
        ir,
        requests: measured.summary.requests,
        errors: measured.errors,
    })
}

fn control(pid: u32, flag: &str) -> Result<(), CompareError> {
    let status = Command::new("callgrind_control")
        .args([flag, &pid.to_string()])
        .output()
        .map_err(|e| CompareError::Io("callgrind_control".into(), e))?;
    if status.status.success() {
        Ok(())
    } else {
        Err(CompareError::Other(format!(
            "callgrind_control {flag} {pid}: {}",
            String::from_utf8_lossy(&status.stdout)
        )))
    }
}

/// The dump with the highest part number (`NAME.1`, `NAME.2`, ...).
fn latest_dump(dir: impl AsRef<Path>, name: &str) -> Option<std::path::PathBuf> {
    let prefix = format!("{name}.");
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let file = e.file_name().into_string().ok()?;
            let part: u32 = file.strip_prefix(&prefix)?.parse().ok()?;
            Some((part, e.path()))
        })
        .max_by_key(|(part, _)| *part)
        .map(|(_, p)| p)
}

/// The instruction count of a callgrind output file (`summary:` line, or
/// `totals:`).
pub fn parse_ir(text: &str) -> Option<u64> {
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    };
    field("summary:").or_else(|| field("totals:"))
}

/// The report: Ir per request per proxy and connection count, and ratios
/// to twemproxy at each.
pub fn render(results: &[IrResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "instructions per request under callgrind (gets):");
    let _ = writeln!(
        out,
        "{:<12} {:>5} {:>9} {:>14} {:>10} {:>7}",
        "system", "conns", "requests", "Ir", "Ir/req", "errors"
    );
    for r in results {
        let _ = writeln!(
            out,
            "{:<12} {:>5} {:>9} {:>14} {:>10.0} {:>7}",
            r.label,
            r.connections,
            r.requests,
            r.ir,
            r.per_request(),
            r.errors
        );
    }
    let base = |c: usize| {
        results
            .iter()
            .find(|r| r.label == "twemproxy" && r.connections == c)
    };
    for r in results.iter().filter(|r| r.label != "twemproxy") {
        if let Some(b) = base(r.connections) {
            let _ = writeln!(
                out,
                "{}/twemproxy Ir per request at {} connections: {:.2}",
                r.label,
                r.connections,
                r.per_request() / b.per_request().max(1e-9)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_instruction_count() {
        let t = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nsummary: 25434\n\nfn=main\n1 2\ntotals: 25666\n";
        assert_eq!(parse_ir(t), Some(25434));
        assert_eq!(parse_ir("events: Ir\ntotals: 7\n"), Some(7));
        assert_eq!(parse_ir("events: Ir\n"), None);
    }

    #[test]
    fn report_has_ratio_to_twemproxy_at_each_connection_count() {
        let r = |label: &str, connections, ir| IrResult {
            label: label.into(),
            connections,
            ir,
            requests: 1000,
            errors: 0,
        };
        let t = render(&[
            r("twemproxy", 1, 20_000_000),
            r("moxi", 1, 30_000_000),
            r("twemproxy", 32, 10_000_000),
            r("moxi", 32, 9_000_000),
            r("moxi", 4, 9_000_000),
        ]);
        assert!(
            t.contains("moxi/twemproxy Ir per request at 1 connections: 1.50"),
            "{t}"
        );
        assert!(
            t.contains("moxi/twemproxy Ir per request at 32 connections: 0.90"),
            "{t}"
        );
        // No twemproxy row at 4 connections: no ratio.
        assert!(!t.contains("at 4 connections"), "{t}");
        assert!(t.contains("20000"), "{t}");
    }
}
