//! A short soak (crates/soak): fanout of real memcached behind two moxi
//! processes (ascii and binary downstreams), ascii and binary clients
//! checking every reply, and one fault of each kind (kill -9 and restart,
//! SIGSTOP past downstream_timeout, a garbage server on the port). Errors
//! are expected; mismatches and a dead moxi are not.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::time::Duration;

use soak::faults::FaultKind;
use soak::SoakConfig;

#[test]
fn twelve_seconds_with_a_fault_of_each_kind() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mut cfg = SoakConfig::new(common::MOXI.into(), Duration::from_secs(12));
    cfg.clients = 200;
    cfg.fault_every = Some(Duration::from_millis(3500));
    cfg.downstream_timeout = Duration::from_millis(500);
    let result = soak::run_soak(&cfg).unwrap();
    eprintln!("{result}");
    // Three faults when the machine keeps up (a slow settle can push the
    // third past the end).
    let kinds: Vec<FaultKind> = result.faults.iter().map(|f| f.kind).collect();
    assert!(kinds.len() >= 2, "{result}");
    assert_eq!(kinds, FaultKind::CYCLE[..kinds.len()], "{result}");
    assert!(
        result.faults.iter().all(|f| f.trouble.is_none()),
        "{result}"
    );
    assert!(result.passed(), "{result}");
    assert!(result.report.requests > 1000, "{result}");
    assert!(
        result.report.error_total() > 0,
        "the faults were felt: {result}"
    );
    assert!(result.moxis.iter().all(|m| m.peak_rss_kb.is_some()));
}
