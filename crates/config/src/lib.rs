//! moxi's configuration as typed data, parsed from strings and bytes. This
//! crate owns the `-z` cluster grammar ([`parse_cluster`]), the `-Z`
//! behaviors ([`parse_behaviors`]), vBucket / ketama JSON
//! ([`VbucketConfig`]), REST stream framing ([`StreamFramer`],
//! [`parse_rest_body`]) and the sans-io HTTP pieces the REST fetcher needs
//! ([`HttpUrl`], [`ResponseHead`], [`ChunkedDecoder`]).
//!
//! It must not do I/O: files are read through an injected function, the
//! environment through another, and no sockets, tokio or clocks appear here.
//! Key → server routing lives in the `routing` crate; this crate only builds
//! its inputs ([`McsOpts::locator`], [`VbucketConfig::map`]).
//!
//! Error texts are moxi's and libvbucket's where they have one, without the
//! `ERROR: ` prefix moxi's log lines carry (callers add their own). The
//! reference is `moxi-behaviour.md` sections 1–3 and 5.8; each module lists
//! where it is stricter than moxi.
//!
//! [`fuzzing`] holds the invariant checks the cargo-fuzz targets in `fuzz/`
//! run; the tests run them too, over `fuzz-corpus/`.

mod behaviors;
mod cluster;
mod error;
pub mod fuzzing;
mod http;
mod ketama;
mod mcs;
mod rest;
mod vbucket;

pub use behaviors::{
    parse_behaviors, Behaviors, DefaultBucket, DownstreamProtocol, PrefixSpec, ENV_SASL_PWD,
    ENV_SASL_USR,
};
pub use cluster::{
    is_positional_cluster_arg, parse_cluster, parse_cluster_text, parse_server_list, Cluster,
    PoolServers, RestConfig, StaticPool,
};
pub use error::{ConfigError, HttpError, StreamError, VbucketError, Warning};
pub use http::{BodyDecoder, BodyFraming, ChunkedDecoder, HttpUrl, ResponseHead, MAX_HEAD_LEN};
pub use mcs::{McsDistribution, McsOpts};
pub use rest::{parse_rest_body, RestUpdate, StreamFramer, DEFAULT_MAX_CONFIG_LEN, DELIMITER};
pub use vbucket::{revision, NodeLocator, VbucketConfig};
