//! `-Z eject_hosts=true` (twemproxy's `auto_eject_hosts`): while a server
//! of a hashed pool is marked down ([`crate::health`]), keys are placed on
//! a ring built from the other servers only, so they are served elsewhere
//! instead of failing. The trade-off: keys move. Reads of keys that lived on
//! the down server miss, writes land on another server, and when it comes
//! back its keys move home again (possibly stale if they were written
//! meanwhile through another proxy that did not eject).
//!
//! The ring of live servers is built once per change of the down set
//! ([`crate::health::generation`]) and cached; a request pays one atomic
//! load and a read lock.

use std::sync::{Arc, RwLock};

use routing::{Locator, RoutingError, Server};

use crate::health::{self, ServerHealth};

/// Builds a locator for a list of servers, as the pool was built.
pub type Rebuild = Box<dyn Fn(&[Server]) -> Result<Locator, RoutingError> + Send + Sync>;

/// The live ring of a hashed pool that ejects down servers.
pub struct Eject {
    rebuild: Rebuild,
    cache: RwLock<Cached>,
}

#[derive(Default)]
struct Cached {
    /// The health generation this was computed for (`None`: never).
    generation: Option<u64>,
    /// A ring over the live servers and their indexes in the pool, when
    /// some but not all servers are down.
    live: Option<(Locator, Vec<usize>)>,
}

impl std::fmt::Debug for Eject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Eject").finish_non_exhaustive()
    }
}

impl Eject {
    /// Ejection with `rebuild` making the ring of the remaining servers.
    pub fn new(rebuild: Rebuild) -> Eject {
        Eject {
            rebuild,
            cache: RwLock::new(Cached::default()),
        }
    }

    /// The server for `key` with down servers left out; `None` when no
    /// server is down (or all are): the full ring applies.
    pub fn locate(
        &self,
        key: &[u8],
        servers: &[Server],
        health: &[Arc<ServerHealth>],
    ) -> Option<usize> {
        let generation = health::generation();
        {
            let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
            if cache.generation == Some(generation) {
                let (ring, index) = cache.live.as_ref()?;
                return index.get(ring.locate(key)).copied();
            }
        }
        let live = self.live_ring(servers, health);
        let found = live
            .as_ref()
            .and_then(|(ring, index)| index.get(ring.locate(key)).copied());
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        *cache = Cached {
            generation: Some(generation),
            live,
        };
        found
    }

    fn live_ring(
        &self,
        servers: &[Server],
        health: &[Arc<ServerHealth>],
    ) -> Option<(Locator, Vec<usize>)> {
        let index: Vec<usize> = (0..servers.len())
            .filter(|&i| !health.get(i).is_some_and(|h| h.is_down()))
            .collect();
        if index.is_empty() || index.len() == servers.len() {
            return None;
        }
        let subset: Vec<Server> = index.iter().map(|&i| servers[i].clone()).collect();
        match (self.rebuild)(&subset) {
            Ok(ring) => Some((ring, index)),
            Err(e) => {
                log::warn!("eject_hosts: cannot hash the live servers: {e}");
                None
            }
        }
    }
}
