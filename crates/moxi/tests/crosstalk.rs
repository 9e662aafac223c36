//! Cross-talk: thousands of concurrent clients, ascii and binary, each
//! doing random operations on keys of its own with values no one else
//! writes, through the simple, chain and fanout topologies with ascii and
//! binary downstreams. Every reply is checked against the request it
//! answers and the client's model of its keys (crates/soak); there are no
//! faults here, so every check is exact and no error is expected either.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::sync::Arc;

use soak::{Epochs, Load};
use testkit::topology::{Options, Shape, Topology};

/// Concurrent clients per topology.
const CLIENTS: u32 = 2000;

/// Operations per client: enough for every client to write, read back and
/// overwrite each of its keys a few times.
const OPS_PER_CLIENT: u64 = 12;

fn run(shape: Shape, ds: &str) {
    if !testkit::require_tool("memcached") {
        return;
    }
    // Generous limits: under a loaded CI machine a wait-queue timeout
    // would turn an ascii get into a miss (moxi's rule), not a cross-talk.
    let behaviors =
        format!("downstream_protocol={ds},downstream_timeout=30000,wait_queue_timeout=30000");
    let opts = Options {
        behaviors: &behaviors,
        moxi_args: &["-c", "8192"],
        memcached_args: &["-U", "0", "-t", "1", "-m", "256", "-c", "8192"],
    };
    let topo = Topology::start(common::MOXI.as_ref(), shape, opts).unwrap();
    let mut load = Load::new(topo.entry, CLIENTS);
    load.ops_per_client = Some(OPS_PER_CLIENT);
    load.seed = shape as u64 * 1000 + u64::from(ds == "binary");
    let started = std::time::Instant::now();
    let report = soak::run(&load, Arc::new(Epochs::default())).unwrap();
    eprintln!(
        "{shape:?} with {ds} downstream: {} requests in {:?}",
        report.requests,
        started.elapsed()
    );
    assert_eq!(report.clients, u64::from(CLIENTS));
    assert!(
        report.mismatches == 0 && report.error_total() == 0 && report.fault_misses == 0,
        "{shape:?} with {ds} downstream:\n{report}\nmoxi log: {}",
        topo.moxi.stderr_text()
    );
    assert!(report.exact_checks > report.requests / 2, "{report}");
}

topology_tests!(run: simple => Simple, chain => Chain, fanout => Fanout);
