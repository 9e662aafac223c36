//! Topologies built from configuration: a static `-z` server list, or one
//! bucket's vBucket / ketama JSON, shaped by the `-Z` behaviors.

use std::sync::{Arc, RwLock};

use config::{Behaviors, NodeLocator, VbucketConfig};
use routing::{RoutingError, Server};

use crate::clock::Clock;
use crate::features::Features;
use crate::health::HealthPolicy;
use crate::topology::{DownAuth, DownstreamProtocol, Placement, Timeouts, Topology};

/// Why a topology could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A vBucket map with `-Z downstream_protocol=ascii`: vBucket ids and
    /// NOT_MY_VBUCKET exist only in the binary protocol.
    #[error("a vBucket configuration needs the binary downstream protocol (-Z downstream_protocol=binary)")]
    AsciiVbucket,
    /// The server list cannot be hashed.
    #[error("bad server list: {0}")]
    Locator(#[from] RoutingError),
    /// A vBucket config without a map (cannot come out of `config`).
    #[error("vBucket config without a map")]
    NoMap,
}

/// The downstream protocol `-Z downstream_protocol` names.
pub fn protocol_of(b: &Behaviors) -> DownstreamProtocol {
    match b.downstream_protocol {
        config::DownstreamProtocol::Ascii => DownstreamProtocol::Ascii,
        config::DownstreamProtocol::Binary => DownstreamProtocol::Binary,
    }
}

/// Most connections per server and worker; `downstream_conn_max=0`
/// (moxi: unlimited) means this many.
pub const MAX_CONNS_PER_SERVER: usize = 16;

/// The timeouts and limits the behaviors ask for.
pub fn timeouts_of(b: &Behaviors) -> Timeouts {
    Timeouts {
        connect: b.connect_timeout,
        downstream: b.downstream_timeout,
        auth: b.auth_timeout,
        downstream_max: b.downstream_max,
        wait_queue: b.wait_queue_timeout,
        conn_pipeline: b.downstream_conn_pipeline,
        conn_queue: b.downstream_conn_queue_timeout,
        retries: b.downstream_retry,
        time_stats: b.time_stats,
        health: HealthPolicy {
            max_errors: b.connect_max_errors,
            probe_interval: b.cycle,
            retry_interval: b.connect_retry_interval,
            eject: b.eject_hosts,
        },
    }
}

fn base(servers: Vec<Server>, placement: Placement, b: &Behaviors) -> Topology {
    let mut topo = Topology::new(servers, placement, protocol_of(b));
    topo.timeouts = timeouts_of(b);
    topo.conns_per_server = match b.downstream_conn_max as usize {
        0 => MAX_CONNS_PER_SERVER,
        n => n.min(MAX_CONNS_PER_SERVER),
    };
    topo.features = Arc::new(Features::new(b, Clock::System));
    topo
}

/// Servers given without a weight get `-Z downstream_weight` (when set).
fn weighted(servers: &[Server], b: &Behaviors) -> Vec<Server> {
    servers
        .iter()
        .map(|s| match s.weight {
            0 => Server::new(s.host.clone(), s.port, b.downstream_weight),
            _ => s.clone(),
        })
        .collect()
}

/// With `-Z eject_hosts=true`, lets a hashed pool leave down servers out
/// of its ring, rebuilt with `rebuild`.
fn with_ejection(
    mut topo: Topology,
    b: &Behaviors,
    rebuild: crate::health::eject::Rebuild,
) -> Topology {
    if b.eject_hosts && matches!(topo.placement, Placement::Hashed { .. }) {
        topo.eject = Some(crate::health::eject::Eject::new(rebuild));
    }
    topo
}

/// A static pool over a libmemcached server list, hashed as `-Z mcs_opts`
/// says (moxi's ketama-weighted by default). Authenticates with `-Z usr`.
pub fn hashed(servers: &[Server], b: &Behaviors) -> Result<Topology, BuildError> {
    let servers = weighted(servers, b);
    let locator = b.mcs_opts.locator(&servers)?;
    let config = servers
        .iter()
        .map(|s| match s.weight {
            0 => s.authority(),
            w => format!("{}:{w}", s.authority()),
        })
        .collect::<Vec<_>>()
        .join(",");
    let mut topo = base(servers, Placement::Hashed { locator }, b);
    topo.auth = credentials(None, b);
    topo.config = config;
    let mcs = b.mcs_opts.clone();
    Ok(with_ejection(
        topo,
        b,
        Box::new(move |s: &[Server]| mcs.locator(s)),
    ))
}

/// One bucket's topology: its vBucket map, or (`nodeLocator: ketama`) its
/// server list hashed with moxi's ketama-weighted. Credentials as moxi: the
/// bucket's `name` and `saslPassword` unless the name is `default`, else
/// `-Z usr`/`pwd`; `-Z bucket` adds a bucket select.
pub fn bucket(cfg: &VbucketConfig, b: &Behaviors) -> Result<Topology, BuildError> {
    let mut topo = match cfg.node_locator {
        NodeLocator::Vbucket => {
            if b.downstream_protocol == config::DownstreamProtocol::Ascii {
                return Err(BuildError::AsciiVbucket);
            }
            let map = cfg.map.clone().ok_or(BuildError::NoMap)?;
            let placement = Placement::Vbucket {
                map: RwLock::new(map),
            };
            base(cfg.vbucket_servers.clone(), placement, b)
        }
        NodeLocator::Ketama => {
            let servers = weighted(&cfg.ketama_servers, b);
            let locator = routing::Locator::moxi_ketama_weighted(&servers)?;
            let topo = base(servers, Placement::Hashed { locator }, b);
            with_ejection(topo, b, Box::new(routing::Locator::moxi_ketama_weighted))
        }
    };
    topo.auth = credentials(Some(cfg), b);
    topo.config = cfg.raw.clone();
    Ok(topo)
}

/// The downstream credentials for a pool, if any (binary only: moxi never
/// authenticates ascii connections).
fn credentials(cfg: Option<&VbucketConfig>, b: &Behaviors) -> Option<Arc<DownAuth>> {
    if b.downstream_protocol == config::DownstreamProtocol::Ascii {
        return None;
    }
    let (user, password) = match cfg.and_then(|c| c.sasl_user().map(|u| (u, c))) {
        Some((user, c)) => (user.to_owned(), c.sasl_password.clone()),
        None => (b.usr.clone(), b.pwd.clone()),
    };
    if user.is_empty() && b.bucket.is_empty() {
        return None;
    }
    Some(Arc::new(DownAuth {
        user,
        password,
        bucket: b.bucket.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str = r#"{"numReplicas":0,"serverList":["h:1","h:2"],"vBucketMap":[[0],[1]]}"#;

    #[test]
    fn vbucket_pools_need_binary() {
        let cfg = VbucketConfig::parse(MAP).unwrap();
        let mut b = Behaviors::default();
        let topo = bucket(&cfg, &b).unwrap();
        assert!(topo.is_vbucket());
        assert_eq!(topo.servers.len(), 2);
        assert_eq!(topo.auth, None, "default bucket, no -Z usr");
        b.downstream_protocol = config::DownstreamProtocol::Ascii;
        assert_eq!(bucket(&cfg, &b).unwrap_err(), BuildError::AsciiVbucket);
    }

    #[test]
    fn ketama_buckets_hash_their_nodes() {
        let json = r#"{"name":"m","nodeLocator":"ketama","nodes":[
            {"hostname":"a:8091","ports":{"direct":11211}},
            {"hostname":"b:8091","ports":{"direct":11212}}]}"#;
        let cfg = VbucketConfig::parse(json).unwrap();
        let topo = bucket(&cfg, &Behaviors::default()).unwrap();
        assert!(!topo.is_vbucket());
        assert_eq!(topo.address(1), "b:11212");
        let locator = routing::Locator::moxi_ketama_weighted(&topo.servers).unwrap();
        for key in ["x", "y", "zz"] {
            let t = topo.locate(key.as_bytes()).unwrap();
            assert_eq!(
                (t.server, t.vbucket),
                (locator.locate(key.as_bytes()), None)
            );
        }
        assert_eq!(topo.auth.unwrap().user, "m");
    }

    #[test]
    fn behaviors_shape_the_topology() {
        let mut b = Behaviors::default();
        b.apply(
            "downstream_max=3,wait_queue_timeout=4,downstream_conn_pipeline=5,\
             downstream_conn_queue_timeout=6,downstream_retry=7,time_stats=1,\
             connect_max_errors=8,cycle=9,connect_retry_interval=10,eject_hosts=true,\
             downstream_conn_max=0,downstream_weight=3",
        )
        .unwrap();
        let servers = [Server::new("h", 1, 0), Server::new("h", 2, 5)];
        let topo = hashed(&servers, &b).unwrap();
        let t = &topo.timeouts;
        let ms = std::time::Duration::from_millis;
        assert_eq!((t.downstream_max, t.wait_queue), (3, ms(4)));
        assert_eq!((t.conn_pipeline, t.conn_queue), (5, ms(6)));
        assert_eq!((t.retries, t.time_stats), (7, true));
        assert_eq!(
            t.health,
            HealthPolicy {
                max_errors: 8,
                probe_interval: ms(9),
                retry_interval: ms(10),
                eject: true
            }
        );
        assert_eq!(topo.conns_per_server, MAX_CONNS_PER_SERVER, "0: unlimited");
        let weights: Vec<u32> = topo.servers.iter().map(|s| s.weight).collect();
        assert_eq!(
            weights,
            [3, 5],
            "downstream_weight fills in missing weights"
        );
        assert_eq!(topo.config, "h:1:3,h:2:5");
        assert!(topo.eject.is_some());
        b.downstream_conn_max = 40;
        assert_eq!(hashed(&servers, &b).unwrap().conns_per_server, 16);
        assert!(hashed(&servers, &Behaviors::default())
            .unwrap()
            .eject
            .is_none());
    }

    #[test]
    fn credentials_follow_moxi() {
        let named = format!(r#"{{"name":"b0","saslPassword":"pw","vBucketServerMap":{MAP}}}"#);
        let cfg = VbucketConfig::parse(&named).unwrap();
        let mut b = Behaviors {
            usr: "u".into(),
            pwd: "p".into(),
            ..Behaviors::default()
        };
        let auth = bucket(&cfg, &b).unwrap().auth.unwrap();
        assert_eq!((auth.user.as_str(), auth.password.as_str()), ("b0", "pw"));
        let default = VbucketConfig::parse(MAP).unwrap();
        let auth = bucket(&default, &b).unwrap().auth.unwrap();
        assert_eq!((auth.user.as_str(), auth.password.as_str()), ("u", "p"));
        b.usr.clear();
        b.bucket = "other".into();
        let auth = bucket(&default, &b).unwrap().auth.unwrap();
        assert_eq!((auth.user.as_str(), auth.bucket.as_str()), ("", "other"));
        let servers = [Server::new("h", 1, 0)];
        assert!(hashed(&servers, &Behaviors::default())
            .unwrap()
            .auth
            .is_none());
    }
}
