//! The proxy: upstream sessions ([`session`]), per-worker downstream
//! connections ([`downstream`], [`pool`], [`auth`]), forwarding, fan-out
//! and merge ([`forward`], [`keyed`], [`merge`], [`translate`]), the
//! mapping of failures to client replies ([`error`]), topologies built from
//! configuration ([`build`]), REST buckets ([`gateway`]) and their config
//! watcher ([`rest`]), the proxy's counters ([`stats`], [`timings`],
//! [`metrics`]) and `stats proxy` ([`stats_proxy`]), server health and
//! ejection ([`health`], [`eject`]), the log of server state changes
//! ([`server_log`]) and of what each REST config changed ([`config_log`]),
//! the wait queues ([`gate`]), and the front cache, key stats and
//! optimize_set ([`features`]).
//!
//! It owns no wire format (that is `protocol`) and no placement math (that
//! is `routing`); it reuses the worker threads and listeners of `server`.

pub mod auth;
pub mod build;
pub mod clock;
pub mod config_log;
pub mod direct;
pub mod downstream;
pub mod eject;
pub mod error;
mod featuremetrics;
pub mod features;
pub mod forward;
pub mod frontcache;
pub mod gate;
pub mod gateway;
pub mod health;
pub mod keyed;
pub mod keystats;
pub mod merge;
pub mod metrics;
pub mod ops_metrics;
pub mod optimize;
pub mod pool;
pub mod rest;
pub mod server_log;
pub mod session;
pub mod stats;
pub mod stats_proxy;
pub mod timings;
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
use crate::stats::PoolRuntime;
use crate::topology::Topology;

/// State shared by every client of one proxy port.
pub struct PoolShared {
    topology: RwLock<Arc<Topology>>,
    /// Client-side decoder limits.
    pub limits: Limits,
    affinity: AtomicUsize,
    /// `(port, name)` for `stats proxy`, once labelled.
    label: RwLock<Option<(u16, String)>>,
}

impl PoolShared {
    /// A pool with its first topology.
    pub fn new(topology: Topology, limits: Limits) -> Arc<PoolShared> {
        Arc::new(PoolShared {
            topology: RwLock::new(Arc::new(topology)),
            limits,
            affinity: AtomicUsize::new(0),
            label: RwLock::new(None),
        })
    }

    /// Names the pool `<port>:<name>` in `stats proxy` (moxi names a static
    /// pool `default`, a REST one after its bucket) and lists it there.
    pub fn set_label(self: &Arc<Self>, port: u16, name: &str) {
        let mut label = self.label.write().unwrap_or_else(|p| p.into_inner());
        if label.is_none() {
            stats_proxy::register(self);
        }
        *label = Some((port, name.to_owned()));
    }

    /// The `(port, name)` given by [`PoolShared::set_label`].
    pub fn label(&self) -> Option<(u16, String)> {
        self.label.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The pool's counters, wait queue and timings.
    pub fn runtime(&self) -> Arc<PoolRuntime> {
        self.topology().runtime.clone()
    }

    /// The current topology snapshot.
    pub fn topology(&self) -> Arc<Topology> {
        match self.topology.read() {
            Ok(t) => Arc::clone(&t),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Swaps in a new topology; requests in flight keep the old one. The
    /// pool's counters, wait queue and timings carry over; the front cache
    /// and key stats too when configured the same.
    pub fn replace_topology(&self, mut topology: Topology) {
        let old = self.topology();
        topology.runtime = old.runtime.clone();
        topology.inherit_features(&old);
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
    let front = Front::Gateway(gateway.clone());
    let listener = listen_front(addrs, backlog, workers, conns, front)?;
    if let Some(a) = listener.local_addrs().first() {
        gateway.set_port(a.port());
    }
    Ok(listener)
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
