//! The proxy: upstream sessions ([`session`]), per-worker downstream
//! connections ([`downstream`], [`pool`], [`auth`]), forwarding, fan-out
//! and merge ([`forward`], [`keyed`], [`merge`], [`translate`]), the
//! mapping of failures to client replies ([`error`]), topologies built from
//! configuration ([`build`]), REST buckets ([`gateway`]) and their config
//! watcher ([`rest`]), the proxy's counters ([`stats`], [`metrics`]), and
//! the front cache, key stats and optimize_set ([`features`]).
//!
//! It owns no wire format (that is `protocol`) and no placement math (that
//! is `routing`); it reuses the worker threads and listeners of `server`.

pub mod auth;
pub mod build;
pub mod clock;
pub mod downstream;
pub mod error;
mod featuremetrics;
pub mod features;
pub mod forward;
pub mod frontcache;
pub mod gateway;
pub mod keyed;
pub mod keystats;
pub mod merge;
pub mod metrics;
pub mod optimize;
pub mod pool;
pub mod rest;
pub mod session;
pub mod stats;
pub mod topology;
pub mod translate;
mod wire;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use protocol::Limits;
use server::listener::{ConnLimit, Handler, Listener};
use server::runtime::Workers;

use crate::gateway::Gateway;
use crate::session::Front;
use crate::topology::Topology;

/// State shared by every client of one proxy port.
pub struct PoolShared {
    topology: RwLock<Arc<Topology>>,
    /// Client-side decoder limits.
    pub limits: Limits,
    affinity: AtomicUsize,
}

impl PoolShared {
    /// A pool with its first topology.
    pub fn new(topology: Topology, limits: Limits) -> Arc<PoolShared> {
        Arc::new(PoolShared {
            topology: RwLock::new(Arc::new(topology)),
            limits,
            affinity: AtomicUsize::new(0),
        })
    }

    /// The current topology snapshot.
    pub fn topology(&self) -> Arc<Topology> {
        match self.topology.read() {
            Ok(t) => Arc::clone(&t),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Swaps in a new topology; requests in flight keep the old one. The
    /// front cache and key stats carry over when configured the same.
    pub fn replace_topology(&self, mut topology: Topology) {
        topology.inherit_features(&self.topology());
        let new = Arc::new(topology);
        match self.topology.write() {
            Ok(mut t) => *t = new,
            Err(poisoned) => *poisoned.into_inner() = new,
        }
    }

    fn next_affinity(&self) -> usize {
        self.affinity.fetch_add(1, Ordering::Relaxed)
    }
}

/// Starts listening for clients of one pool on `addrs`.
pub fn listen(
    addrs: &[SocketAddr],
    backlog: u32,
    workers: Arc<Workers>,
    conns: Arc<ConnLimit>,
    shared: Arc<PoolShared>,
) -> io::Result<Listener> {
    listen_front(addrs, backlog, workers, conns, Front::Pool(shared))
}

/// Starts listening for clients of a REST gateway's buckets on `addrs`.
pub fn listen_gateway(
    addrs: &[SocketAddr],
    backlog: u32,
    workers: Arc<Workers>,
    conns: Arc<ConnLimit>,
    gateway: Arc<Gateway>,
) -> io::Result<Listener> {
    listen_front(addrs, backlog, workers, conns, Front::Gateway(gateway))
}

fn listen_front(
    addrs: &[SocketAddr],
    backlog: u32,
    workers: Arc<Workers>,
    conns: Arc<ConnLimit>,
    front: Front,
) -> io::Result<Listener> {
    let handler: Handler = Arc::new(move |stream, guard| {
        tokio::task::spawn_local(session::serve(stream, front.clone(), guard));
    });
    Listener::bind(addrs, backlog, workers, conns, handler)
}
