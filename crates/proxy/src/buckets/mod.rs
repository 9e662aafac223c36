//! The buckets served on one port in REST mode (moxi's gateway, behaviour
//! inventory 2.4 and 5.8): one pool per bucket of the latest config, all
//! behind `-Z port_listen`. A client starts in the default bucket (the
//! first bucket of the config, or `-Z default_bucket_name`; a name that is
//! not configured means the NULL bucket) and moves with a binary SASL PLAIN
//! naming another bucket's name and `saslPassword`.
//!
//! A config applies live: buckets that stay get their new topology swapped
//! in ([`Bucket::replace_topology`]), new ones are created, and the
//! ones the config no longer names lose their servers (their clients get
//! error replies) but keep their pool, so they come back where they were.
//! Before the first config every request gets moxi's error reply; once a
//! config with no buckets at all is in, new clients are closed (MB-3113).

pub mod watch;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use config::{parse_rest_body, Behaviors, DefaultBucket};
use protocol::Limits;

use crate::topology::build;
use crate::topology::{Topology, Unserved};
use crate::Bucket;

/// One configured bucket.
struct Configured {
    /// `saslPassword`: what a client's SASL PLAIN must present.
    password: String,
    pool: Arc<Bucket>,
}

#[derive(Default)]
struct State {
    /// Every bucket ever configured, by name.
    buckets: HashMap<String, Configured>,
    /// The buckets of the latest config, in its order.
    current: Vec<String>,
    /// Where new clients start; `None`: close them.
    default: Option<Arc<Bucket>>,
}

/// The buckets of one listening port.
pub struct Gateway {
    state: RwLock<State>,
    default_bucket: DefaultBucket,
    /// Pool of clients in the NULL bucket.
    null: Arc<Bucket>,
    /// Pool of clients before any config.
    unconfigured: Arc<Bucket>,
    limits: Limits,
    affinity: AtomicUsize,
    /// Configs applied so far (moxi's `config_ver`).
    version: AtomicU64,
    /// The listening port, for `stats proxy` names (0 until listening).
    port: AtomicU16,
}

/// What a config did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Buckets configured, in order.
    pub buckets: Vec<String>,
    /// Buckets of the config that were refused, with why.
    pub refused: Vec<(String, String)>,
    /// Buckets no longer configured.
    pub removed: Vec<String>,
}

/// Why a whole config was refused; the old one stays.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// Not JSON, or a single bucket that is not a valid config.
    #[error("{0}")]
    Invalid(#[from] config::VbucketError),
    /// Every bucket of the config was refused.
    #[error("no usable bucket: {0:?}")]
    NoUsableBucket(Vec<(String, String)>),
}

impl Gateway {
    /// A gateway with no config yet.
    pub fn new(default_bucket: DefaultBucket, limits: Limits) -> Arc<Gateway> {
        let unconfigured = Bucket::new(Topology::empty(Unserved::Unconfigured), limits);
        Arc::new(Gateway {
            state: RwLock::new(State {
                default: Some(unconfigured.clone()),
                ..State::default()
            }),
            default_bucket,
            null: Bucket::new(Topology::empty(Unserved::NullBucket), limits),
            unconfigured,
            limits,
            affinity: AtomicUsize::new(0),
            version: AtomicU64::new(0),
            port: AtomicU16::new(0),
        })
    }

    /// Records the port the buckets are served on; `stats proxy` names
    /// each bucket's pool `<port>:<bucket>`.
    pub fn set_port(&self, port: u16) {
        self.port.store(port, Ordering::Relaxed);
        for (name, bucket) in &self.read().buckets {
            bucket.pool.set_label(port, name);
        }
    }

    /// Client-side decoder limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub(crate) fn next_affinity(&self) -> usize {
        self.affinity.fetch_add(1, Ordering::Relaxed)
    }

    /// Where a new client starts; `None` when it must be closed (a config
    /// with no buckets, MB-3113).
    pub fn admit(&self) -> Option<Arc<Bucket>> {
        self.read().default.clone()
    }

    /// The pool a client that has not authenticated uses now.
    pub fn default_pool(&self) -> Arc<Bucket> {
        self.admit().unwrap_or_else(|| self.unconfigured.clone())
    }

    /// The bucket named `user` if `password` is its `saslPassword`.
    pub fn authenticate(&self, user: &[u8], password: &[u8]) -> Option<Arc<Bucket>> {
        let state = self.read();
        let name = std::str::from_utf8(user).ok().filter(|n| !n.is_empty())?;
        let bucket = state.buckets.get(name)?;
        (bucket.password.as_bytes() == password).then(|| bucket.pool.clone())
    }

    /// The pool of bucket `name`, if it was ever configured.
    pub fn bucket(&self, name: &str) -> Option<Arc<Bucket>> {
        self.read().buckets.get(name).map(|b| b.pool.clone())
    }

    /// How many configs were applied (moxi's `config_ver`); refused ones do
    /// not count.
    pub fn config_version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }

    /// The bucket names of the latest config, in order.
    pub fn bucket_names(&self) -> Vec<String> {
        self.read().current.clone()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Parses a REST body and applies it (see the module docs).
    pub fn apply_body(&self, body: &[u8], b: &Behaviors) -> Result<Applied, ApplyError> {
        let main = crate::stats::proxy::main_stats();
        main.stat_configs.fetch_add(1, Ordering::Relaxed);
        let applied = self.apply_body_inner(body, b);
        if applied.is_err() {
            main.stat_config_fails.fetch_add(1, Ordering::Relaxed);
        }
        applied
    }

    fn apply_body_inner(&self, body: &[u8], b: &Behaviors) -> Result<Applied, ApplyError> {
        let update = parse_rest_body(body)?;
        let mut refused: Vec<(String, String)> = update
            .rejected
            .iter()
            .map(|(n, e)| (n.clone(), e.to_string()))
            .collect();
        let mut built = Vec::new();
        for cfg in &update.buckets {
            match build::bucket(cfg, b) {
                Ok(topo) => built.push((cfg.name.clone(), cfg.sasl_password.clone(), topo)),
                Err(e) => refused.push((cfg.name.clone(), e.to_string())),
            }
        }
        if built.is_empty() && !refused.is_empty() {
            return Err(ApplyError::NoUsableBucket(refused));
        }
        let mut applied = self.apply(built);
        applied.refused = refused;
        Ok(applied)
    }

    /// Applies buckets (name, SASL password, topology), in order.
    pub fn apply(&self, buckets: Vec<(String, String, Topology)>) -> Applied {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        let mut applied = Applied::default();
        let main = crate::stats::proxy::main_stats();
        let port = self.port.load(Ordering::Relaxed);
        for (name, password, topo) in buckets {
            match state.buckets.get_mut(&name) {
                Some(bucket) => {
                    main.stat_proxy_existings.fetch_add(1, Ordering::Relaxed);
                    bucket.password = password;
                    bucket.pool.replace_topology(topo);
                }
                None => {
                    main.stat_proxy_starts.fetch_add(1, Ordering::Relaxed);
                    let pool = Bucket::new(topo, self.limits);
                    if port != 0 {
                        pool.set_label(port, &name);
                    }
                    state
                        .buckets
                        .insert(name.clone(), Configured { password, pool });
                }
            }
            applied.buckets.push(name);
        }
        for (name, bucket) in &state.buckets {
            let gone = !applied.buckets.contains(name);
            if gone && state.current.contains(name) {
                main.stat_proxy_shutdowns.fetch_add(1, Ordering::Relaxed);
                bucket
                    .pool
                    .replace_topology(Topology::empty(Unserved::Unconfigured));
                applied.removed.push(name.clone());
            }
        }
        state.current = applied.buckets.clone();
        state.default = self.default_of(&state);
        self.version.fetch_add(1, Ordering::SeqCst);
        crate::stats::metrics::bump_config_version();
        applied
    }

    fn default_of(&self, state: &State) -> Option<Arc<Bucket>> {
        if state.current.is_empty() {
            return None;
        }
        let pool_of = |n: &String| state.buckets.get(n).map(|b| b.pool.clone());
        match &self.default_bucket {
            DefaultBucket::First => state.current.first().and_then(pool_of),
            DefaultBucket::Named(name) => match state.current.contains(name) {
                true => pool_of(name),
                false => Some(self.null.clone()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(buckets: &[(&str, &str, u16)]) -> String {
        let list: Vec<String> = buckets
            .iter()
            .map(|(name, pwd, port)| {
                format!(
                    r#"{{"name":"{name}","saslPassword":"{pwd}","vBucketServerMap":{{"numReplicas":0,"serverList":["127.0.0.1:{port}"],"vBucketMap":[[0]]}}}}"#
                )
            })
            .collect();
        format!(r#"{{"buckets":[{}]}}"#, list.join(","))
    }

    fn port_of(pool: &Bucket) -> Option<u16> {
        pool.topology().servers.first().map(|s| s.port)
    }

    #[test]
    fn buckets_come_and_go() {
        let g = Gateway::new(DefaultBucket::First, Limits::default());
        let b = Behaviors::default();
        assert_eq!(
            g.default_pool().topology().unserved(),
            Some(Unserved::Unconfigured)
        );
        let a = g.apply_body(body(&[("default", "", 1), ("b1", "pw", 2)]).as_bytes(), &b);
        assert_eq!(a.unwrap().buckets, ["default", "b1"]);
        assert_eq!(port_of(&g.default_pool()), Some(1));
        let b1 = g.authenticate(b"b1", b"pw").unwrap();
        assert!(g.authenticate(b"b1", b"bad").is_none());
        assert!(g.authenticate(b"", b"").is_none());
        assert!(g.authenticate(b"default", b"").is_some());
        let a = g
            .apply_body(body(&[("b1", "pw", 3)]).as_bytes(), &b)
            .unwrap();
        assert_eq!(a.removed, ["default"]);
        assert_eq!(port_of(&b1), Some(3), "same pool, new topology");
        assert_eq!(
            port_of(&g.default_pool()),
            Some(3),
            "first bucket is b1 now"
        );
        g.apply_body(br#"{"buckets":[]}"#, &b).unwrap();
        assert!(
            g.admit().is_none(),
            "MB-3113: no buckets, new clients closed"
        );
        assert_eq!(b1.topology().unserved(), Some(Unserved::Unconfigured));
    }

    #[test]
    fn bucket_pools_are_named_for_stats_proxy() {
        let g = Gateway::new(DefaultBucket::First, Limits::default());
        let b = Behaviors::default();
        g.apply_body(body(&[("early", "", 1)]).as_bytes(), &b)
            .unwrap();
        g.set_port(4321);
        g.apply_body(body(&[("early", "", 1), ("late", "", 2)]).as_bytes(), &b)
            .unwrap();
        let label = |n: &str| g.bucket(n).unwrap().label();
        assert_eq!(label("early"), Some((4321, "early".to_owned())));
        assert_eq!(label("late"), Some((4321, "late".to_owned())));
        assert!(g
            .bucket("late")
            .unwrap()
            .topology()
            .config
            .contains("\"late\""));
    }

    #[test]
    fn bad_configs_leave_the_old_one() {
        let g = Gateway::new(DefaultBucket::Named("x".into()), Limits::default());
        let b = Behaviors::default();
        g.apply_body(body(&[("default", "", 1)]).as_bytes(), &b)
            .unwrap();
        assert_eq!(
            g.default_pool().topology().unserved(),
            Some(Unserved::NullBucket)
        );
        assert!(g.apply_body(b"{not json", &b).is_err());
        let bad = br#"{"buckets":[{"name":"y","vBucketServerMap":{"numReplicas":0,"serverList":[],"vBucketMap":[[0]]}}]}"#;
        assert!(matches!(
            g.apply_body(bad, &b),
            Err(ApplyError::NoUsableBucket(_))
        ));
        assert_eq!(g.bucket_names(), ["default"]);
    }
}
