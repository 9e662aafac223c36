//! The immutable snapshot a request is routed with: the servers of a pool,
//! how keys map onto them, the downstream protocol and credentials.
//!
//! A reload builds a new `Topology` and swaps the `Arc`; requests in flight
//! keep the one they started with. The one thing that changes inside a
//! snapshot is a vBucket map's master column: a server answering
//! NOT_MY_VBUCKET moves the vBucket (libvbucket's "found incorrect master"),
//! and later requests of the same snapshot must see that, so the map sits
//! behind a lock. A reload replaces the whole map.

pub mod build;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use routing::{Locator, Server, VbucketMap};

use crate::health::eject::Eject;
use crate::health::{HealthPolicy, ServerHealth};
use crate::stats::{PoolRuntime, ProxyStats};

/// Which protocol moxi speaks to the servers (`-Z downstream_protocol`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DownstreamProtocol {
    /// memcached ascii (text).
    Ascii,
    /// memcached binary (moxi's default).
    Binary,
}

/// Why a pool has no servers: every request fails without touching one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unserved {
    /// A REST bucket before its first config, or after a config dropped it
    /// (moxi: a proxy whose config is NULL).
    Unconfigured,
    /// The NULL bucket of a gateway: clients that have not authenticated
    /// when `default_bucket_name` names no bucket (behaviour inventory 5.8).
    NullBucket,
}

/// How a pool places keys.
#[derive(Debug)]
pub enum Placement {
    /// Consistent hashing or modula over a server list (libmemcached or
    /// twemproxy compatible). A failed server's keys look like misses to
    /// get-type commands, as moxi does for such pools.
    Hashed {
        /// Key → server index.
        locator: Locator,
    },
    /// A vBucket map: key → vBucket by CRC, vBucket → master server. Binary
    /// requests carry the vBucket id; NOT_MY_VBUCKET replies move the
    /// vBucket and the request is retried.
    Vbucket {
        /// The map; written only by [`Topology::not_my_vbucket`].
        map: RwLock<VbucketMap>,
    },
    /// No servers (see [`Unserved`]).
    Empty(Unserved),
}

/// Timeouts and limits that shape forwarding (moxi's `-Z`, see
/// `build::base`); the defaults are moxi's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// `connect_timeout` (default 400 ms).
    pub connect: Duration,
    /// `downstream_timeout` (default 5000 ms); zero disables it.
    pub downstream: Duration,
    /// `auth_timeout` (default 100 ms): each SASL or bucket-select round
    /// trip on a new connection; zero disables it.
    pub auth: Duration,
    /// `downstream_max`: requests of one pool forwarded at once per worker
    /// (default 1024); others wait in the wait queue. 0: unlimited.
    pub downstream_max: u32,
    /// `wait_queue_timeout` (default 200 ms): the longest wait in the wait
    /// queue; zero: no bound.
    pub wait_queue: Duration,
    /// `downstream_conn_pipeline` (default 0: unlimited): requests in flight
    /// per connection, counted per server and worker.
    pub conn_pipeline: u32,
    /// `downstream_conn_queue_timeout` (default 200 ms): the longest wait
    /// for that budget; zero: no bound.
    pub conn_queue: Duration,
    /// `downstream_retry` (default 1): re-sends after a connection closed
    /// before the reply.
    pub retries: u32,
    /// `time_stats`: record the timing histograms.
    pub time_stats: bool,
    /// `connect_max_errors`, `cycle`, `connect_retry_interval`, `eject_hosts`.
    pub health: HealthPolicy,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_millis(400),
            downstream: Duration::from_millis(5000),
            auth: Duration::from_millis(100),
            downstream_max: 1024,
            wait_queue: Duration::from_millis(200),
            conn_pipeline: 0,
            conn_queue: Duration::from_millis(200),
            retries: 1,
            time_stats: false,
            health: HealthPolicy::default(),
        }
    }
}

/// What a new binary downstream connection says before its first request:
/// SASL PLAIN `user`/`password` (when `user` is not empty), then a bucket
/// select (opcode 0x2a) when `bucket` is not empty. Connections are pooled
/// per credentials, so two buckets never share one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DownAuth {
    /// SASL PLAIN user; empty: no SASL.
    pub user: String,
    /// SASL PLAIN password.
    pub password: String,
    /// `-Z bucket`: the bucket to select; empty: none.
    pub bucket: String,
}

/// Where one key goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// Index into [`Topology::servers`].
    pub server: usize,
    /// The key's vBucket, in vBucket pools.
    pub vbucket: Option<u16>,
}

/// The identity of one topology snapshot, unique in the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TopologyId(u64);

impl Default for TopologyId {
    /// A fresh, never used identity.
    fn default() -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        TopologyId(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

/// One pool's snapshot.
#[derive(Debug)]
pub struct Topology {
    /// Unique per snapshot: keys the per-worker connection cache.
    pub id: TopologyId,
    /// Servers in configuration order; placement indexes into this.
    pub servers: Vec<Server>,
    /// Each server's `host:port`, as failures name it.
    names: Vec<Arc<str>>,
    /// Key placement.
    pub placement: Placement,
    /// Downstream protocol.
    pub protocol: DownstreamProtocol,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Downstream connections per server per worker.
    pub conns_per_server: usize,
    /// Credentials for new binary connections, if any.
    pub auth: Option<Arc<DownAuth>>,
    /// Health of each server, by index (shared by every topology naming
    /// the same address).
    pub health: Vec<Arc<ServerHealth>>,
    /// Hashed pools with `eject_hosts`: the ring without down servers.
    pub eject: Option<Eject>,
    /// The pool's counters, wait queue and timings; the same for every
    /// topology of one pool ([`crate::Bucket::replace_topology`]).
    pub runtime: Arc<PoolRuntime>,
    /// The configuration text this was built from (`stats proxy config`).
    pub config: String,
    /// Front cache, key stats, optimize_set (all off unless built so).
    pub features: Arc<crate::features::Features>,
}

impl Topology {
    /// A snapshot with default timeouts, two connections per server per
    /// worker and no credentials.
    pub fn new(servers: Vec<Server>, placement: Placement, protocol: DownstreamProtocol) -> Self {
        let names: Vec<Arc<str>> = servers.iter().map(|s| s.authority().into()).collect();
        let health = names.iter().map(|n| crate::health::entry(n)).collect();
        Topology {
            id: TopologyId::default(),
            servers,
            names,
            placement,
            protocol,
            timeouts: Timeouts::default(),
            conns_per_server: 2,
            auth: None,
            health,
            eject: None,
            runtime: Arc::default(),
            config: String::new(),
            features: Arc::default(),
        }
    }

    /// A snapshot without servers.
    pub fn empty(why: Unserved) -> Self {
        Topology::new(
            Vec::new(),
            Placement::Empty(why),
            DownstreamProtocol::Binary,
        )
    }

    /// Where `key` goes; `None` when no server can take it (no servers, or
    /// a vBucket without a master).
    pub fn locate(&self, key: &[u8]) -> Option<Target> {
        match &self.placement {
            Placement::Hashed { locator } => {
                let ejected = match &self.eject {
                    Some(e) => e.locate(key, &self.servers, &self.health),
                    None => None,
                };
                Some(Target {
                    server: ejected.unwrap_or_else(|| locator.locate(key)),
                    vbucket: None,
                })
            }
            Placement::Vbucket { map } => {
                let map = map.read().unwrap_or_else(|p| p.into_inner());
                let vb = map.vbucket(key);
                let server = map.master(vb).filter(|&s| s < self.servers.len())?;
                Some(Target {
                    server,
                    vbucket: Some(vb),
                })
            }
            Placement::Empty(_) => None,
        }
    }

    /// Whether server `i` is marked down (its requests fail at once).
    pub fn is_down(&self, i: usize) -> bool {
        self.health.get(i).is_some_and(|h| h.is_down())
    }

    /// Adds one to a counter, in the process-wide set and the pool's.
    pub fn bump(&self, pick: impl Fn(&ProxyStats) -> &std::sync::atomic::AtomicU64) {
        crate::stats::bump(&pick);
        self.runtime.add(1, pick);
    }

    /// Whether keys are placed by a vBucket map.
    pub fn is_vbucket(&self) -> bool {
        matches!(self.placement, Placement::Vbucket { .. })
    }

    /// Why the pool has no servers, if it has none.
    pub fn unserved(&self) -> Option<Unserved> {
        match self.placement {
            Placement::Empty(why) => Some(why),
            _ if self.servers.is_empty() => Some(Unserved::Unconfigured),
            _ => None,
        }
    }

    /// Server `wrong` answered NOT_MY_VBUCKET for `vbucket`: the map moves
    /// it (the forward map's entry if there is one, else the next server)
    /// for every later request of this snapshot. Returns the new master.
    pub fn not_my_vbucket(&self, vbucket: u16, wrong: usize) -> Option<usize> {
        match &self.placement {
            Placement::Vbucket { map } => {
                let mut map = map.write().unwrap_or_else(|p| p.into_inner());
                map.found_incorrect_master(vbucket, wrong)
            }
            _ => None,
        }
    }

    /// How many times one request may be re-sent after NOT_MY_VBUCKET
    /// (moxi: twice the number of servers).
    pub fn vbucket_retry_limit(&self) -> usize {
        2 * self.servers.len()
    }

    /// `host:port` of server `i`, the identity of its connections.
    pub fn address(&self, i: usize) -> String {
        self.names[i].to_string()
    }

    /// `host:port` of server `i`, shared (failures carry it).
    pub fn name(&self, i: usize) -> Arc<str> {
        self.names[i].clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vbucket_topology(map: Vec<Vec<i32>>, forward: Option<Vec<Vec<i32>>>) -> Topology {
        let names = vec!["a:1".to_owned(), "b:2".to_owned()];
        let servers = vec![Server::new("a", 1, 0), Server::new("b", 2, 0)];
        let map = VbucketMap::try_new(names, map, forward).unwrap();
        Topology::new(
            servers,
            Placement::Vbucket {
                map: RwLock::new(map),
            },
            DownstreamProtocol::Binary,
        )
    }

    #[test]
    fn vbucket_targets_carry_the_id() {
        let topo = vbucket_topology(vec![vec![0], vec![1]], None);
        for key in [&b"a"[..], b"b", b"c", b"hello"] {
            let t = topo.locate(key).unwrap();
            let vb = routing::vbucket_id(key, 2);
            assert_eq!(t.vbucket, Some(vb));
            assert_eq!(t.server, usize::from(vb));
        }
        assert!(topo.is_vbucket());
        assert_eq!(topo.vbucket_retry_limit(), 4);
    }

    #[test]
    fn not_my_vbucket_moves_the_master_for_later_requests() {
        let topo = vbucket_topology(vec![vec![0], vec![0]], None);
        assert_eq!(topo.locate(b"x").unwrap().server, 0);
        let vb = topo.locate(b"x").unwrap().vbucket.unwrap();
        assert_eq!(topo.not_my_vbucket(vb, 0), Some(1));
        assert_eq!(topo.locate(b"x").unwrap().server, 1);
        let fwd = vbucket_topology(vec![vec![0], vec![0]], Some(vec![vec![0], vec![0]]));
        assert_eq!(fwd.not_my_vbucket(1, 0), Some(0), "forward map wins");
    }

    #[test]
    fn masterless_vbuckets_and_empty_pools_have_no_target() {
        let topo = vbucket_topology(vec![vec![-1], vec![-1]], None);
        assert_eq!(topo.locate(b"x"), None);
        let empty = Topology::empty(Unserved::NullBucket);
        assert_eq!(empty.locate(b"x"), None);
        assert_eq!(empty.unserved(), Some(Unserved::NullBucket));
        assert_eq!(topo.unserved(), None);
    }
}
