//! Turns parsed options into running listeners: the proxy pools of `-z`
//! and, with `-p`, the embedded server, all on one set of worker threads.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use config::{Behaviors, Cluster, PoolServers};
use protocol::Limits;
use proxy::topology::{DownstreamProtocol, Placement, Timeouts, Topology};
use proxy::PoolShared;
use server::listener::{ConnLimit, Listener};
use server::runtime::Workers;
use server::Server;

use crate::cli::Options;

/// Everything that must stay alive while moxi runs.
pub struct Running {
    /// Proxy listeners, one per `-z` pool.
    pub proxies: Vec<(Listener, Arc<PoolShared>)>,
    /// The embedded server, when `-p` was given.
    pub server: Option<Server>,
    /// Client connections of every listener (proxy and server alike).
    pub conns: Arc<ConnLimit>,
    /// The `--metrics` endpoint.
    pub admin: Option<crate::admin::Admin>,
}

impl Running {
    /// Closes every listening socket (SIGTERM's first step).
    pub fn stop_listening(&mut self) {
        for (listener, _) in &mut self.proxies {
            listener.stop();
        }
        if let Some(server) = &mut self.server {
            server.stop_listening();
        }
    }

    /// Waits until every client connection has closed, or `deadline` passed.
    pub fn wait_drained(&self, deadline: std::time::Duration) {
        let start = std::time::Instant::now();
        while self.conns.current() > 0 && start.elapsed() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// A start-up failure: the message to print before exiting 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

fn read_file(path: &str) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

/// Parses `-Z` (every occurrence, in order, later keys winning) into
/// behaviors; a value starting with `.` or `/` is a file holding the list.
pub fn behaviors(opts: &Options) -> Result<Behaviors, StartError> {
    let mut behaviors = Behaviors::with_env(|k| std::env::var(k).ok());
    for z in &opts.behaviors {
        let list = if z.trim().starts_with(['.', '/']) {
            read_file(z.trim())
                .map_err(|e| StartError(format!("ERROR: could not read {}: {e}", z.trim())))?
        } else {
            z.clone()
        };
        let warnings = behaviors
            .apply(&list)
            .map_err(|e| StartError(format!("ERROR: {e}")))?;
        for w in warnings {
            eprintln!("moxi: {w}");
        }
    }
    Ok(behaviors)
}

/// Builds the topology of one static pool.
pub fn topology(servers: &[routing::Server], b: &Behaviors) -> Result<Topology, StartError> {
    let locator = b
        .mcs_opts
        .locator(servers)
        .map_err(|e| StartError(format!("ERROR: bad server list: {e}")))?;
    Ok(Topology {
        servers: servers.to_vec(),
        placement: Placement::Hashed { locator },
        protocol: match b.downstream_protocol {
            config::DownstreamProtocol::Ascii => DownstreamProtocol::Ascii,
            config::DownstreamProtocol::Binary => DownstreamProtocol::Binary,
        },
        timeouts: Timeouts {
            connect: b.connect_timeout,
            downstream: b.downstream_timeout,
        },
        conns_per_server: (b.downstream_conn_max as usize).clamp(1, 16),
    })
}

/// Starts everything the options ask for.
pub fn start(opts: &Options) -> Result<Running, StartError> {
    let settings = opts.settings.clone();
    let workers = Workers::start(settings.threads, "worker")
        .map_err(|e| StartError(format!("ERROR: {e}")))?;
    let mut proxies = Vec::new();
    let conns = ConnLimit::new(settings.max_conns);
    if let Some(z) = &opts.cluster {
        let b = behaviors(opts)?;
        let cluster =
            config::parse_cluster(z, read_file).map_err(|e| StartError(format!("ERROR: {e}")))?;
        let pools = match cluster {
            Cluster::Static(pools) => pools,
            Cluster::Rest(_) => {
                return Err(StartError(
                    "ERROR: REST/HTTP cluster configurations are not supported yet".into(),
                ))
            }
        };
        for pool in pools {
            let servers = match &pool.servers {
                PoolServers::List(s) => s.clone(),
                PoolServers::Vbucket(_) => {
                    return Err(StartError(
                        "ERROR: vBucket configurations are not supported yet".into(),
                    ))
                }
            };
            let topo = topology(&servers, &b)?;
            let limits = Limits::default().with_max_value_len(settings.item_size_max);
            let shared = PoolShared::new(topo, limits);
            let addrs = listen_addrs(&settings.listen, pool.port);
            let listener = proxy::listen(&addrs, settings.backlog, workers.clone(), conns.clone(), shared.clone())
                .map_err(|_| {
                    StartError(format!(
                        "ERROR: could not listen on port {}. Please use -Z port_listen=PORT_NUM to specify a different port number.",
                        pool.port
                    ))
                })?;
            proxies.push((listener, shared));
        }
    }
    let server = if opts.port_given {
        let engine = Arc::new(engine::Engine::new(
            server::engine_config(&settings),
            Arc::new(engine::SystemClock),
        ));
        Some(
            Server::start_on(settings.clone(), engine, workers.clone(), conns.clone()).map_err(
                |e| {
                    StartError(format!(
                        "failed to listen on TCP port {}: {e}",
                        settings.port
                    ))
                },
            )?,
        )
    } else {
        None
    };
    if !proxies.is_empty() || server.is_some() {
        // Static topologies are loaded now: the process is ready.
        proxy::metrics::bump_config_version();
    }
    let admin = match opts.metrics {
        Some(addr) => Some(
            crate::admin::start(
                addr,
                crate::admin::Sources {
                    conns: conns.clone(),
                },
            )
            .map_err(|e| {
                StartError(format!(
                    "ERROR: could not listen on {addr} for --metrics: {e}"
                ))
            })?,
        ),
        None => None,
    };
    Ok(Running {
        proxies,
        server,
        conns,
        admin,
    })
}

fn listen_addrs(listen: &[IpAddr], port: u16) -> Vec<SocketAddr> {
    if listen.is_empty() {
        vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)]
    } else {
        listen.iter().map(|ip| SocketAddr::new(*ip, port)).collect()
    }
}
