//! The embedded memcached-compatible server (`moxi -p`), on the worker
//! threads and listeners of `runtime`.
//!
//! # Layout
//! - [`admin`]: `shutdown`, `cache_memlimit`, `slabs`, `lru_crawler`;
//! - [`conn`]: one client connection: read, decode, execute, write;
//! - [`conns`]: the open connections, for `stats conns`;
//! - [`execute`]: a decoded request against the engine, to its reply;
//! - [`meta`]: the meta commands (`mg`, `ms`, `md`, `ma`, `mn`, `me`);
//! - [`settings`]: memcached's command-line settings as the server uses them;
//! - [`stats`]: the server's counters and the `stats` groups;
//! - [`stats_text`]: `stats detail` and `stats cachedump` (ascii only);
//! - [`detail`]: the per-prefix counters of `stats detail`.
//!
//! It must not parse wire formats itself (that is `protocol`) nor store
//! items (that is `engine`).

pub mod admin;
pub mod conn;
pub mod conns;
pub mod detail;
pub mod execute;
pub mod meta;
pub mod settings;
pub mod stats;
pub mod stats_text;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;

use engine::{Clock, Engine, SystemClock};
use protocol::Limits;

use crate::conn::Shared;
use crate::settings::Settings;
use crate::stats::ServerStats;
use runtime::listener::{ConnLimit, Handler, Listener};
use runtime::workers::Workers;

/// A running embedded server.
pub struct Server {
    listener: Listener,
    workers: Option<Arc<Workers>>,
    engine: Arc<Engine>,
    stats: Arc<ServerStats>,
    conns: Arc<ConnLimit>,
    settings: Arc<Settings>,
}

impl Server {
    /// Starts the embedded server with the system clock.
    pub fn start(settings: Settings) -> io::Result<Server> {
        Self::start_with_clock(settings, Arc::new(SystemClock))
    }

    /// Starts the embedded server with an injected clock (tests).
    pub fn start_with_clock(settings: Settings, clock: Arc<dyn Clock>) -> io::Result<Server> {
        let engine = Arc::new(Engine::new(engine_config(&settings), clock));
        let workers = Workers::start(settings.threads, "worker")?;
        let conns = ConnLimit::new(settings.max_conns);
        Self::start_on(settings, engine, workers, conns)
    }

    /// Starts the embedded server on existing workers, engine and
    /// connection limit (the proxy runs it beside its own listeners, and
    /// `-c` counts every client of the process, as in moxi).
    pub fn start_on(
        settings: Settings,
        engine: Arc<Engine>,
        workers: Arc<Workers>,
        conns: Arc<ConnLimit>,
    ) -> io::Result<Server> {
        let addrs = listen_addrs(&settings);
        let stats = ServerStats::new(workers.len());
        if let Some(delimiter) = settings.prefix_delimiter {
            stats.detail.start_with_delimiter(delimiter);
        }
        let limits = Limits::default().with_max_value_len(settings.item_size_max);
        let settings = Arc::new(settings);
        // The handler is created per worker lazily: `Shared` holds the port,
        // known only after binding, so bind first with a placeholder cell.
        let cell: Arc<std::sync::OnceLock<u16>> = Arc::new(std::sync::OnceLock::new());
        let (e, s, c, st, cl) = (
            engine.clone(),
            stats.clone(),
            conns.clone(),
            settings.clone(),
            cell.clone(),
        );
        let handler: Handler = Arc::new(move |stream, guard| {
            let shared = Rc::new(Shared {
                engine: e.clone(),
                stats: s.clone(),
                conns: c.clone(),
                settings: st.clone(),
                port: cl.get().copied().unwrap_or(0),
                limits,
            });
            tokio::task::spawn_local(conn::serve(stream, shared, guard));
        });
        let listener = Listener::bind(
            &addrs,
            settings.backlog,
            workers.clone(),
            conns.clone(),
            handler,
        )?;
        let _ = cell.set(listener.local_addrs().first().map_or(0, |a| a.port()));
        Ok(Server {
            listener,
            workers: Some(workers),
            engine,
            stats,
            conns,
            settings,
        })
    }

    /// A reader of the server's plain `stats` (for the proxy's
    /// `stats proxy stats`), usable from any thread.
    pub fn stats_reader(&self) -> impl Fn() -> Vec<protocol::Response> + Send + Sync + 'static {
        let (stats, engine, conns) = (self.stats.clone(), self.engine.clone(), self.conns.clone());
        let settings = self.settings.clone();
        let port = self.local_addrs().first().map_or(0, |a| a.port());
        move || {
            stats::general(&stats::StatsSources {
                server: &stats,
                engine: &engine,
                conns: &conns,
                settings: &settings,
                port,
            })
        }
    }

    /// The bound addresses (real ports when 0 was asked).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        self.listener.local_addrs()
    }

    /// The engine (tests inspect it).
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Closes the listening sockets; open connections carry on.
    pub fn stop_listening(&mut self) {
        self.listener.stop();
    }

    /// Stops accepting connections and stops the worker threads.
    pub fn stop(&mut self) {
        self.listener.stop();
        if let Some(w) = self.workers.take() {
            if let Ok(w) = Arc::try_unwrap(w) {
                w.join();
            }
        }
    }
}

/// The engine configuration that the server's settings imply.
pub fn engine_config(settings: &Settings) -> engine::Config {
    engine::Config {
        max_bytes: settings.max_bytes,
        item_size_max: settings.item_size_max,
        cas_enabled: !settings.cas_disabled,
        evict: !settings.no_evict,
        shards: engine::Config::shards_for_threads(settings.threads),
    }
}

fn listen_addrs(settings: &Settings) -> Vec<SocketAddr> {
    if settings.listen.is_empty() {
        vec![SocketAddr::new(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            settings.port,
        )]
    } else {
        settings
            .listen
            .iter()
            .map(|ip| SocketAddr::new(*ip, settings.port))
            .collect()
    }
}
