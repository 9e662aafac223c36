//! `stats proxy [sub]`, answered locally and never forwarded (behaviour
//! inventory 7.2), for ascii `stats proxy ...` and binary STAT with the key
//! `proxy ...` alike.
//!
//! Sub-commands: none or `all` prints every group of [`GROUPS`] in order;
//! a group's name prints that group; `timings` and `config` are printed
//! only when asked by name ([`BY_NAME_ONLY`]); `reset` runs [`RESETS`] and
//! answers `OK`; anything else is just `END`. The tables are the extension
//! points: a new group is one more row.
//!
//! Pools appear once labelled ([`Bucket::set_label`]) as
//! `<port>:<name>:` (a static pool is named `default`, a REST pool after
//! its bucket); pools without servers (the NULL bucket, a bucket the
//! latest config dropped) are skipped, as moxi skips them.

mod groups;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock, Weak};

use bytes::Bytes;
use config::Behaviors;
use protocol::{Command, Response};

use crate::topology::Topology;
use crate::Bucket;

/// What `stats proxy` reads besides the pools; set once at start-up.
pub struct MainInfo {
    /// Worker threads (`-t`).
    pub nthreads: usize,
    /// `static` (`-z` lists and maps) or `dynamic` (REST).
    pub conf_type: &'static str,
    /// The `-Z` behaviors.
    pub behaviors: Behaviors,
    /// `memcached:settings:*`: the process's memcached settings.
    pub settings: Vec<(String, String)>,
    /// `memcached:stats:*`: the embedded server's `stats`, when `-p` runs one.
    pub embedded: Option<EmbeddedStats>,
}

/// Reads the embedded server's plain `stats`.
pub type EmbeddedStats = Box<dyn Fn() -> Vec<(String, String)> + Send + Sync>;

impl Default for MainInfo {
    fn default() -> Self {
        MainInfo {
            nthreads: 0,
            conf_type: "static",
            behaviors: Behaviors::default(),
            settings: Vec::new(),
            embedded: None,
        }
    }
}

/// moxi's `proxy_main:stats:` counters, bumped by the REST gateway.
#[derive(Debug, Default)]
pub struct MainStats {
    /// Configs received.
    pub stat_configs: AtomicU64,
    /// Of those, refused ones.
    pub stat_config_fails: AtomicU64,
    /// Pools started (static ones at start-up, REST buckets when new).
    pub stat_proxy_starts: AtomicU64,
    /// Pools that could not be started.
    pub stat_proxy_start_fails: AtomicU64,
    /// Buckets a config named again (new topology, same pool).
    pub stat_proxy_existings: AtomicU64,
    /// Buckets a config no longer named.
    pub stat_proxy_shutdowns: AtomicU64,
}

static MAIN_STATS: MainStats = MainStats {
    stat_configs: AtomicU64::new(0),
    stat_config_fails: AtomicU64::new(0),
    stat_proxy_starts: AtomicU64::new(0),
    stat_proxy_start_fails: AtomicU64::new(0),
    stat_proxy_existings: AtomicU64::new(0),
    stat_proxy_shutdowns: AtomicU64::new(0),
};

/// The process's [`MainStats`].
pub fn main_stats() -> &'static MainStats {
    &MAIN_STATS
}

static MAIN: RwLock<Option<Arc<MainInfo>>> = RwLock::new(None);
static BUCKETS: Mutex<Vec<Weak<Bucket>>> = Mutex::new(Vec::new());

/// Sets what `stats proxy` prints about the process.
pub fn set_main(info: MainInfo) {
    *MAIN.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(info));
}

/// Lists a labelled pool (called by [`Bucket::set_label`]).
pub(crate) fn register(pool: &Arc<Bucket>) {
    let mut pools = BUCKETS.lock().unwrap_or_else(|p| p.into_inner());
    pools.retain(|w| w.strong_count() > 0);
    pools.push(Arc::downgrade(pool));
}

/// One pool as the groups see it.
pub struct PoolView {
    /// `<port>:<name>`.
    pub prefix: String,
    /// The port.
    pub port: u16,
    /// The name (`default`, or the bucket's).
    pub name: String,
    /// Its current topology.
    pub topology: Arc<Topology>,
}

/// Everything a group prints from.
pub struct Ctx {
    /// The process.
    pub main: Arc<MainInfo>,
    /// The pools with servers, in the order they were labelled.
    pub pools: Vec<PoolView>,
}

impl Ctx {
    /// A snapshot of now.
    pub fn now() -> Ctx {
        let main = MAIN
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_default();
        let pools = BUCKETS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .filter_map(|p| {
                let (port, name) = p.label()?;
                let topology = p.topology();
                topology.unserved().is_none().then(|| PoolView {
                    prefix: format!("{port}:{name}"),
                    port,
                    name,
                    topology,
                })
            })
            .collect();
        Ctx { main, pools }
    }
}

/// A group: `(stat name, value)` lines.
pub type Group = fn(&Ctx) -> Vec<(String, String)>;

/// The groups of `stats proxy` and `stats proxy all`, in output order.
pub const GROUPS: &[(&str, Group)] = &[
    ("info", groups::info),
    ("settings", groups::settings),
    ("stats", groups::stats),
    ("behaviors", groups::behaviors),
    ("frontcache", groups::frontcache),
    ("keystats", groups::keystats),
];

/// Groups printed only when asked by name.
pub const BY_NAME_ONLY: &[(&str, Group)] =
    &[("timings", groups::timings), ("config", groups::config)];

/// What `stats proxy reset` resets.
pub const RESETS: &[fn()] = &[groups::reset_counters, groups::reset_features];

/// The reply to `stats <group>` when the group is `proxy ...`.
pub fn local(cmd: &Command) -> Option<Vec<Response>> {
    let Command::Stats { group } = cmd else {
        return None;
    };
    let text = std::str::from_utf8(group).ok()?;
    let mut words = text.split_ascii_whitespace();
    if words.next() != Some("proxy") {
        return None;
    }
    Some(answer(words.next().unwrap_or("")))
}

/// The frames for `stats proxy <sub>` (`sub` empty: all groups).
pub fn answer(sub: &str) -> Vec<Response> {
    if sub == "reset" {
        for reset in RESETS {
            reset();
        }
        return vec![Response::Ok];
    }
    let ctx = Ctx::now();
    let all = sub.is_empty() || sub == "all";
    let chosen = GROUPS
        .iter()
        .filter(|(name, _)| all || *name == sub)
        .chain(BY_NAME_ONLY.iter().filter(|(name, _)| *name == sub));
    let mut out: Vec<Response> = chosen
        .flat_map(|(_, group)| group(&ctx))
        .map(|(name, value)| Response::Stat {
            name: Bytes::from(name),
            value: Bytes::from(value),
        })
        .collect();
    out.push(Response::End);
    out
}
