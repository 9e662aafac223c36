//! Shared set-up for proxy tests: real memcached downstreams and a proxy
//! listening on a free port, in-process.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use protocol::Limits;
use proxy::topology::{DownstreamProtocol, Placement, Timeouts, Topology};
use proxy::PoolShared;
use routing::{Locator, Server};
use server::listener::{ConnLimit, Listener};
use server::runtime::Workers;

/// A running proxy and what it needs to stay up.
pub struct Proxy {
    pub listener: Listener,
    pub shared: Arc<PoolShared>,
}

impl Proxy {
    pub fn addr(&self) -> SocketAddr {
        self.listener.local_addrs()[0]
    }
}

pub fn servers_of(addrs: &[SocketAddr]) -> Vec<Server> {
    addrs
        .iter()
        .map(|a| Server::new(a.ip().to_string(), a.port(), 0))
        .collect()
}

pub fn topology(
    servers: Vec<Server>,
    protocol: DownstreamProtocol,
    timeouts: Timeouts,
) -> Topology {
    let locator = Locator::moxi_ketama_weighted(&servers).unwrap();
    Topology {
        servers,
        placement: Placement::Hashed { locator },
        protocol,
        timeouts,
        conns_per_server: 2,
    }
}

pub fn start(topology: Topology) -> Proxy {
    let workers = Workers::start(2, "proxy-test").unwrap();
    let shared = PoolShared::new(topology, Limits::default());
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let listener =
        proxy::listen(&[addr], 128, workers, ConnLimit::new(1024), shared.clone()).unwrap();
    Proxy { listener, shared }
}

pub fn memcacheds(n: usize) -> Vec<testkit::Memcached> {
    (0..n)
        .map(|_| testkit::Memcached::start(&["-U", "0", "-t", "1", "-m", "64"]).unwrap())
        .collect()
}
