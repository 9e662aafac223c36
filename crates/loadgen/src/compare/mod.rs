//! `moxi-load compare`: direct memcached, twemproxy, moxi and any other
//! proxy measured side by side in ONE run, in alternating rounds (forward
//! order on odd rounds, reverse on even ones) so that machine noise hits
//! every system alike; then ratios with min / median / max over rounds.
//!
//! Cases: closed loop at each `--connections` count in front of one
//! memcached; a multi-get of `--multiget-keys` keys over four memcached
//! (twemproxy with four servers, moxi with `-z PORT=mc1,mc2,mc3,mc4`).
//! Then the idle-connection check ([`idle`]) and, if asked, instructions
//! per request under callgrind ([`callgrind`]). Everything listens on
//! 127.0.0.1 on free ports; every run is bounded in time.

pub mod callgrind;
pub mod idle;
pub mod lab;
pub mod procs;
pub mod table;

use std::path::PathBuf;
use std::time::Duration;

use lab::{Kind, Lab, LabConfig, System, Target};
use procs::{raise_nofile, which, CompareError};
use table::{Cpu, Measured};

use crate::csv::{self, Row};
use crate::run::{run, Mode, RunConfig, Stop};
use crate::workload::{Mix, Protocol};

/// Everything `compare` can be told.
#[derive(Clone, Debug)]
pub struct CompareConfig {
    /// Rounds (each measures every system in every case once).
    pub rounds: u32,
    /// Length of each measurement.
    pub duration: Duration,
    /// Connection counts of the single-backend cases.
    pub connections: Vec<usize>,
    /// Outstanding requests per connection.
    pub pipeline: usize,
    /// Client threads.
    pub threads: usize,
    /// The request mix of the single-backend cases.
    pub mix: Mix,
    /// Keys per get in the four-backend case (0: skip it).
    pub multiget_keys: u32,
    /// Connections in the four-backend case.
    pub multiget_connections: usize,
    /// Idle connections to open for the memory check (0: skip it).
    pub idle_conns: usize,
    /// Also measure instructions per request under callgrind.
    pub callgrind: bool,
    /// Requests measured under callgrind.
    pub callgrind_requests: u64,
    /// Client connections of each callgrind measurement.
    pub callgrind_connections: Vec<usize>,
    /// Lab processes.
    pub lab: LabConfig,
    /// Extra systems: label and command template.
    pub others: Vec<(String, String)>,
    /// Append every run's row here.
    pub csv: Option<PathBuf>,
    /// Write the plot here.
    pub svg: Option<PathBuf>,
    /// Progress bars.
    pub progress: bool,
}

impl Default for CompareConfig {
    fn default() -> Self {
        CompareConfig {
            rounds: 5,
            duration: Duration::from_secs(5),
            connections: vec![1, 32, 512],
            pipeline: 1,
            threads: 1,
            mix: Mix::default(),
            multiget_keys: 100,
            multiget_connections: 32,
            idle_conns: 10_000,
            callgrind: false,
            callgrind_requests: 20_000,
            callgrind_connections: callgrind::CONNECTIONS.to_vec(),
            lab: LabConfig {
                moxi: PathBuf::from("target/release/moxi"),
                backend_threads: 2,
                proxy_threads: 1,
                keep: false,
            },
            others: Vec::new(),
            csv: None,
            svg: None,
            progress: true,
        }
    }
}

/// One scenario: backends, systems, load shape.
#[derive(Clone, Debug)]
struct Case {
    backends: usize,
    connections: usize,
    mix: Mix,
}

/// The systems to measure, in their forward order.
pub fn systems(cfg: &CompareConfig, twemproxy: bool) -> Vec<System> {
    let mut v = vec![System {
        label: "memcached".into(),
        kind: Kind::Direct,
    }];
    // twemproxy speaks only the ascii protocol.
    if twemproxy && cfg.mix.protocol == Protocol::Ascii {
        v.push(System {
            label: "twemproxy".into(),
            kind: Kind::Twemproxy,
        });
    }
    v.push(System {
        label: "moxi".into(),
        kind: Kind::Moxi,
    });
    for (label, template) in &cfg.others {
        v.push(System {
            label: label.clone(),
            kind: Kind::Other(template.clone()),
        });
    }
    v
}

/// Ratio pairs to report: moxi and every other proxy over twemproxy and
/// memcached.
pub fn pairs(systems: &[System]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for num in systems
        .iter()
        .filter(|s| !matches!(s.kind, Kind::Direct | Kind::Twemproxy))
    {
        for den in systems.iter().filter(|s| s.label != num.label) {
            let den_is_base = matches!(den.kind, Kind::Direct | Kind::Twemproxy);
            if den_is_base || (den.kind == Kind::Moxi && num.kind != Kind::Moxi) {
                out.push((num.label.clone(), den.label.clone()));
            }
        }
    }
    out
}

/// Checks the tools, then runs every part of the comparison and prints
/// the report on stdout.
pub fn compare(cfg: &CompareConfig) -> Result<(), CompareError> {
    need("memcached", "memcached")?;
    if which(&cfg.lab.moxi.display().to_string()).is_none() {
        return Err(CompareError::Missing(
            cfg.lab.moxi.display().to_string(),
            "cargo build --release -p moxi".into(),
        ));
    }
    let twemproxy = which("nutcracker").is_some();
    if !twemproxy {
        println!("note: nutcracker not found (apt-get install nutcracker): twemproxy skipped");
    }
    let nofile = raise_nofile();
    let systems = systems(cfg, twemproxy);
    let backends = if cfg.multiget_keys > 0 { 4 } else { 1 };
    let lab = Lab::new(cfg.lab.clone(), backends)?;
    let mut runs = Vec::new();
    measure_rounds(cfg, &lab, &systems, &mut runs)?;
    println!("\nmedians over {} rounds:", cfg.rounds);
    print!("{}", table::medians(&runs));
    println!("\nratios within each round (min / median / max over rounds):");
    print!("{}", table::ratio_table(&runs, &pairs(&systems)));
    println!("\nCPU time per request, us (medians over rounds; /proc/PID/stat, 10 ms ticks):");
    print!("{}", table::cpu_table(&runs));
    let rows: Vec<Row> = runs.iter().map(|m| m.row.clone()).collect();
    if let Some(path) = &cfg.csv {
        csv::append(path, &rows).map_err(|e| CompareError::Io(path.display().to_string(), e))?;
    }
    if let Some(path) = &cfg.svg {
        std::fs::write(path, crate::svg::render(&rows))
            .map_err(|e| CompareError::Io(path.display().to_string(), e))?;
    }
    if cfg.idle_conns > 0 {
        let wanted = cfg.idle_conns;
        let n = wanted.min(usize::try_from(nofile.saturating_sub(100)).unwrap_or(wanted));
        if n < wanted {
            println!("\nnote: open-file limit {nofile}: idle check with {n} connections");
        }
        println!("\nidle connections ({n} clients connected, then one get each):");
        print!("{}", idle::check_all(&lab, &systems, n)?);
    }
    if cfg.callgrind {
        println!();
        print!("{}", callgrind::measure(&lab, &systems, cfg)?);
    }
    Ok(())
}

/// Only the callgrind measurement (`moxi-load callgrind`).
pub fn callgrind_only(cfg: &CompareConfig) -> Result<(), CompareError> {
    need("memcached", "memcached")?;
    let twemproxy = which("nutcracker").is_some();
    let lab = Lab::new(cfg.lab.clone(), 1)?;
    print!(
        "{}",
        callgrind::measure(&lab, &systems(cfg, twemproxy), cfg)?
    );
    Ok(())
}

/// Fails with an install hint when `program` is not on PATH.
pub fn need(program: &str, package: &str) -> Result<(), CompareError> {
    match which(program) {
        Some(_) => Ok(()),
        None => Err(CompareError::Missing(
            program.into(),
            format!("apt-get install {package}"),
        )),
    }
}

fn cases(cfg: &CompareConfig) -> Vec<Case> {
    let mut v: Vec<Case> = cfg
        .connections
        .iter()
        .map(|&c| Case {
            backends: 1,
            connections: c,
            mix: cfg.mix.clone(),
        })
        .collect();
    if cfg.multiget_keys > 0 {
        v.push(Case {
            backends: 4,
            connections: cfg.multiget_connections,
            mix: Mix {
                get_ratio: 1.0,
                multiget: cfg.multiget_keys,
                ..cfg.mix.clone()
            },
        });
    }
    v
}

fn measure_rounds(
    cfg: &CompareConfig,
    lab: &Lab,
    systems: &[System],
    runs: &mut Vec<Measured>,
) -> Result<(), CompareError> {
    let cases = cases(cfg);
    let mut started: Vec<(usize, Target)> = Vec::new();
    for n in [1, 4] {
        if cases.iter().any(|c| c.backends == n) {
            for s in systems.iter().filter(|s| n == 1 || s.kind != Kind::Direct) {
                started.push((n, lab.start(s, n, None)?));
            }
        }
    }
    for round in 1..=cfg.rounds {
        for case in &cases {
            let mut order: Vec<&Target> = started
                .iter()
                .filter(|(n, _)| *n == case.backends)
                .map(|(_, t)| t)
                .collect();
            if round % 2 == 0 {
                order.reverse();
            }
            for target in order {
                let (row, cpu_us) = measure_one(cfg, lab, target, case, round);
                println!(
                    "round {round}/{}  {:<26} {:<12} {:>10.0} req/s  p99 {:>8.1} us  errors {}",
                    cfg.rounds,
                    row.case(),
                    row.label,
                    row.throughput,
                    row.p99_us,
                    row.errors
                );
                runs.push(Measured { round, row, cpu_us });
            }
        }
    }
    Ok(())
}

/// One run of `case` against `target`: its row, and the CPU per request of
/// the target's process and of the backends behind it.
fn measure_one(
    cfg: &CompareConfig,
    lab: &Lab,
    target: &Target,
    case: &Case,
    round: u32,
) -> (Row, Option<Cpu>) {
    let direct = target.proc.is_none();
    let backends: Vec<u32> = if direct {
        Vec::new()
    } else {
        lab.backends
            .iter()
            .take(case.backends)
            .map(|b| b.pid())
            .collect()
    };
    let rc = RunConfig {
        addr: procs::addr(target.port),
        label: target.label.clone(),
        mix: case.mix.clone(),
        mode: Mode::Closed,
        connections: case.connections,
        pipeline: cfg.pipeline,
        threads: cfg.threads,
        stop: Stop::After(cfg.duration),
        prefill: true,
        progress: cfg.progress,
        seed: u64::from(round),
        watch: [target.pid, std::process::id()]
            .into_iter()
            .chain(backends)
            .collect(),
    };
    let result = run(&rc);
    if let Some(errors) = crate::report::errors_line(&result) {
        println!("  {}: {errors}", target.label);
    }
    let per_request =
        |d: std::time::Duration| d.as_secs_f64() * 1e6 / result.summary.requests.max(1) as f64;
    let cpu: Option<Vec<f64>> = result.cpu.iter().map(|c| c.map(per_request)).collect();
    let cpu_us = cpu.and_then(|v| match &v[..] {
        [system, client, backends @ ..] => Some(Cpu {
            system: *system,
            client: *client,
            // (A fold from +0: an empty f64 sum is -0.)
            backends: backends.iter().fold(0.0, |a, b| a + b),
        }),
        _ => None,
    });
    (result.row(&rc), cpu_us)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systems_and_ratio_pairs() {
        let mut cfg = CompareConfig::default();
        cfg.others.push(("other".into(), "x {port}".into()));
        let s = systems(&cfg, true);
        let labels: Vec<&str> = s.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["memcached", "twemproxy", "moxi", "other"]);
        let p = pairs(&s);
        let want = [
            ("moxi", "memcached"),
            ("moxi", "twemproxy"),
            ("other", "memcached"),
            ("other", "twemproxy"),
            ("other", "moxi"),
        ];
        assert_eq!(p.len(), want.len());
        for (a, b) in want {
            assert!(
                p.contains(&(a.to_string(), b.to_string())),
                "{a}/{b} in {p:?}"
            );
        }
        cfg.mix.protocol = Protocol::Binary;
        assert!(!systems(&cfg, true)
            .iter()
            .any(|s| s.kind == Kind::Twemproxy));
    }

    #[test]
    fn multiget_case_uses_four_backends_and_gets_only() {
        let c = cases(&CompareConfig::default());
        assert_eq!(c.len(), 4);
        let m = &c[3];
        assert_eq!((m.backends, m.connections, m.mix.multiget), (4, 32, 100));
        assert_eq!(m.mix.get_ratio, 1.0);
    }
}
