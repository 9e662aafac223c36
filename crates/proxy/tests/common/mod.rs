//! Shared set-up for proxy tests: real memcached downstreams and a proxy
//! listening on a free port, in-process.
#![allow(dead_code)]

pub mod nodes;

use std::net::SocketAddr;
use std::sync::Arc;

use protocol::Limits;
use proxy::topology::{DownstreamProtocol, Placement, Timeouts, Topology};
use proxy::Bucket;
use routing::{Locator, Server};
use runtime::listener::{ConnLimit, Listener};
use runtime::workers::Workers;
pub use testkit::frames::Frame;

/// A running proxy and what it needs to stay up.
pub struct Proxy {
    pub listener: Listener,
    pub shared: Arc<Bucket>,
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
    let mut topo = Topology::new(servers, Placement::Hashed { locator }, protocol);
    topo.timeouts = timeouts;
    topo
}

pub fn start(topology: Topology) -> Proxy {
    start_on(topology, 2)
}

/// A proxy on `workers` worker threads (1: every client shares the
/// per-worker queues).
pub fn start_on(topology: Topology, workers: usize) -> Proxy {
    let workers = Workers::start(workers, "proxy-test").unwrap();
    let shared = Bucket::new(topology, Limits::default());
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let listener =
        proxy::listen(&[addr], 128, workers, ConnLimit::new(1024), shared.clone()).unwrap();
    Proxy { listener, shared }
}

/// A REST gateway listening on a free port, in-process.
pub fn start_gateway(gateway: Arc<proxy::buckets::Gateway>) -> Listener {
    let workers = Workers::start(2, "gateway-test").unwrap();
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    proxy::listen_gateway(&[addr], 128, workers, ConnLimit::new(1024), gateway).unwrap()
}

/// One bucket of a `{"buckets":[...]}` body: `name`, `saslPassword`, and a
/// vBucket map over `addrs` with `map` as masters.
pub fn bucket_json(name: &str, password: &str, addrs: &[SocketAddr], map: &[i32]) -> String {
    let servers: Vec<String> = addrs.iter().map(|a| format!("\"{a}\"")).collect();
    let entries: Vec<String> = map.iter().map(|m| format!("[{m}]")).collect();
    format!(
        r#"{{"name":"{name}","saslPassword":"{password}","nodeLocator":"vbucket","vBucketServerMap":{{"hashAlgorithm":"CRC","numReplicas":0,"serverList":[{}],"vBucketMap":[{}]}}}}"#,
        servers.join(","),
        entries.join(",")
    )
}

/// `{"buckets":[...]}` of the given bucket objects.
pub fn buckets_json(buckets: &[String]) -> String {
    format!(r#"{{"buckets":[{}]}}"#, buckets.join(","))
}

pub fn memcacheds(n: usize) -> Vec<testkit::Memcached> {
    (0..n)
        .map(|_| testkit::Memcached::start(&["-U", "0", "-t", "1", "-m", "64"]).unwrap())
        .collect()
}

/// Every client read and write gives up after this long: a failure must
/// show as a test failure, never as a hung test.
pub const CLIENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A vBucket topology over `addrs` (binary downstream) with `map` (one
/// master per vBucket) and an optional forward map.
pub fn vbucket_topology(addrs: &[SocketAddr], map: &[i32], forward: Option<&[i32]>) -> Topology {
    let names: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
    let entries = |m: &[i32]| m.iter().map(|&s| vec![s]).collect::<Vec<_>>();
    let map = routing::VbucketMap::try_new(names, entries(map), forward.map(entries)).unwrap();
    let placement = Placement::Vbucket {
        map: std::sync::RwLock::new(map),
    };
    let mut topo = Topology::new(servers_of(addrs), placement, DownstreamProtocol::Binary);
    topo.timeouts.downstream = std::time::Duration::from_millis(2000);
    topo
}

/// A key whose vBucket (of `n`) is `vb`, starting the search at `from`.
pub fn key_in_vbucket(prefix: &str, vb: u16, n: u32) -> String {
    (0..)
        .map(|i| format!("{prefix}{i}"))
        .find(|k| routing::vbucket_id(k.as_bytes(), n) == vb)
        .unwrap()
}

/// A topology over `servers` with the given downstream timeout.
pub fn topology_with_timeout(
    servers: Vec<Server>,
    protocol: DownstreamProtocol,
    downstream_ms: u64,
) -> Topology {
    let timeouts = Timeouts {
        connect: std::time::Duration::from_millis(400),
        downstream: std::time::Duration::from_millis(downstream_ms),
        ..Timeouts::default()
    };
    topology(servers, protocol, timeouts)
}

/// A proxy in front of `addrs` (ketama-weighted, moxi's default).
pub fn proxy_for(addrs: &[SocketAddr], protocol: DownstreamProtocol) -> Proxy {
    start(topology(servers_of(addrs), protocol, Timeouts::default()))
}

/// A test client with read and write timeouts.
pub struct Client {
    stream: std::net::TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = std::net::TcpStream::connect_timeout(&addr, CLIENT_TIMEOUT).unwrap();
        stream.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(CLIENT_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        use std::io::Write;
        self.stream.write_all(bytes).unwrap();
    }

    fn fill(&mut self) {
        use std::io::Read;
        let mut chunk = [0u8; 64 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => panic!(
                "connection closed; unread: {}",
                testkit::escape_bytes(&self.buf)
            ),
            Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            Err(e) => panic!(
                "no reply within {CLIENT_TIMEOUT:?} ({e}); unread: {}",
                testkit::escape_bytes(&self.buf)
            ),
        }
    }

    /// Reads exactly `n` bytes.
    pub fn read_n(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            self.fill();
        }
        self.buf.drain(..n).collect()
    }

    /// Reads `want.len()` bytes and asserts they are `want`.
    pub fn expect(&mut self, want: &[u8]) {
        let got = self.read_n(want.len());
        assert_eq!(
            testkit::escape_bytes(&got),
            testkit::escape_bytes(want),
            "reply differs"
        );
    }

    /// Reads one line, with its `\r\n`.
    pub fn read_line(&mut self) -> Vec<u8> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                return self.buf.drain(..=i).collect();
            }
            self.fill();
        }
    }

    /// Reads one binary response frame.
    pub fn read_frame(&mut self) -> Frame {
        let head = self.read_n(24);
        assert_eq!(head[0], 0x81, "response magic");
        let body = u32::from_be_bytes([head[8], head[9], head[10], head[11]]) as usize;
        let mut wire = head;
        wire.extend(self.read_n(body));
        let (f, _) = testkit::frames::parse_response(&wire).expect("well-formed response");
        f.to_frame()
    }

    /// Asserts nothing more arrives within `wait`.
    pub fn expect_silence(&mut self, wait: std::time::Duration) {
        use std::io::Read;
        assert!(
            self.buf.is_empty(),
            "unexpected bytes: {}",
            testkit::escape_bytes(&self.buf)
        );
        self.stream.set_read_timeout(Some(wait)).unwrap();
        let mut chunk = [0u8; 4096];
        let r = self.stream.read(&mut chunk);
        self.stream.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
        if let Ok(n) = r {
            panic!(
                "unexpected {n} bytes: {}",
                testkit::escape_bytes(&chunk[..n])
            );
        }
    }

    /// Half-closes and reads to EOF; returns everything not yet read.
    pub fn finish(mut self) -> Vec<u8> {
        use std::io::Read;
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
        let mut rest = Vec::new();
        self.stream.read_to_end(&mut rest).unwrap();
        let mut all = std::mem::take(&mut self.buf);
        all.extend(rest);
        all
    }
}

/// A binary request frame.
pub fn bin(opcode: u8, key: &[u8], extras: &[u8], value: &[u8], opaque: u32) -> Vec<u8> {
    let mut f = testkit::frames::RequestFrame::new(opcode);
    f.key = key.to_vec();
    f.extras = extras.to_vec();
    f.value = value.to_vec();
    f.opaque = opaque;
    f.to_bytes()
}

/// SET extras: flags then exptime.
pub fn set_extras(flags: u32, exptime: u32) -> Vec<u8> {
    let mut e = flags.to_be_bytes().to_vec();
    e.extend_from_slice(&exptime.to_be_bytes());
    e
}

/// Binary opcodes used by the tests.
pub mod op {
    pub const GET: u8 = 0x00;
    pub const SET: u8 = 0x01;
    pub const DELETE: u8 = 0x04;
    pub const INCR: u8 = 0x05;
    pub const GETQ: u8 = 0x09;
    pub const NOOP: u8 = 0x0a;
    pub const GETK: u8 = 0x0c;
    pub const GETKQ: u8 = 0x0d;
    pub const APPEND: u8 = 0x0e;
    pub const SETQ: u8 = 0x11;
    pub const DELETEQ: u8 = 0x14;
    pub const INCRQ: u8 = 0x15;
    pub const APPENDQ: u8 = 0x19;
    pub const FLUSH: u8 = 0x08;
    pub const ADD: u8 = 0x02;
    pub const REPLACE: u8 = 0x03;
    pub const DECR: u8 = 0x06;
    pub const PREPEND: u8 = 0x0f;
    pub const FLUSHQ: u8 = 0x18;
    pub const VERBOSITY: u8 = 0x1b;
    pub const TOUCH: u8 = 0x1c;
    pub const GAT: u8 = 0x1d;
    pub const GATK: u8 = 0x23;
}

/// Binary statuses used by the tests.
pub mod status {
    pub const OK: u16 = 0x0000;
    pub const NOT_FOUND: u16 = 0x0001;
    pub const EINTERNAL: u16 = 0x0084;
    pub const EBUSY: u16 = 0x0085;
    pub const EINVAL: u16 = 0x0004;
    pub const UNKNOWN_COMMAND: u16 = 0x0081;
}

/// Keys `prefix0, prefix1, ...` such that the i-th lands on server i of
/// `topo` (one key per server, in server order).
pub fn key_per_server(topo: &Topology, prefix: &str) -> Vec<String> {
    let n = topo.servers.len();
    let mut found: Vec<Option<String>> = vec![None; n];
    for i in 0.. {
        let k = format!("{prefix}{i}");
        let s = topo.locate(k.as_bytes()).unwrap().server;
        if found[s].is_none() {
            found[s] = Some(k);
        }
        if found.iter().all(Option::is_some) {
            break;
        }
    }
    found.into_iter().map(Option::unwrap).collect()
}

/// A value of `STAT name N` from a server's `stats`.
pub fn stat(addr: SocketAddr, name: &str) -> u64 {
    let mut c = Client::connect(addr);
    c.send(b"stats\r\n");
    let mut value = None;
    loop {
        let line = c.read_line();
        if line == b"END\r\n" {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        let mut parts = text.split_whitespace();
        if parts.next() == Some("STAT") && parts.next() == Some(name) {
            value = parts.next().map(|v| v.parse().unwrap());
        }
    }
    value.unwrap_or_else(|| panic!("no stat {name}"))
}

/// Every `STAT name value` of one `stats ...` request, in order.
pub fn stats_lines(addr: SocketAddr, command: &str) -> Vec<(String, String)> {
    let mut c = Client::connect(addr);
    c.send(format!("{command}\r\n").as_bytes());
    let mut out = Vec::new();
    loop {
        let line = c.read_line();
        if line == b"END\r\n" {
            return out;
        }
        let text = String::from_utf8_lossy(&line);
        let rest = text
            .strip_prefix("STAT ")
            .unwrap_or_else(|| panic!("not a STAT line: {text:?}"));
        let (name, value) = rest.trim_end_matches("\r\n").split_once(' ').unwrap();
        out.push((name.to_owned(), value.to_owned()));
    }
}

/// moxi's failure line for a request to `server`: `what` is `write to
/// downstream`, `downstream timeout` or `downstream closed`.
pub fn failed(what: &str, server: SocketAddr) -> Vec<u8> {
    format!("SERVER_ERROR proxy {what} {server}\r\n").into_bytes()
}
