//! The proxy: memcached clients in, memcached servers out. It owns no wire
//! format (that is `protocol`), no placement math (that is `routing`) and no
//! cache (it does not depend on `engine`); it runs on `runtime`'s workers.
//!
//! # Layout
//! The folders follow a request, in the order it meets them:
//! - [`session`]: one client connection: read, decode, answer in order;
//! - [`dispatch`]: what a command does: keyed commands to their server
//!   (`keyed`), multi-gets split and merged, broadcasts (`merge` for
//!   `stats`), local answers; `direct` is the one-reply fast case;
//! - [`admission`]: the wait queue (`downstream_max`) and each server's
//!   request budget (`downstream_conn_pipeline`);
//! - [`translate`]: a binary client's commands to an ascii server (b2a);
//! - [`downstream`]: connections to servers (`pool`: a worker's connections
//!   by server), request bytes (`wire`), reply matching, SASL (`auth`);
//! - [`error`]: why a request failed, and the one place a failure becomes
//!   the client's reply;
//! - [`topology`]: the snapshot a request is routed with, and its building
//!   from configuration (`build`);
//! - [`buckets`]: the REST configuration's buckets and their watcher (`watch`);
//! - [`features`]: front cache, key stats, optimize_set;
//! - [`health`]: server health, probes, ejection from the ring;
//! - [`stats`]: counters and their views: `stats proxy`, timings, Prometheus;
//! - [`clock`]: the injected clock the features read.
//!
//! A [`Bucket`] is what the clients of one port (or of one REST bucket) are
//! routed with: its current topology, swapped on reload.

pub(crate) mod admission;
pub mod buckets;
pub mod clock;
pub(crate) mod dispatch;
pub(crate) mod downstream;
pub(crate) mod error;
pub mod features;
pub mod health;
pub(crate) mod session;
pub mod stats;
pub mod topology;
pub(crate) mod translate;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use protocol::Limits;
use runtime::listener::{ConnLimit, Handler, Listener};
use runtime::workers::Workers;

use crate::buckets::Gateway;
use crate::session::Front;
use crate::stats::PoolRuntime;
use crate::topology::Topology;

/// State shared by every client of one proxy port.
pub struct Bucket {
    topology: RwLock<Arc<Topology>>,
    /// Client-side decoder limits.
    pub limits: Limits,
    affinity: AtomicUsize,
    /// `(port, name)` for `stats proxy`, once labelled.
    label: RwLock<Option<(u16, String)>>,
}

impl Bucket {
    /// A pool with its first topology.
    pub fn new(topology: Topology, limits: Limits) -> Arc<Bucket> {
        Arc::new(Bucket {
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
            stats::proxy::register(self);
        }
        *label = Some((port, name.to_owned()));
    }

    /// The `(port, name)` given by [`Bucket::set_label`].
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
    shared: Arc<Bucket>,
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
