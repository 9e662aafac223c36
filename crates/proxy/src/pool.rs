//! The current worker's downstream connections, by server address,
//! protocol and credentials. Each worker has its own (thread-local), so no
//! locks: a connection and every request on it live on one thread.
//!
//! Keying by address (not by position in a topology) is what keeps
//! connections across a reload: a new topology that still names a server
//! finds that server's connections here. Keying by credentials keeps two
//! buckets (SASL users) from sharing a connection.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use crate::downstream::DownConn;
use crate::topology::{DownAuth, DownstreamProtocol, Topology};

type PoolKey = (String, DownstreamProtocol, Option<Arc<DownAuth>>);

thread_local! {
    static POOLS: RefCell<HashMap<PoolKey, Vec<Option<DownConn>>>> = RefCell::new(HashMap::new());
}

fn key(topo: &Topology, server: usize) -> PoolKey {
    (topo.address(server), topo.protocol, topo.auth.clone())
}

/// A live connection to server `server` of `topo`, chosen by `affinity` so
/// that one client's requests to one server always share a connection and
/// so stay in order.
pub fn conn(topo: &Topology, server: usize, affinity: usize) -> DownConn {
    let key = key(topo, server);
    let n = topo.conns_per_server.max(1);
    POOLS.with(|pools| {
        let mut pools = pools.borrow_mut();
        let slots = pools.entry(key.clone()).or_insert_with(|| vec![None; n]);
        if slots.len() < n {
            slots.resize(n, None);
        }
        let i = affinity % slots.len();
        let slot = &mut slots[i];
        match slot {
            Some(c) if c.is_alive() => c.clone(),
            _ => {
                let auth = match topo.protocol {
                    DownstreamProtocol::Binary => key.2.clone(),
                    // moxi authenticates binary connections only.
                    DownstreamProtocol::Ascii => None,
                };
                let c = DownConn::spawn(key.0, topo.protocol, topo.timeouts.clone(), auth);
                *slot = Some(c.clone());
                c
            }
        }
    })
}

/// Forgets the connection `conn` would return, so the next request opens a
/// fresh one (after a timeout: the stalled connection closes once its last
/// request lets go of it).
pub fn discard(topo: &Topology, server: usize, affinity: usize) {
    let key = key(topo, server);
    POOLS.with(|pools| {
        if let Some(slots) = pools.borrow_mut().get_mut(&key) {
            let i = affinity % slots.len().max(1);
            if let Some(slot) = slots.get_mut(i) {
                *slot = None;
            }
        }
    });
}
