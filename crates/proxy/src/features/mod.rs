//! The per-pool behaviours around forwarding that `-Z` switches on: the
//! front cache ([`frontcache`]), key stats ([`keystats`]) and `optimize_set`
//! ([`optimize`]), and their hooks in the request path ([`get`],
//! [`forward_invalidating`], [`flush_all`]; key stats are fed by
//! [`crate::stats::observe`]).
//!
//! A pool's [`Features`] hang off its [`Topology`]. A reload builds a new
//! topology; [`Topology::inherit_features`] (called by
//! [`crate::Bucket::replace_topology`]) carries the old `Features` over
//! when the new ones are configured the same, so a REST update of a bucket
//! keeps its front cache and counters. The entries stay valid: the cache
//! stands in front of the whole bucket, wherever its keys move, and writes
//! through the proxy invalidate them as before. A changed configuration
//! starts empty.

pub(crate) mod frontcache;
pub(crate) mod keystats;
mod metrics;
pub(crate) mod optimize;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use config::{Behaviors, PrefixSpec};
use protocol::{Get, GetKind, Key, Request, Response, Value};

use crate::clock::Clock;
use crate::dispatch::keyed;
use crate::error::ClientProtocol;
use crate::features::frontcache::{FrontCache, FrontCacheConfig};
use crate::features::keystats::{KeyStats, KeyStatsConfig};
use crate::topology::Topology;

/// One pool's front cache, key stats and `optimize_set`.
#[derive(Debug)]
pub struct Features {
    /// The front cache.
    pub front: FrontCache,
    /// Key stats.
    pub keys: KeyStats,
    /// `optimize_set` prefixes.
    pub optimize_set: PrefixSpec,
    /// `tot_optimize_sets`.
    optimize_sets: AtomicU64,
}

impl Default for Features {
    /// Everything off.
    fn default() -> Self {
        Features::new(&Behaviors::default(), Clock::System)
    }
}

impl Features {
    /// The features `-Z` configures, reading time from `clock`.
    pub fn new(b: &Behaviors, clock: Clock) -> Self {
        Features {
            front: FrontCache::new(FrontCacheConfig::from_behaviors(b), clock.clone()),
            keys: KeyStats::new(KeyStatsConfig::from_behaviors(b), clock),
            optimize_set: b.optimize_set.clone(),
            optimize_sets: AtomicU64::new(0),
        }
    }

    /// Whether `other` is configured the same (the clock aside).
    pub fn same_config(&self, other: &Features) -> bool {
        self.front.config() == other.front.config()
            && self.keys.config() == other.keys.config()
            && self.optimize_set == other.optimize_set
    }

    /// Whether an ascii get consults the front cache: a plain `get` (not
    /// gets/gat/gats, as moxi) naming at least one cached key.
    pub fn caches(&self, get: &Get) -> bool {
        self.front.config().enabled()
            && get.kind == GetKind::Get
            && get.keys.iter().any(|k| self.front.matches(k.as_bytes()))
    }

    pub(crate) fn count_optimize_set(&self) {
        self.optimize_sets.fetch_add(1, Ordering::Relaxed);
    }

    /// moxi's `tot_optimize_sets` (a `pstd_stats` counter).
    pub fn tot_optimize_sets(&self) -> u64 {
        self.optimize_sets.load(Ordering::Relaxed)
    }

    /// `stats proxy frontcache`: `<port>:<name>:frontcache:<stat>` rows.
    pub fn frontcache_stats(&self, port: u16, name: &str) -> Vec<(String, String)> {
        self.front.stats(&format!("{port}:{name}:"))
    }

    /// `stats proxy keystats`: `<port>:<name>:keystats:<key>:<field>` rows,
    /// sorted by key.
    pub fn keystats(&self, port: u16, name: &str) -> Vec<(String, String)> {
        self.keys.stats(&format!("{port}:{name}:"))
    }

    /// `stats proxy reset`: zeroes the front cache's counters (its entries
    /// stay), forgets the key stats, zeroes `tot_optimize_sets`.
    pub fn reset_stats(&self) {
        self.front.reset_stats();
        self.keys.reset();
        self.optimize_sets.store(0, Ordering::Relaxed);
    }
}

impl Topology {
    /// Keeps `old`'s features (entries and counters) when this topology's
    /// are configured the same: a reload of the same pool.
    pub fn inherit_features(&mut self, old: &Topology) {
        if self.features.same_config(&old.features) {
            self.features = Arc::clone(&old.features);
        }
    }
}

/// An ascii `get` through the front cache: cached keys are answered here,
/// the others fetched ([`keyed::multi_get`]) and added; values come back
/// once per occurrence, in the request's key order. Callers check
/// [`Features::caches`] first.
pub async fn get(topo: &Topology, get: &Get, affinity: usize) -> Vec<Response> {
    let front = &topo.features.front;
    let (cached, ticket) = front.lookup(&get.keys);
    let rest: Vec<Key> = get
        .keys
        .iter()
        .filter(|k| !cached.contains_key(*k))
        .cloned()
        .collect();
    let mut fetched: HashMap<Key, Value> = HashMap::new();
    let mut last = Response::End;
    if !rest.is_empty() {
        let sub = Get {
            keys: rest.into(),
            ..get.clone()
        };
        for frame in keyed::multi_get(topo, &sub, affinity).await {
            match frame {
                Response::Value(v) => {
                    if !fetched.contains_key(&v.key) {
                        front.add(&v, ticket);
                        fetched.insert(v.key.clone(), v);
                    }
                }
                other => last = other,
            }
        }
    }
    let mut out: Vec<Response> = get
        .keys
        .iter()
        .filter_map(|k| cached.get(k).or_else(|| fetched.get(k)))
        .cloned()
        .map(Response::Value)
        .collect();
    out.push(last);
    out
}

/// Store, arith, delete, touch ([`keyed::forward_command`]), with the front cache
/// invalidated when the request starts (so the client's own later gets,
/// which may start before the reply, miss it) and again when it is
/// answered (so a get that raced with it keeps nothing), and
/// `optimize_set` answered early ([`crate::features::optimize`]).
pub async fn forward_invalidating(
    topo: &Arc<Topology>,
    req: &Request,
    client: ClientProtocol,
    affinity: usize,
) -> Response {
    let front = &topo.features.front;
    let key = keyed::command_key(&req.command).filter(|k| front.matches(k.as_bytes()));
    if let Some(k) = key {
        front.invalidate(k.as_bytes());
    }
    if crate::features::optimize::applies(topo, client, req) {
        return crate::features::optimize::fire(Arc::clone(topo), req.clone(), affinity).await;
    }
    let reply = keyed::forward_command(topo, req, client, affinity).await;
    if let Some(k) = key {
        front.invalidate(k.as_bytes());
    }
    reply
}

/// flush_all through the proxy empties the front cache, before it is sent
/// and once the servers have answered.
pub async fn flush_all<F: std::future::Future<Output = Response>>(
    topo: &Topology,
    flush: F,
) -> Response {
    topo.features.front.flush();
    let reply = flush.await;
    topo.features.front.flush();
    reply
}

pub use crate::features::metrics::render as render_metrics;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reloads_keep_features_configured_the_same() {
        let b = Behaviors {
            front_cache_lifespan: std::time::Duration::from_secs(1),
            front_cache_spec: PrefixSpec::parse("a"),
            ..Behaviors::default()
        };
        let servers = vec![routing::Server::new("h", 1, 0)];
        let build = |b: &Behaviors| crate::topology::build::hashed(&servers, b).expect("topology");
        let old = build(&b);
        let mut same = build(&b);
        same.inherit_features(&old);
        assert!(Arc::ptr_eq(&same.features, &old.features));
        let mut changed = build(&Behaviors {
            front_cache_max: 7,
            ..b.clone()
        });
        changed.inherit_features(&old);
        assert!(!Arc::ptr_eq(&changed.features, &old.features));
        assert!(old.features.front.config().enabled());
        assert!(!Features::default().front.config().enabled());
    }

    #[test]
    fn metrics_render_every_name_once() {
        let mut out = String::new();
        render_metrics(&mut out);
        for name in [
            "moxi_frontcache_hits_total",
            "moxi_frontcache_entries",
            "moxi_optimize_sets_total",
        ] {
            assert_eq!(out.matches(&format!("# TYPE {name} ")).count(), 1, "{name}");
            assert!(out.lines().any(|l| l.starts_with(&format!("{name} "))));
        }
    }
}
