//! moxi's test topologies (`t/moxi.pl`: simple, chain, fanout, fanoutin),
//! built from a moxi binary and real memcached on free ports.
//!
//! [`Shape::cluster`] writes the `-z` string (pure, so the shapes can be
//! reused with memcached started elsewhere, as the soak does);
//! [`spawn_moxi`] starts one moxi process serving every pool of a cluster;
//! [`Topology::start`] does both with fresh memcached.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;

use crate::{wait_accepting, ChildServer, Memcached};

/// How client, moxi pools and memcached are wired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// client → moxi → memcached
    Simple,
    /// client → moxi → moxi → moxi → memcached (three pools of one process)
    Chain,
    /// client → moxi → four memcached
    Fanout,
    /// client → moxi → four moxi → one moxi → memcached
    Fanoutin,
}

impl Shape {
    /// Every shape, in a fixed order.
    pub const ALL: [Shape; 4] = [Shape::Simple, Shape::Chain, Shape::Fanout, Shape::Fanoutin];

    /// How many memcached the shape needs.
    pub fn memcacheds(self) -> usize {
        match self {
            Shape::Fanout => 4,
            _ => 1,
        }
    }

    /// How many moxi listening ports (pools) the shape needs; the first is
    /// the entry clients talk to.
    pub fn pools(self) -> usize {
        match self {
            Shape::Simple | Shape::Fanout => 1,
            Shape::Chain => 3,
            Shape::Fanoutin => 6,
        }
    }

    /// The `-z` cluster string wiring `ports` (from [`Shape::pools`]) to
    /// `memcached` ports (from [`Shape::memcacheds`]).
    pub fn cluster(self, ports: &[u16], memcached: &[u16]) -> String {
        match self {
            Shape::Simple => pool(ports[0], &memcached[..1]),
            Shape::Fanout => pool(ports[0], memcached),
            Shape::Chain => [
                pool(ports[0], &ports[1..2]),
                pool(ports[1], &ports[2..3]),
                pool(ports[2], &memcached[..1]),
            ]
            .join(";"),
            Shape::Fanoutin => {
                let mut pools = vec![pool(ports[0], &ports[1..5])];
                pools.extend((1..5).map(|i| pool(ports[i], &ports[5..6])));
                pools.push(pool(ports[5], &memcached[..1]));
                pools.join(";")
            }
        }
    }
}

impl std::str::FromStr for Shape {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "simple" => Ok(Shape::Simple),
            "chain" => Ok(Shape::Chain),
            "fanout" => Ok(Shape::Fanout),
            "fanoutin" => Ok(Shape::Fanoutin),
            _ => Err(format!(
                "unknown topology {s:?} (simple, chain, fanout, fanoutin)"
            )),
        }
    }
}

/// `PORT=127.0.0.1:T1,127.0.0.1:T2,...`: one pool of a `-z` string.
fn pool(port: u16, targets: &[u16]) -> String {
    let list: Vec<String> = targets.iter().map(|t| format!("127.0.0.1:{t}")).collect();
    format!("{port}={}", list.join(","))
}

/// `n` distinct ports on 127.0.0.1 that were free a moment ago.
pub fn free_ports(n: usize) -> io::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

/// `127.0.0.1:port`.
pub fn local(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Starts `moxi -l 127.0.0.1 -t 2 -z cluster [-Z behaviors] extra...` and
/// returns once every port in `ports` accepts connections (the first is
/// the one [`ChildServer::addr`] reports).
pub fn spawn_moxi(
    moxi: &Path,
    cluster: &str,
    behaviors: &str,
    ports: &[u16],
    extra: &[&str],
) -> io::Result<ChildServer> {
    let first = ports
        .first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no moxi port"))?;
    let mut args = vec!["-l", "127.0.0.1", "-t", "2", "-z", cluster];
    if !behaviors.is_empty() {
        args.extend(["-Z", behaviors]);
    }
    args.extend(extra);
    let child = ChildServer::spawn(moxi, &args, local(*first))
        .map_err(|e| io::Error::new(e.kind(), format!("moxi {args:?}: {e}")))?;
    for &p in &ports[1..] {
        wait_accepting(local(p))?;
    }
    Ok(child)
}

/// How to start a topology's processes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options<'a> {
    /// moxi's `-Z` behaviors (empty: none).
    pub behaviors: &'a str,
    /// More moxi arguments (e.g. `-c 4096`).
    pub moxi_args: &'a [&'a str],
    /// memcached's arguments (besides `-l` and `-p`).
    pub memcached_args: &'a [&'a str],
}

/// A running topology: where clients connect, and what keeps it alive.
#[derive(Debug)]
pub struct Topology {
    /// The entry pool's address.
    pub entry: SocketAddr,
    /// The moxi process (every pool of the shape).
    pub moxi: ChildServer,
    /// The memcached behind it.
    pub memcached: Vec<Memcached>,
}

impl Topology {
    /// Builds `shape` from the moxi binary at `moxi`, with fresh memcached.
    pub fn start(moxi: &Path, shape: Shape, opts: Options<'_>) -> io::Result<Topology> {
        let memcached = (0..shape.memcacheds())
            .map(|_| Memcached::start(opts.memcached_args))
            .collect::<io::Result<Vec<_>>>()?;
        let mc_ports: Vec<u16> = memcached.iter().map(|m| m.addr().port()).collect();
        // A port free a moment ago may be taken (by a server of a test
        // running beside this one) before moxi binds it; moxi then exits,
        // or the readiness check is answered by the other server. So
        // every port must answer `version` as moxi, or it starts again.
        let mut last = None;
        for _ in 0..3 {
            let ports = free_ports(shape.pools())?;
            let cluster = shape.cluster(&ports, &mc_ports);
            match spawn_moxi(moxi, &cluster, opts.behaviors, &ports, opts.moxi_args) {
                Ok(mut child) => {
                    // Each port must be this moxi's own (a neighbour test's
                    // moxi answers `version` alike).
                    let all_moxi = ports
                        .iter()
                        .all(|&p| answers_as_moxi(local(p)) && child.listens_on(p));
                    if all_moxi && child.is_running() {
                        return Ok(Topology {
                            entry: local(ports[0]),
                            moxi: child,
                            memcached,
                        });
                    }
                    last = Some(io::Error::other("moxi's ports were taken"));
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("moxi did not start")))
    }
}

/// Whether the server at `addr` answers `version` as moxi.
pub fn answers_as_moxi(addr: SocketAddr) -> bool {
    use std::io::{BufRead, BufReader, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    let mut line = String::new();
    s.write_all(b"version\r\n").is_ok()
        && BufReader::new(s).read_line(&mut line).is_ok()
        && line.starts_with("VERSION ")
        && line.contains("moxi")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clusters_wire_pools_to_servers() {
        assert_eq!(Shape::Simple.cluster(&[1], &[9]), "1=127.0.0.1:9", "simple");
        assert_eq!(
            Shape::Chain.cluster(&[1, 2, 3], &[9]),
            "1=127.0.0.1:2;2=127.0.0.1:3;3=127.0.0.1:9"
        );
        assert_eq!(
            Shape::Fanout.cluster(&[1], &[6, 7, 8, 9]),
            "1=127.0.0.1:6,127.0.0.1:7,127.0.0.1:8,127.0.0.1:9"
        );
        let fanoutin = Shape::Fanoutin.cluster(&[1, 2, 3, 4, 5, 6], &[9]);
        assert!(fanoutin.starts_with("1=127.0.0.1:2,127.0.0.1:3,127.0.0.1:4,127.0.0.1:5;"));
        assert!(fanoutin.ends_with(";5=127.0.0.1:6;6=127.0.0.1:9"));
        for s in Shape::ALL {
            assert_eq!(s.pools() >= 1, s.memcacheds() >= 1);
        }
        assert_eq!("chain".parse::<Shape>(), Ok(Shape::Chain));
        assert!("ring".parse::<Shape>().is_err());
    }
}
