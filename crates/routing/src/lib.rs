//! Pure key → server routing, bit-exact with the C libraries moxi users
//! migrate from. This crate owns hash functions, ketama continua, modula and
//! vBucket maps. It must not do I/O, parse config files or depend on tokio:
//! callers hand it servers and keys, it hands back indices.
//!
//! Every algorithm is specified in `testdata/vectors/README.md` and proven by
//! the golden vectors beside it (`tests/vectors.rs` loads them all):
//!
//! | constructor | matches | proven by |
//! | --- | --- | --- |
//! | [`HashFn::hash`] | libhashkit (libmemcached 1.1.4), twemproxy `crc32a` | `hashes.json`, `nutcracker.jsonl` |
//! | [`Locator::libmemcached`] | libmemcached 1.1.4 (and 1.0.16) MODULA / KETAMA / KETAMA_WEIGHTED / KETAMA_SPY, any key hash | `libmemcached.jsonl` (96 cases), `libmemcached_continuum.jsonl` |
//! | [`Locator::moxi_ketama_weighted`] | moxi's default for `-z` lists (bundled libmemcached 0.47, KETAMA_WEIGHTED + MD5) | `moxi.jsonl` `moxi/default/*` |
//! | [`Locator::moxi_ketama`] | moxi `-Z mcs_opts=distribution:ketama` (0.x ketama: 100 MD5 points, MD5 keys) | `moxi.jsonl` `moxi/ketama/*`, `ketama+md5/*` |
//! | [`Locator::moxi_modula`] | moxi `-Z mcs_opts=distribution:modula` (one_at_a_time % n) | `moxi.jsonl` `moxi/modula/*` |
//! | [`Locator::twemproxy_ketama`], [`Locator::twemproxy_ketama_named`], [`Locator::twemproxy_modula`], [`HashTag`] | twemproxy / nutcracker 0.5.0 | `nutcracker.jsonl` |
//! | [`Locator::libvbucket_ketama`] | libvbucket 2.1.1r `"nodeLocator": "ketama"` | `libvbucket.jsonl` |
//! | [`vbucket_id`], [`VbucketMap`] | libvbucket 2.x and moxi's copy | `vbucket.json`, `libvbucket.jsonl`, `moxi.jsonl` `moxi/vbucket64/*` |
//!
//! Lookups never allocate; only building a locator does.

mod continuum;
mod error;
mod hash;
mod locator;
mod presets;
mod server;
mod vbucket;

pub use continuum::{
    weighted_point_count, Continuum, KETAMA_POINTS_PER_SERVER, LIBMEMCACHED_POINTS_PER_SERVER,
    LIBVBUCKET_NAMES_PER_SERVER,
};
pub use error::RoutingError;
pub use hash::{murmur3_x86_32, HashFn};
pub use locator::{Distribution, HashTag, Locator};
pub use presets::LibmemcachedDistribution;
pub use server::{Server, DEFAULT_PORT};
pub use vbucket::{vbucket_id, VbucketMap, MAX_REPLICAS, MAX_VBUCKETS};
