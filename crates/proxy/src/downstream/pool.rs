//! The current worker's downstream connections, by server address,
//! protocol and credentials. Each worker has its own (thread-local), so no
//! locks: a connection and every request on it live on one thread.
//!
//! Keying by address (not by position in a topology) is what keeps
//! connections across a reload: a new topology that still names a server
//! finds that server's connections here. Keying by credentials keeps two
//! buckets (SASL users) from sharing a connection.
//!
//! The hot path never builds that key: each worker caches, per topology
//! snapshot, the slot list of every server, so a request costs one short
//! scan and an index.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use crate::downstream::DownConn;
use crate::topology::{DownAuth, DownstreamProtocol, Topology, TopologyId};

type PoolKey = (String, DownstreamProtocol, Option<Arc<DownAuth>>);
type Slots = Rc<RefCell<Vec<Option<DownConn>>>>;

/// Snapshots cached per worker before the cache is rebuilt from scratch
/// (reloads leave old snapshots behind).
const MAX_CACHED_TOPOLOGIES: usize = 16;

thread_local! {
    static POOLS: RefCell<HashMap<PoolKey, Slots>> = RefCell::new(HashMap::new());
    static BY_TOPOLOGY: RefCell<Vec<(TopologyId, Vec<Slots>)>> = const { RefCell::new(Vec::new()) };
}

fn key(topo: &Topology, server: usize) -> PoolKey {
    (topo.address(server), topo.protocol, topo.auth.clone())
}

/// The slots of `server` of `topo` on this worker.
fn slots(topo: &Topology, server: usize) -> Slots {
    BY_TOPOLOGY.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((_, per_server)) = cache.iter().find(|(id, _)| *id == topo.id) {
            return per_server[server].clone();
        }
        if cache.len() >= MAX_CACHED_TOPOLOGIES {
            cache.clear();
        }
        let per_server: Vec<Slots> = POOLS.with(|pools| {
            let mut pools = pools.borrow_mut();
            (0..topo.servers.len())
                .map(|i| pools.entry(key(topo, i)).or_default().clone())
                .collect()
        });
        let s = per_server[server].clone();
        cache.push((topo.id, per_server));
        s
    })
}

/// A live connection to server `server` of `topo`, chosen by `affinity` so
/// that one client's requests to one server always share a connection and
/// so stay in order.
pub fn conn(topo: &Topology, server: usize, affinity: usize) -> DownConn {
    let slots = slots(topo, server);
    let mut slots = slots.borrow_mut();
    let n = topo.conns_per_server.max(1);
    if slots.len() < n {
        slots.resize(n, None);
    }
    let i = affinity % n;
    match &slots[i] {
        Some(c) if c.is_alive() => c.clone(),
        _ => {
            let auth = match topo.protocol {
                DownstreamProtocol::Binary => topo.auth.clone(),
                // moxi authenticates binary connections only.
                DownstreamProtocol::Ascii => None,
            };
            let c = DownConn::spawn(
                topo.address(server),
                topo.protocol,
                topo.timeouts.clone(),
                auth,
            );
            slots[i] = Some(c.clone());
            c
        }
    }
}

/// Forgets the connection `conn` would return, so the next request opens a
/// fresh one (after a timeout). The stalled connection takes no more
/// requests and closes once those already on it are answered or timed out.
pub fn discard(topo: &Topology, server: usize, affinity: usize) {
    let slots = slots(topo, server);
    let mut slots = slots.borrow_mut();
    let n = topo.conns_per_server.max(1);
    if let Some(slot) = slots.get_mut(affinity % n) {
        *slot = None;
    }
}
