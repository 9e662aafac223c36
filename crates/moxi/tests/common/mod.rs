//! Shared set-up for tests of the moxi binary: real memcached downstreams,
//! moxi child processes on free ports, and readiness by connect-retry.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use testkit::{ChildServer, Memcached};

pub mod targets;

/// The moxi binary built for this test run.
pub const MOXI: &str = env!("CARGO_BIN_EXE_moxi");

/// `127.0.0.1:port`.
pub fn local(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// `words` as a command line.
pub fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// `n` distinct ports that were free a moment ago.
pub fn free_ports(n: usize) -> Vec<u16> {
    testkit::topology::free_ports(n).unwrap()
}

/// Waits until `addr` accepts connections (connect-retry, no fixed sleep).
pub fn wait_accepting(addr: SocketAddr) {
    testkit::wait_accepting(addr).unwrap();
}

/// `GET path` on an HTTP endpoint (moxi's `--metrics`): status and body.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = out.split_once("\r\n\r\n").unwrap().1.to_string();
    (status, body)
}

/// `n` memcached on free ports (64 MiB, no UDP, one thread).
pub fn memcacheds(n: usize) -> Vec<Memcached> {
    (0..n)
        .map(|_| Memcached::start(&["-U", "0", "-t", "1", "-m", "64"]).unwrap())
        .collect()
}

/// `127.0.0.1:PORT,127.0.0.1:PORT,...` for a `-z` server list.
pub fn server_list(addrs: &[SocketAddr]) -> String {
    addrs
        .iter()
        .map(|a| format!("127.0.0.1:{}", a.port()))
        .collect::<Vec<_>>()
        .join(",")
}

/// moxi started with `args(PORT)` for a free PORT it listens on. Another
/// test's server may take a "free" port before moxi binds it (moxi then
/// exits, or the wait for the port is answered by the other server), so
/// moxi is started until it answers `version` there and holds the port.
pub fn moxi_on_free_port(args: impl Fn(u16) -> Vec<String>) -> (ChildServer, SocketAddr) {
    for _ in 0..3 {
        let port = free_ports(1)[0];
        let addr = local(port);
        if let Ok(mut moxi) = ChildServer::spawn(MOXI, args(port), addr) {
            let own = testkit::topology::answers_as_moxi(addr) && moxi.listens_on(port);
            if own && moxi.is_running() {
                return (moxi, addr);
            }
        }
    }
    panic!("no port for moxi after 3 tries");
}

/// moxi (`-l 127.0.0.1 -t 2`) with `-z cluster(PORT)` (and `-Z behaviors`
/// when not empty) on a free PORT; started again on another port when the
/// first was taken meanwhile (see [`moxi_on_free_port`]).
pub fn moxi_z(cluster: impl Fn(u16) -> String, behaviors: &str) -> (ChildServer, SocketAddr) {
    moxi_on_free_port(|port| {
        let mut args: Vec<String> = ["-l", "127.0.0.1", "-t", "2", "-z", &cluster(port)]
            .map(String::from)
            .to_vec();
        if !behaviors.is_empty() {
            args.extend(["-Z".to_string(), behaviors.to_string()]);
        }
        args
    })
}

/// For each `module => Shape`, a module with the tests `ascii_downstream`
/// and `binary_downstream` calling `run(Shape, "ascii" / "binary")`: the
/// topology matrix of the topology tests.
#[macro_export]
macro_rules! topology_tests {
    ($run:ident: $($module:ident => $shape:ident),* $(,)?) => {
        $(
            mod $module {
                #[test]
                fn ascii_downstream() {
                    super::$run(testkit::topology::Shape::$shape, "ascii");
                }

                #[test]
                fn binary_downstream() {
                    super::$run(testkit::topology::Shape::$shape, "binary");
                }
            }
        )*
    };
}
