//! Turns parsed options into running listeners: the proxy pools of `-z`
//! and, with `-p`, the embedded server, all on one set of worker threads.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use config::{Behaviors, Cluster, PoolServers, RestConfig};
use protocol::Limits;
use proxy::buckets::watch::{WatchOptions, Watcher};
use proxy::buckets::Gateway;
use proxy::Bucket;
use runtime::listener::{ConnLimit, Listener};
use runtime::workers::Workers;
use server::Server;

use crate::cli::Options;

/// Everything that must stay alive while moxi runs.
pub struct Running {
    /// Proxy listeners, one per static `-z` pool.
    pub proxies: Vec<(Listener, Arc<Bucket>)>,
    /// REST mode: the buckets' listener, their gateway and the config
    /// watcher.
    pub gateway: Option<(Listener, Arc<Gateway>, Watcher)>,
    /// The embedded server, when `-p` was given.
    pub server: Option<Server>,
    /// Client connections of every listener (proxy and server alike).
    pub conns: Arc<ConnLimit>,
    /// The worker threads. Held here so that closing the listeners (which
    /// hold the other handles) does not stop the workers and cut the
    /// connections that are draining.
    pub workers: Arc<Workers>,
    /// The `--metrics` endpoint.
    pub admin: Option<crate::admin::Admin>,
}

impl Running {
    /// Closes every listening socket (SIGTERM's first step).
    pub fn stop_listening(&mut self) {
        for (listener, _) in &mut self.proxies {
            listener.stop();
        }
        if let Some((listener, _, _)) = &mut self.gateway {
            listener.stop();
        }
        if let Some(server) = &mut self.server {
            server.stop_listening();
        }
    }

    /// Waits until every client connection has closed, or `deadline` passed.
    pub fn wait_drained(&self, deadline: std::time::Duration) {
        let start = std::time::Instant::now();
        log::debug!("draining {} client connection(s)", self.conns.current());
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
            log::warn!("{w}");
        }
    }
    Ok(behaviors)
}

/// A refused `-z`, saying what to fix: why a cfg file could not be read,
/// and which file a refused config came from.
fn cluster_error(z: &str, e: &config::ConfigError) -> StartError {
    let path = z.trim();
    let text = match e {
        config::ConfigError::ReadCfgFile { source, .. } => format!("{e}: {source}"),
        _ if path.starts_with(['.', '/']) => format!("in cfg file {path}: {e}"),
        _ => e.to_string(),
    };
    StartError(format!("ERROR: {text}"))
}

/// Starts everything the options ask for.
pub fn start(opts: &Options) -> Result<Running, StartError> {
    let settings = opts.settings.clone();
    let workers = Workers::start(settings.threads, "worker")
        .map_err(|e| StartError(format!("ERROR: {e}")))?;
    let mut proxies = Vec::new();
    let mut gateway = None;
    let conns = ConnLimit::new(settings.max_conns);
    let limits = Limits::default().with_max_value_len(settings.item_size_max);
    // Checked even without -z, so a bad -Z never goes unnoticed.
    let b = behaviors(opts)?;
    let mut main = proxy::stats::proxy::MainInfo {
        nthreads: settings.threads,
        settings: stat_pairs(server::stats::settings_of(&settings, settings.port)),
        ..Default::default()
    };
    main.behaviors = b.clone();
    if let Some(z) = &opts.cluster {
        let cluster = config::parse_cluster(z, read_file).map_err(|e| cluster_error(z, &e))?;
        let ctx = ListenCtx {
            listen: &settings.listen,
            backlog: settings.backlog,
            workers: &workers,
            conns: &conns,
            limits,
        };
        match cluster {
            Cluster::Static(pools) => {
                for pool in pools {
                    proxies.push(static_pool(&ctx, pool.port, &pool.servers, &b)?);
                }
            }
            Cluster::Rest(rest) => {
                main.conf_type = "dynamic";
                gateway = Some(rest_gateway(&ctx, &rest, b)?)
            }
        }
    }
    let server = if opts.port_given {
        let engine = Arc::new(engine::Engine::new(
            server::engine_config(&settings),
            Arc::new(engine::SystemClock),
        ));
        Some(
            Server::start_on(settings.clone(), engine, workers.clone(), conns.clone())
                .map_err(|e| listen_error("embedded server", settings.port, "-p PORT", &e))?,
        )
    } else {
        None
    };
    if let Some(s) = &server {
        let read = s.stats_reader();
        main.embedded = Some(Box::new(move || stat_pairs(read())));
    }
    proxy::stats::proxy::set_main(main);
    if gateway.is_none() {
        // Static topologies are loaded now: the process is ready. In REST
        // mode the gateway counts each applied config instead.
        proxy::stats::metrics::bump_config_version();
    }
    let admin = match opts.metrics {
        Some(addr) => Some(
            crate::admin::start(
                addr,
                crate::admin::Sources {
                    conns: conns.clone(),
                    buckets: ready_buckets(&proxies, &gateway),
                },
            )
            .map_err(|e| listen_error("metrics", addr.port(), "--metrics ADDR:PORT", &e))?,
        ),
        None => None,
    };
    Ok(Running {
        proxies,
        gateway,
        server,
        conns,
        workers,
        admin,
    })
}

/// The buckets `/readyz` checks: static ones named by their port.
fn ready_buckets(
    proxies: &[(Listener, Arc<Bucket>)],
    gateway: &Option<(Listener, Arc<Gateway>, Watcher)>,
) -> crate::ready::Buckets {
    let fixed = proxies
        .iter()
        .map(|(listener, bucket)| {
            let port = listener.local_addrs().first().map_or(0, |a| a.port());
            (format!("port {port}"), bucket.clone())
        })
        .collect();
    crate::ready::Buckets {
        fixed,
        gateway: gateway.as_ref().map(|(_, g, _)| g.clone()),
    }
}

/// What every listener of this process shares.
struct ListenCtx<'a> {
    listen: &'a [IpAddr],
    backlog: u32,
    workers: &'a Arc<Workers>,
    conns: &'a Arc<ConnLimit>,
    limits: Limits,
}

/// A port that could not be bound: why (the words an operator searches
/// for, "address already in use"), and the flag that sets that port.
pub fn listen_error(what: &str, port: u16, flag: &str, e: &std::io::Error) -> StartError {
    let why = match e.kind() {
        std::io::ErrorKind::AddrInUse => "address already in use".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    };
    StartError(format!(
        "ERROR: could not listen on port {port} ({what}): {why}; choose another port with {flag}"
    ))
}

/// One static `PORT=SERVERS` section: a hashed list or a vBucket map.
fn static_pool(
    ctx: &ListenCtx<'_>,
    port: u16,
    servers: &PoolServers,
    b: &Behaviors,
) -> Result<(Listener, Arc<Bucket>), StartError> {
    let topo = match servers {
        PoolServers::List(s) => proxy::topology::build::hashed(s, b),
        PoolServers::Vbucket(cfg) => proxy::topology::build::bucket(cfg, b),
    }
    .map_err(|e| StartError(format!("ERROR: port {port}: {e}")))?;
    let shared = Bucket::new(topo, ctx.limits);
    // moxi names every static pool `default`.
    shared.set_label(port, "default");
    let starts = &proxy::stats::proxy::main_stats().stat_proxy_starts;
    starts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let addrs = listen_addrs(ctx.listen, port);
    let workers = ctx.workers.clone();
    let listener = proxy::listen(
        &addrs,
        ctx.backlog,
        workers,
        ctx.conns.clone(),
        shared.clone(),
    )
    .map_err(|e| listen_error("proxy", port, "-z PORT=...", &e))?;
    Ok((listener, shared))
}

/// REST mode: every bucket on `-Z port_listen`, configs from the watcher.
fn rest_gateway(
    ctx: &ListenCtx<'_>,
    rest: &RestConfig,
    b: Behaviors,
) -> Result<(Listener, Arc<Gateway>, Watcher), StartError> {
    let gateway = Gateway::new(b.default_bucket_name.clone(), ctx.limits);
    let addrs = listen_addrs(ctx.listen, b.port_listen);
    let workers = ctx.workers.clone();
    let conns = ctx.conns.clone();
    let listener = proxy::listen_gateway(&addrs, ctx.backlog, workers, conns, gateway.clone())
        .map_err(|e| listen_error("REST buckets", b.port_listen, "-Z port_listen=PORT", &e))?;
    let credentials = rest
        .credentials(&b)
        .map(|(u, p)| (u.to_owned(), p.to_owned()));
    for w in &rest.warnings {
        log::warn!("{w}");
    }
    let watcher = proxy::buckets::watch::spawn(
        gateway.clone(),
        rest.urls.clone(),
        credentials,
        b,
        WatchOptions::default(),
    )
    .map_err(|e| StartError(format!("ERROR: could not start the REST watcher: {e}")))?;
    Ok((listener, gateway, watcher))
}

/// `STAT` frames as `(name, value)` text.
fn stat_pairs(frames: Vec<protocol::Response>) -> Vec<(String, String)> {
    frames
        .into_iter()
        .filter_map(|f| match f {
            protocol::Response::Stat { name, value } => Some((
                String::from_utf8_lossy(&name).into_owned(),
                String::from_utf8_lossy(&value).into_owned(),
            )),
            _ => None,
        })
        .collect()
}

fn listen_addrs(listen: &[IpAddr], port: u16) -> Vec<SocketAddr> {
    if listen.is_empty() {
        vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)]
    } else {
        listen.iter().map(|ip| SocketAddr::new(*ip, port)).collect()
    }
}
