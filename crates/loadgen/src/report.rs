//! The human summary of one run: what `moxi-load run` prints on stdout
//! (the CSV row only with `--csv -`). Errors are listed by class, each with
//! its count and first occurrence.

use std::fmt::Write as _;

use crate::run::{Mode, RunConfig, RunResult, Stop};

/// The summary table of `r`, a run of `cfg`.
pub fn table(cfg: &RunConfig, r: &RunResult) -> String {
    let s = &r.summary;
    let mut out = String::new();
    let target = if cfg.label == cfg.addr.to_string() {
        cfg.label.clone()
    } else {
        format!("{} ({})", cfg.addr, cfg.label)
    };
    let _ = writeln!(out, "{:<10} {target}", "target");
    let _ = writeln!(out, "{:<10} {}", "load", load(cfg));
    let secs = match cfg.stop {
        Stop::After(d) => d.as_secs_f64(),
        Stop::Requests(_) if s.throughput > 0.0 => s.requests as f64 / s.throughput,
        Stop::Requests(_) => 0.0,
    };
    let _ = writeln!(
        out,
        "{:<10} {} answered in {secs:.1} s: {:.0}/s",
        "requests", s.requests, s.throughput
    );
    let _ = writeln!(
        out,
        "{:<10} p50 {}  p99 {}  p99.9 {}  max {}",
        "latency",
        micros(s.p50_us),
        micros(s.p99_us),
        micros(s.p999_us),
        micros(s.max_us)
    );
    if r.classes.is_empty() {
        let _ = writeln!(out, "{:<10} none", "errors");
        return out;
    }
    let _ = writeln!(out, "{:<10} {:<19} {:>8}  first", "errors", "kind", "count");
    for (class, c) in &r.classes {
        let _ = writeln!(
            out,
            "{:<10} {:<19} {:>8}  {}",
            "",
            class.name(),
            c.count,
            c.first
        );
    }
    out
}

/// One line for stderr: the error count by class (empty when none).
pub fn errors_line(r: &RunResult) -> Option<String> {
    if r.classes.is_empty() {
        return None;
    }
    let parts: Vec<String> = r
        .classes
        .iter()
        .map(|(class, c)| format!("{} {} (first: {})", class.name(), c.count, c.first))
        .collect();
    Some(format!("{} errors: {}", r.errors, parts.join(", ")))
}

/// The load in words: loop, connections, protocol, mix.
fn load(cfg: &RunConfig) -> String {
    let mode = match cfg.mode {
        Mode::Closed => format!("closed loop, pipeline {}", cfg.pipeline),
        Mode::Open { rate } => format!("open loop at {rate:.0}/s"),
    };
    let plural = |n: usize, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    let m = &cfg.mix;
    format!(
        "{mode}, {}, {}, {:.0}% gets of {}, {}-byte values",
        plural(cfg.connections, "connection"),
        m.protocol,
        m.get_ratio * 100.0,
        plural(m.multiget.max(1) as usize, "key"),
        m.value_size
    )
}

/// A latency in microseconds, in the unit that reads best.
fn micros(us: f64) -> String {
    if us < 1_000.0 {
        format!("{us:.1} µs")
    } else if us < 1_000_000.0 {
        format!("{:.2} ms", us / 1_000.0)
    } else {
        format!("{:.2} s", us / 1_000_000.0)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::summary::Summary;
    use crate::tally::{ErrorClass, Tally};

    fn result(tally: &Tally, summary: Summary) -> RunResult {
        RunResult {
            summary,
            errors: tally.errors,
            first_problem: tally.first_problem.clone(),
            classes: tally.classes.clone(),
            cpu: Vec::new(),
        }
    }

    #[test]
    fn a_clean_run_reads_as_a_table() {
        let cfg = RunConfig::new("127.0.0.1:11211".parse().unwrap(), Duration::from_secs(2));
        let summary = Summary {
            requests: 20_000,
            throughput: 10_000.0,
            p50_us: 80.0,
            p99_us: 1_500.0,
            p999_us: 2_000_000.0,
            max_us: 3_000_000.0,
        };
        let text = table(&cfg, &result(&Tally::default(), summary));
        assert_eq!(
            text,
            "target     127.0.0.1:11211\n\
             load       closed loop, pipeline 1, 1 connection, ascii, 90% gets of 1 key, 32-byte values\n\
             requests   20000 answered in 2.0 s: 10000/s\n\
             latency    p50 80.0 µs  p99 1.50 ms  p99.9 2.00 s  max 3.00 s\n\
             errors     none\n"
        );
        assert_eq!(errors_line(&result(&Tally::default(), summary)), None);
    }

    #[test]
    fn errors_are_listed_by_class_with_their_first_reason() {
        let mut cfg = RunConfig::new("127.0.0.1:1".parse().unwrap(), Duration::from_secs(1));
        cfg.label = "moxi".into();
        let mut t = Tally::default();
        let refused = "connect 127.0.0.1:1: Connection refused (os error 111)";
        t.errors(2, ErrorClass::Refused, refused);
        t.errors(3, ErrorClass::Timeout, "no reply within 10 s");
        let r = result(&t, Summary::default());
        let text = table(&cfg, &r);
        assert!(
            text.starts_with("target     127.0.0.1:1 (moxi)\n"),
            "{text}"
        );
        assert!(text.contains(&format!(
            "errors     kind                   count  first\n\
             {:11}connection refused         2  {refused}\n\
             {:11}timeout                    3  no reply within 10 s\n",
            "", ""
        )));
        assert!(!text.contains("verification"));
        assert_eq!(
            errors_line(&r).unwrap(),
            format!("5 errors: connection refused 2 (first: {refused}), timeout 3 (first: no reply within 10 s)")
        );
    }
}
