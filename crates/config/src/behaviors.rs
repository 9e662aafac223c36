//! `-Z key=value,...`: proxy behaviors (section 3 of moxi-behaviour.md).
//!
//! Items are separated by `,` (and, unlike moxi, also by newlines, so a
//! `-Z ./file` may hold one item per line); whitespace around keys and values
//! is trimmed; keys starting with `#` are comments; empty items are skipped;
//! a later item overrides an earlier one. Unknown keys are warnings. A value
//! that does not fit its key is an error naming both
//! (`config error in key: K value: V`), where moxi logged and went on.
//!
//! Keys must match exactly. moxi compared only a prefix (`downstream` alone
//! meant `downstream_max`, an empty protocol meant `ascii`); that is not
//! reproduced. moxi's fixed buffer sizes (e.g. 80 bytes for `mcs_opts`) are
//! not enforced either.

use std::io;
use std::time::Duration;

use crate::error::{ConfigError, Warning};
use crate::mcs::McsOpts;

/// The protocol spoken to downstream servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DownstreamProtocol {
    /// memcached ascii (a2a).
    Ascii,
    /// memcached binary (a2b, b2b); moxi's default since vBucket support.
    #[default]
    Binary,
}

impl DownstreamProtocol {
    /// The number `stats proxy` prints (moxi's enum values).
    pub fn stat_code(self) -> u32 {
        match self {
            DownstreamProtocol::Ascii => 7,
            DownstreamProtocol::Binary => 8,
        }
    }
}

/// The bucket new clients start in (`default_bucket_name`, section 5.8).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DefaultBucket {
    /// Not set: the first bucket configured (moxi's `[ <FIRST_BUCKET> ]`).
    #[default]
    First,
    /// The bucket of that name if it exists, else the NULL bucket. Any value,
    /// even empty, selects this mode.
    Named(String),
}

/// A `|`-separated list of key prefixes (`front_cache_spec`, `optimize_set`,
/// ...). Empty entries are dropped; an empty spec matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrefixSpec {
    prefixes: Vec<String>,
}

impl PrefixSpec {
    /// Parses `a|b|c`.
    pub fn parse(spec: &str) -> Self {
        let prefixes = spec
            .split('|')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        PrefixSpec { prefixes }
    }

    /// The prefixes, in order.
    pub fn prefixes(&self) -> &[String] {
        &self.prefixes
    }

    /// Whether no prefix is configured.
    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }

    /// Whether `key` starts with one of the prefixes.
    pub fn matches(&self, key: &[u8]) -> bool {
        self.prefixes.iter().any(|p| key.starts_with(p.as_bytes()))
    }
}

/// Every `-Z` behavior, with moxi's defaults (see [`Behaviors::default`]).
/// Durations were milliseconds on the command line; zero means "none".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behaviors {
    /// `cycle`: clock quantum.
    pub cycle: Duration,
    /// `downstream_max` / `concurrency`: concurrent requests per worker and
    /// bucket; 0 = unlimited.
    pub downstream_max: u32,
    /// `downstream_conn_max`: conns per worker per server; 0 = unlimited.
    pub downstream_conn_max: u32,
    /// `downstream_conn_queue_timeout`.
    pub downstream_conn_queue_timeout: Duration,
    /// `downstream_timeout` / `timeout` / `downstream_conn_timeout`.
    pub downstream_timeout: Duration,
    /// `wait_queue_timeout`.
    pub wait_queue_timeout: Duration,
    /// `connect_timeout`.
    pub connect_timeout: Duration,
    /// `auth_timeout`: SASL and bucket-select round trips.
    pub auth_timeout: Duration,
    /// `connect_max_errors`: errors before blacklisting; 0 disables.
    pub connect_max_errors: u32,
    /// `connect_retry_interval`: how long a blacklisted server is skipped.
    pub connect_retry_interval: Duration,
    /// `downstream_retry` / `retry`.
    pub downstream_retry: u32,
    /// `downstream_weight` / `weight`.
    pub downstream_weight: u32,
    /// `downstream_protocol` / `protocol`.
    pub downstream_protocol: DownstreamProtocol,
    /// `time_stats`: any non-zero number turns it on.
    pub time_stats: bool,
    /// `mcs_opts`: key distribution for static server lists.
    pub mcs_opts: McsOpts,
    /// `front_cache_max`: entries per proxy.
    pub front_cache_max: u32,
    /// `front_cache_lifespan`: zero disables the front cache.
    pub front_cache_lifespan: Duration,
    /// `front_cache_spec`.
    pub front_cache_spec: PrefixSpec,
    /// `front_cache_unspec`.
    pub front_cache_unspec: PrefixSpec,
    /// `key_stats_max`: tracked keys per thread.
    pub key_stats_max: u32,
    /// `key_stats_lifespan`: zero disables key stats.
    pub key_stats_lifespan: Duration,
    /// `key_stats_spec`.
    pub key_stats_spec: PrefixSpec,
    /// `key_stats_unspec`.
    pub key_stats_unspec: PrefixSpec,
    /// `optimize_set`: prefixes for fire-and-forget ascii `set`.
    pub optimize_set: PrefixSpec,
    /// `usr`: SASL PLAIN user downstream and HTTP Basic user to REST.
    pub usr: String,
    /// `pwd`: the matching password.
    pub pwd: String,
    /// `host` (server level).
    pub host: String,
    /// `port` (server level); 0 = unset.
    pub port: u16,
    /// `bucket`: select this bucket (opcode 0x2a) after SASL auth.
    pub bucket: String,
    /// `port_listen`: listen port in REST mode.
    pub port_listen: u16,
    /// `default_bucket_name`.
    pub default_bucket_name: DefaultBucket,
    /// `eject_hosts` (ours, after twemproxy's `auto_eject_hosts`): a server
    /// marked down leaves the hash ring until it answers again, so its keys
    /// go to the other servers; off: its requests fail at once (moxi).
    pub eject_hosts: bool,
    /// `downstream_conn_pipeline` (ours): requests in flight per downstream
    /// connection, counted per server and worker (so a server takes at most
    /// `downstream_conn_max` × this at once); 0 = unlimited. moxi sent one
    /// request per connection at a time, which is `1` here.
    pub downstream_conn_pipeline: u32,
}

impl Default for Behaviors {
    /// moxi's `behavior_default_g` with the binary protocol that vBucket
    /// builds switch to, and no environment.
    fn default() -> Self {
        let ms = Duration::from_millis;
        Behaviors {
            cycle: ms(200),
            downstream_max: 1024,
            downstream_conn_max: 4,
            downstream_conn_queue_timeout: ms(200),
            downstream_timeout: ms(5000),
            wait_queue_timeout: ms(200),
            connect_timeout: ms(400),
            auth_timeout: ms(100),
            connect_max_errors: 5,
            connect_retry_interval: ms(30000),
            downstream_retry: 1,
            downstream_weight: 0,
            downstream_protocol: DownstreamProtocol::Binary,
            time_stats: false,
            mcs_opts: McsOpts::default(),
            front_cache_max: 200,
            front_cache_lifespan: Duration::ZERO,
            front_cache_spec: PrefixSpec::default(),
            front_cache_unspec: PrefixSpec::default(),
            key_stats_max: 4000,
            key_stats_lifespan: Duration::ZERO,
            key_stats_spec: PrefixSpec::default(),
            key_stats_unspec: PrefixSpec::default(),
            optimize_set: PrefixSpec::default(),
            usr: String::new(),
            pwd: String::new(),
            host: String::new(),
            port: 0,
            bucket: String::new(),
            port_listen: 11211,
            default_bucket_name: DefaultBucket::First,
            eject_hosts: false,
            downstream_conn_pipeline: 0,
        }
    }
}

/// The environment variables that default `usr` and `pwd`.
pub const ENV_SASL_USR: &str = "MOXI_SASL_PLAIN_USR";
/// See [`ENV_SASL_USR`].
pub const ENV_SASL_PWD: &str = "MOXI_SASL_PLAIN_PWD";

impl Behaviors {
    /// The defaults, with `usr`/`pwd` taken from `MOXI_SASL_PLAIN_USR` /
    /// `MOXI_SASL_PLAIN_PWD` as looked up by `env`.
    pub fn with_env(env: impl Fn(&str) -> Option<String>) -> Self {
        let mut b = Behaviors::default();
        if let Some(usr) = env(ENV_SASL_USR) {
            b.usr = usr;
        }
        if let Some(pwd) = env(ENV_SASL_PWD) {
            b.pwd = pwd;
        }
        b
    }

    /// Applies a `key=value,...` list on top of `self` (moxi's behavior
    /// hierarchy: later levels override earlier ones).
    pub fn apply(&mut self, list: &str) -> Result<Vec<Warning>, ConfigError> {
        let mut warnings = Vec::new();
        for item in list.split([',', '\n', '\r']).map(str::trim) {
            if item.is_empty() || item.starts_with('#') {
                continue;
            }
            let Some((key, value)) = item.split_once('=') else {
                return Err(ConfigError::BehaviorMissingValue(item.to_owned()));
            };
            let (key, value) = (key.trim(), value.trim());
            if key.starts_with('#') {
                continue;
            }
            if !self.set(key, value)? {
                warnings.push(Warning::UnknownBehaviorKey(key.to_owned()));
            }
        }
        Ok(warnings)
    }

    /// Sets one behavior. `Ok(false)` for an unknown key (nothing changed).
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, ConfigError> {
        let bad = || ConfigError::Behavior {
            key: key.to_owned(),
            value: value.to_owned(),
        };
        let num = || value.parse::<u32>().map_err(|_| bad());
        let ms = || num().map(|n| Duration::from_millis(u64::from(n)));
        let port = || value.parse::<u16>().map_err(|_| bad());
        match key {
            "cycle" => self.cycle = ms()?,
            "downstream_max" | "concurrency" => self.downstream_max = num()?,
            "downstream_conn_max" => self.downstream_conn_max = num()?,
            "downstream_conn_queue_timeout" => self.downstream_conn_queue_timeout = ms()?,
            "downstream_timeout" | "timeout" | "downstream_conn_timeout" => {
                self.downstream_timeout = ms()?
            }
            "wait_queue_timeout" => self.wait_queue_timeout = ms()?,
            "connect_timeout" => self.connect_timeout = ms()?,
            "auth_timeout" => self.auth_timeout = ms()?,
            "connect_max_errors" => self.connect_max_errors = num()?,
            "connect_retry_interval" => self.connect_retry_interval = ms()?,
            "downstream_retry" | "retry" => self.downstream_retry = num()?,
            "downstream_weight" | "weight" => self.downstream_weight = num()?,
            "downstream_protocol" | "protocol" => {
                self.downstream_protocol = match value {
                    "ascii" | "memcached-ascii" | "membase-ascii" => DownstreamProtocol::Ascii,
                    "binary" | "memcached-binary" | "membase-binary" => DownstreamProtocol::Binary,
                    _ => return Err(bad()),
                }
            }
            "time_stats" => self.time_stats = num()? != 0,
            "mcs_opts" => self.mcs_opts = McsOpts::parse(value).map_err(|_| bad())?,
            "front_cache_max" => self.front_cache_max = num()?,
            "front_cache_lifespan" => self.front_cache_lifespan = ms()?,
            "front_cache_spec" => self.front_cache_spec = PrefixSpec::parse(value),
            "front_cache_unspec" => self.front_cache_unspec = PrefixSpec::parse(value),
            "key_stats_max" => self.key_stats_max = num()?,
            "key_stats_lifespan" => self.key_stats_lifespan = ms()?,
            "key_stats_spec" => self.key_stats_spec = PrefixSpec::parse(value),
            "key_stats_unspec" => self.key_stats_unspec = PrefixSpec::parse(value),
            "optimize_set" => self.optimize_set = PrefixSpec::parse(value),
            "usr" => self.usr = value.to_owned(),
            "pwd" => self.pwd = value.to_owned(),
            "host" => self.host = value.to_owned(),
            "port" => self.port = port()?,
            "bucket" => self.bucket = value.to_owned(),
            "port_listen" => self.port_listen = port()?,
            "default_bucket_name" => {
                self.default_bucket_name = DefaultBucket::Named(value.to_owned())
            }
            "eject_hosts" => {
                self.eject_hosts = match value {
                    "true" | "1" | "yes" => true,
                    "false" | "0" | "no" => false,
                    _ => return Err(bad()),
                }
            }
            "downstream_conn_pipeline" => self.downstream_conn_pipeline = num()?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// Parses a `-Z` value: a `key=value,...` list, or (when it starts with `.`
/// or `/`) the path of a file holding one, read with `read_file`. Defaults
/// come from [`Behaviors::with_env`]`(env)`. Returns the behaviors and the
/// warnings to log.
pub fn parse_behaviors(
    value: &str,
    read_file: impl Fn(&str) -> io::Result<String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(Behaviors, Vec<Warning>), ConfigError> {
    let trimmed = value.trim();
    let contents;
    let list = if trimmed.starts_with(['.', '/']) {
        contents = read_file(trimmed).map_err(|source| ConfigError::ReadBehaviorFile {
            path: trimmed.to_owned(),
            source,
        })?;
        contents.as_str()
    } else {
        value
    };
    let mut behaviors = Behaviors::with_env(env);
    let warnings = behaviors.apply(list)?;
    Ok((behaviors, warnings))
}
