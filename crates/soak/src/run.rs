//! Many checking clients at once: spread over moxi entry points and
//! protocols, driven by one multi-threaded tokio runtime, their counts
//! merged into one [`Report`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::{run_client, ClientSpec, Settings};
use crate::epoch::Epochs;
use crate::ops::Protocol;
use crate::report::Report;

/// A load of checking clients.
#[derive(Clone, Debug)]
pub struct Load {
    /// moxi entry points; client `i` connects to `targets[i % len]`.
    pub targets: Vec<SocketAddr>,
    /// How many clients.
    pub clients: u32,
    /// Protocols; client `i` speaks `protocols[(i / targets) % len]`, so
    /// every target sees every protocol.
    pub protocols: Vec<Protocol>,
    /// Operations per client (`None`: until `duration` is over).
    pub ops_per_client: Option<u64>,
    /// How long to run (`None`: until every client did its operations).
    pub duration: Option<Duration>,
    /// Most operations per batch.
    pub pipeline: usize,
    /// Percent of writes sent noreply / quiet.
    pub quiet_percent: u64,
    /// Client-side timeout for each connect, write and read.
    pub timeout: Duration,
    /// Runtime worker threads.
    pub threads: usize,
    /// Run tag, part of every key.
    pub tag: u32,
    /// Random seed (client `i` uses `seed + i`).
    pub seed: u64,
    /// Per target: moxi may answer failed reads with misses (an ascii hop
    /// inside the topology); missing entries are false.
    pub miss_on_error: Vec<bool>,
    /// Faults are applied: errors outside them are counted apart.
    pub fault_aware: bool,
    /// How long a failed write may still land.
    pub ghost_ttl: Duration,
}

impl Load {
    /// `clients` clients on `target`, ascii and binary alternating, a
    /// few operations per batch, 15% of writes quiet.
    pub fn new(target: SocketAddr, clients: u32) -> Load {
        Load {
            targets: vec![target],
            clients,
            protocols: vec![Protocol::Ascii, Protocol::Binary],
            ops_per_client: Some(20),
            duration: None,
            pipeline: 3,
            quiet_percent: 15,
            timeout: Duration::from_secs(30),
            threads: 2,
            tag: std::process::id(),
            seed: 1,
            miss_on_error: Vec::new(),
            fault_aware: false,
            ghost_ttl: crate::model::GHOST_TTL,
        }
    }

    /// The clients this load starts.
    pub fn specs(&self) -> Vec<ClientSpec> {
        let targets = self.targets.len().max(1);
        (0..self.clients)
            .map(|id| {
                let i = id as usize;
                ClientSpec {
                    id,
                    protocol: self.protocols[(i / targets) % self.protocols.len().max(1)],
                    addr: self.targets[i % targets],
                    seed: self.seed.wrapping_add(u64::from(id)),
                    miss_on_error: self
                        .miss_on_error
                        .get(i % targets)
                        .copied()
                        .unwrap_or(false),
                }
            })
            .collect()
    }
}

/// Runs `load` on a runtime of its own; `epochs` are the fault clocks
/// (never moved when there are no faults).
pub fn run(load: &Load, epochs: Arc<Epochs>) -> std::io::Result<Report> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(load.threads.max(1))
        .enable_all()
        .build()?;
    Ok(rt.block_on(run_async(load, epochs)))
}

/// Runs `load` on the current runtime.
pub async fn run_async(load: &Load, epochs: Arc<Epochs>) -> Report {
    let settings = Arc::new(Settings {
        tag: load.tag,
        pipeline: load.pipeline,
        quiet_percent: load.quiet_percent,
        timeout: load.timeout,
        ops: load.ops_per_client,
        until: load.duration.map(|d| Instant::now() + d),
        fault_aware: load.fault_aware,
        ghost_ttl: load.ghost_ttl,
    });
    let tasks: Vec<_> = load
        .specs()
        .into_iter()
        .map(|spec| tokio::spawn(run_client(spec, settings.clone(), epochs.clone())))
        .collect();
    let mut total = Report::default();
    for t in tasks {
        match t.await {
            Ok(r) => total.merge(r),
            Err(e) => total.error(format!("client task failed: {e}")),
        }
    }
    total
}
