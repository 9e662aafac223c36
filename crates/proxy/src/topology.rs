//! The immutable snapshot a request is routed with: the servers of a pool,
//! how keys map onto them, and the downstream protocol.
//!
//! A reload builds a new `Topology` and swaps the `Arc`; requests in flight
//! keep the one they started with.

use std::time::Duration;

use routing::{Locator, Server};

/// Which protocol moxi speaks to the servers (`-Z downstream_protocol`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DownstreamProtocol {
    /// memcached ascii (text).
    Ascii,
    /// memcached binary (moxi's default).
    Binary,
}

/// How a pool places keys.
#[derive(Debug)]
pub enum Placement {
    /// Consistent hashing or modula over a server list (libmemcached or
    /// twemproxy compatible). `misses_on_error`: a failed server's keys look
    /// like misses to get-type commands, as moxi does for such pools.
    Hashed {
        /// Key → server index.
        locator: Locator,
    },
}

/// Timeouts and limits that shape forwarding (a subset of moxi's `-Z`).
#[derive(Clone, Debug)]
pub struct Timeouts {
    /// `connect_timeout` (default 400 ms).
    pub connect: Duration,
    /// `downstream_timeout` (default 5000 ms); zero disables it.
    pub downstream: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_millis(400),
            downstream: Duration::from_millis(5000),
        }
    }
}

/// One pool's snapshot.
#[derive(Debug)]
pub struct Topology {
    /// Servers in configuration order; placement indexes into this.
    pub servers: Vec<Server>,
    /// Key placement.
    pub placement: Placement,
    /// Downstream protocol.
    pub protocol: DownstreamProtocol,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Downstream connections per server per worker.
    pub conns_per_server: usize,
}

impl Topology {
    /// The server index for `key`.
    pub fn locate(&self, key: &[u8]) -> usize {
        match &self.placement {
            Placement::Hashed { locator } => locator.locate(key),
        }
    }

    /// `host:port` of server `i`, the identity of its connections.
    pub fn address(&self, i: usize) -> String {
        let s = &self.servers[i];
        format!("{}:{}", s.host, s.port)
    }

    /// The host part, as moxi prints it in error replies.
    pub fn host(&self, i: usize) -> &str {
        &self.servers[i].host
    }
}
