//! The comparison's report: per case and system the medians over rounds,
//! then the ratios (one system over another, computed within each round so
//! that machine noise cancels) as min / median / max over rounds.

use std::fmt::Write as _;

use crate::csv::Row;

/// The median of `v` (sorted in place); `None` when empty.
pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Min, median and max of a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// Smallest.
    pub min: f64,
    /// Median.
    pub median: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// The spread of `v`; `None` when empty.
    pub fn of(v: &[f64]) -> Option<Spread> {
        let mut v = v.to_vec();
        let median = median(&mut v)?;
        Some(Spread {
            min: v[0],
            median,
            max: v[v.len() - 1],
        })
    }
}

/// One measured run of the comparison.
#[derive(Clone, Debug)]
pub struct Measured {
    /// Round number (1-based).
    pub round: u32,
    /// The result row (its label is the system).
    pub row: Row,
    /// CPU per request, when measured.
    pub cpu_us: Option<Cpu>,
}

/// CPU time per request of one run, microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cpu {
    /// The system's own process (for direct memcached, memcached itself).
    pub system: f64,
    /// The memcached backends behind a proxy (0 for direct memcached).
    pub backends: f64,
    /// The load generator (this process).
    pub client: f64,
}

/// Per-round ratios of `metric` between `num` and `den` in `case`.
pub fn ratios(
    runs: &[Measured],
    case: &str,
    num: &str,
    den: &str,
    metric: fn(&Row) -> f64,
) -> Vec<f64> {
    let find = |round: u32, sys: &str| {
        runs.iter()
            .find(|m| m.round == round && m.row.label == sys && m.row.case() == case)
            .map(|m| metric(&m.row))
    };
    let mut rounds: Vec<u32> = runs.iter().map(|m| m.round).collect();
    rounds.sort_unstable();
    rounds.dedup();
    rounds
        .into_iter()
        .filter_map(|r| match (find(r, num), find(r, den)) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        })
        .collect()
}

/// The medians table: one line per case and system.
pub fn medians(runs: &[Measured]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<28} {:<12} {:>12} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "case", "system", "req/s", "p50 us", "p99 us", "p99.9 us", "max us", "errors"
    );
    for case in distinct(runs.iter().map(|m| m.row.case())) {
        for sys in distinct(
            runs.iter()
                .filter(|m| m.row.case() == case)
                .map(|m| m.row.label.clone()),
        ) {
            let of = |f: fn(&Row) -> f64| {
                let mut v: Vec<f64> = runs
                    .iter()
                    .filter(|m| m.row.case() == case && m.row.label == sys)
                    .map(|m| f(&m.row))
                    .collect();
                median(&mut v).unwrap_or(0.0)
            };
            let errors: u64 = runs
                .iter()
                .filter(|m| m.row.case() == case && m.row.label == sys)
                .map(|m| m.row.errors)
                .sum();
            let _ = writeln!(
                out,
                "{:<28} {:<12} {:>12.0} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>7}",
                case,
                sys,
                of(|r| r.throughput),
                of(|r| r.p50_us),
                of(|r| r.p99_us),
                of(|r| r.p999_us),
                of(|r| r.max_us),
                errors
            );
        }
    }
    out
}

/// The ratios table for `pairs` (numerator, denominator), per case where
/// both were measured.
pub fn ratio_table(runs: &[Measured], pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<28} {:<24} {:>22} {:>22}",
        "case", "ratio", "req/s min/med/max", "p99 min/med/max"
    );
    for case in distinct(runs.iter().map(|m| m.row.case())) {
        for (num, den) in pairs {
            let thr = Spread::of(&ratios(runs, &case, num, den, |r| r.throughput));
            let p99 = Spread::of(&ratios(runs, &case, num, den, |r| r.p99_us));
            let (Some(thr), Some(p99)) = (thr, p99) else {
                continue;
            };
            let _ = writeln!(
                out,
                "{:<28} {:<24} {:>22} {:>22}",
                case,
                format!("{num}/{den}"),
                fmt_spread(thr),
                fmt_spread(p99)
            );
        }
    }
    out
}

fn fmt_spread(s: Spread) -> String {
    format!("{:.2} / {:.2} / {:.2}", s.min, s.median, s.max)
}

fn distinct(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// Medians of CPU time per request, per case and system: the system's own
/// process, the memcached backends behind it, the load generator, and the
/// sum. Unlike throughput, this does not depend on who else shares the
/// cores; and on saturated cores, throughput is cores / total.
pub fn cpu_table(runs: &[Measured]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<28} {:<12} {:>10} {:>10} {:>10} {:>10}",
        "case", "system", "system", "memcached", "client", "total"
    );
    for case in distinct(runs.iter().map(|m| m.row.case())) {
        for sys in distinct(
            runs.iter()
                .filter(|m| m.row.case() == case)
                .map(|m| m.row.label.clone()),
        ) {
            let of = |f: fn(Cpu) -> f64| {
                let mut v: Vec<f64> = runs
                    .iter()
                    .filter(|m| m.row.case() == case && m.row.label == sys)
                    .filter_map(|m| m.cpu_us.map(f))
                    .collect();
                median(&mut v)
            };
            let columns = [
                of(|c| c.system),
                of(|c| c.backends),
                of(|c| c.client),
                of(|c| c.system + c.backends + c.client),
            ];
            if let [Some(own), Some(backends), Some(client), Some(total)] = columns {
                let _ = writeln!(
                    out,
                    "{case:<28} {sys:<12} {own:>10.2} {backends:>10.2} {client:>10.2} {total:>10.2}"
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv::tests::row;

    fn runs() -> Vec<Measured> {
        let mut v = Vec::new();
        for (round, [m, t, x]) in [
            (1, [100.0, 50.0, 60.0]),
            (2, [100.0, 40.0, 50.0]),
            (3, [90.0, 45.0, 45.0]),
        ] {
            for (sys, thr) in [("memcached", m), ("twemproxy", t), ("moxi", x)] {
                v.push(Measured {
                    cpu_us: None,
                    round,
                    row: row(sys, 32, thr),
                });
            }
        }
        v
    }

    #[test]
    fn median_and_spread() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        let s = Spread::of(&[1.2, 0.8, 1.0]).unwrap();
        assert_eq!((s.min, s.median, s.max), (0.8, 1.0, 1.2));
    }

    #[test]
    fn ratios_are_taken_within_rounds() {
        let r = ratios(&runs(), "closed ascii c=32", "moxi", "twemproxy", |r| {
            r.throughput
        });
        assert_eq!(r, [1.2, 1.25, 1.0]);
        assert!(
            ratios(&runs(), "closed ascii c=1", "moxi", "twemproxy", |r| r
                .throughput)
            .is_empty()
        );
        assert!(ratios(&runs(), "closed ascii c=32", "moxi", "nobody", |r| r
            .throughput)
        .is_empty());
    }

    #[test]
    fn tables_show_medians_and_ratios() {
        let pairs = [
            ("moxi".to_string(), "twemproxy".to_string()),
            ("moxi".into(), "memcached".into()),
        ];
        let t = ratio_table(&runs(), &pairs);
        assert!(t.contains("moxi/twemproxy"), "{t}");
        assert!(t.contains("1.00 / 1.20 / 1.25"), "{t}");
        assert!(t.contains("0.50 / 0.50 / 0.60"), "{t}");
        let m = medians(&runs());
        assert_eq!(m.lines().count(), 4, "{m}");
        assert!(
            m.lines()
                .any(|l| l.contains("twemproxy") && l.contains(" 45 ")),
            "{m}"
        );
    }

    #[test]
    fn cpu_table_shows_medians_of_each_part_and_their_sum() {
        let mut v = runs();
        for (m, own) in v.iter_mut().zip([4.0, 8.0, 6.0].iter().cycle()) {
            m.cpu_us = Some(Cpu {
                system: *own,
                backends: 2.0,
                client: 5.0,
            });
        }
        // One run without a reading does not hide the others.
        v[0].cpu_us = None;
        let t = cpu_table(&v);
        assert_eq!(t.lines().count(), 4, "{t}");
        let moxi = t.lines().find(|l| l.contains("moxi")).unwrap();
        assert!(
            moxi.ends_with("6.00       2.00       5.00      13.00"),
            "{t}"
        );
        assert!(
            cpu_table(&runs()).lines().count() == 1,
            "no readings, no rows"
        );
    }
}
