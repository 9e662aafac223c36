//! The two shapes the flood and malformed-input tests run against: the
//! embedded server (`moxi -p`) and the proxy (`moxi -z` in front of a real
//! memcached), each with its `--metrics` endpoint and one worker thread, so
//! that every client shares the worker a flooding client is on. Plus what
//! the tests observe from outside: the child's RSS and I/O counters, its
//! metrics, and a small blocking line client.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use testkit::{ChildServer, Memcached};

use super::{free_ports, local, MOXI};

/// How long any single read of a test client may wait.
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// Which moxi.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `moxi -p PORT`: the embedded server.
    Server,
    /// `moxi -z PORT=memcached`: the proxy, binary downstream (the default).
    Proxy,
}

/// A running moxi (and, for the proxy, the memcached behind it).
pub struct Target {
    /// Which moxi this is.
    pub kind: Kind,
    /// Where clients connect.
    pub entry: SocketAddr,
    /// The `--metrics` endpoint.
    pub admin: SocketAddr,
    moxi: ChildServer,
    _memcached: Option<Memcached>,
}

impl Target {
    /// Starts moxi of `kind` on free ports with `-t 1`, `--metrics` and
    /// `extra` arguments; returns once it accepts connections.
    pub fn start(kind: Kind, extra: &[&str]) -> Target {
        // memcached first: ports picked for moxi before it started could
        // be the one it then binds (they are free again once picked).
        let memcached = match kind {
            Kind::Server => None,
            Kind::Proxy => Some(Memcached::start_for_corpus().unwrap()),
        };
        // A port free a moment ago may be taken by a test running beside
        // this one before moxi binds it: moxi then exits, and starts again
        // on other ports.
        let mut failures = Vec::new();
        for _ in 0..3 {
            let ports = free_ports(2);
            let (entry, admin) = (local(ports[0]), local(ports[1]));
            let admin_arg = admin.to_string();
            let mut args: Vec<String> = ["-l", "127.0.0.1", "-t", "1", "--metrics", &admin_arg]
                .map(String::from)
                .to_vec();
            match &memcached {
                None => args.extend(["-p".into(), ports[0].to_string()]),
                Some(mc) => {
                    let z = format!("{}=127.0.0.1:{}", ports[0], mc.addr().port());
                    args.extend(["-z".into(), z]);
                }
            }
            args.extend(extra.iter().map(|a| a.to_string()));
            match ChildServer::spawn(MOXI, &args, entry) {
                // The readiness check may have been answered by a neighbour
                // test's server on the port: it must be this moxi's.
                Ok(moxi) if !moxi.listens_on(ports[0]) => {
                    failures.push(format!("moxi {args:?}: port {} taken", ports[0]));
                }
                Ok(moxi) => {
                    return Target {
                        kind,
                        entry,
                        admin,
                        moxi,
                        _memcached: memcached,
                    }
                }
                Err(e) => failures.push(format!("moxi {args:?}: {e}")),
            }
        }
        panic!("moxi did not start: {failures:#?}");
    }

    /// The moxi process's resident set, in MiB (`VmRSS`).
    pub fn rss_mib(&self) -> f64 {
        let kib = proc_field(&format!("/proc/{}/status", self.moxi.pid()), "VmRSS:");
        kib as f64 / 1024.0
    }

    /// CPU seconds the moxi process has used (user + system, at the
    /// usual 100 ticks a second).
    pub fn cpu_secs(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.moxi.pid())).unwrap();
        // Fields after the `(comm)`, which may contain spaces.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        ticks as f64 / 100.0
    }

    /// The `--metrics` page. The endpoint starts after the client port, so
    /// a refused connection or an answer that is not moxi's page (a
    /// connection to itself while nothing listens) is retried for 10 s.
    pub fn metrics_page(&self) -> String {
        let start = Instant::now();
        loop {
            match fetch_metrics(self.admin) {
                Ok(page) if page.starts_with("HTTP/1.1 200") => return page,
                other => assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "--metrics at {}: {other:?}",
                    self.admin
                ),
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// One sample of the `--metrics` page, by its full name.
    pub fn metric(&self, name: &str) -> f64 {
        let page = self.metrics_page();
        page.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {name} in {page}"))
            .parse()
            .unwrap()
    }

    /// Polls `metric` until it equals `want` (up to 10 s).
    pub fn await_metric(&self, name: &str, want: f64) {
        let start = Instant::now();
        loop {
            let got = self.metric(name);
            if got == want {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{:?}: {name} stays {got}, want {want}",
                self.kind
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The kernel's send and receive queues (bytes) of the IPv4 socket
/// `local` → `remote` of this host, from `/proc/net/tcp`.
pub fn tcp_queues(local: SocketAddr, remote: SocketAddr) -> Option<(u64, u64)> {
    let hex = |a: SocketAddr| match a.ip() {
        std::net::IpAddr::V4(ip) => {
            format!("{:08X}:{:04X}", u32::from_le_bytes(ip.octets()), a.port())
        }
        std::net::IpAddr::V6(_) => unreachable!("the tests listen on 127.0.0.1"),
    };
    let (local, remote) = (hex(local), hex(remote));
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.get(1) != Some(&local.as_str()) || cols.get(2) != Some(&remote.as_str()) {
            return None;
        }
        let (tx, rx) = cols.get(4)?.split_once(':')?;
        Some((
            u64::from_str_radix(tx, 16).ok()?,
            u64::from_str_radix(rx, 16).ok()?,
        ))
    })
}

fn fetch_metrics(addr: SocketAddr) -> std::io::Result<String> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(s, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")?;
    let mut page = String::new();
    s.read_to_string(&mut page)?;
    Ok(page)
}

fn proc_field(path: &str, field: &str) -> u64 {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {path}"))
}

/// A blocking ascii client; every read times out after [`READ_TIMEOUT`].
pub struct Line {
    rd: BufReader<TcpStream>,
}

impl Line {
    /// Connects to `addr`.
    pub fn connect(addr: SocketAddr) -> Line {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Line {
            rd: BufReader::new(stream),
        }
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.try_send(bytes).unwrap();
    }

    /// Sends raw bytes to a server that may close before taking them all.
    pub fn try_send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.rd.get_mut().write_all(bytes)
    }

    /// The next line, without its `\r\n`.
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        self.rd.read_line(&mut line).unwrap();
        assert!(line.ends_with("\r\n"), "unterminated line {line:?}");
        line.truncate(line.len() - 2);
        line
    }

    /// Sends `cmd\r\n` and returns the first reply line.
    pub fn call(&mut self, cmd: &str) -> String {
        self.send(format!("{cmd}\r\n").as_bytes());
        self.line()
    }

    /// `set key 0 0 len` with `value`; returns the reply line.
    pub fn set(&mut self, key: &str, value: &[u8]) -> String {
        let mut req = format!("set {key} 0 0 {}\r\n", value.len()).into_bytes();
        req.extend_from_slice(value);
        req.extend_from_slice(b"\r\n");
        self.send(&req);
        self.line()
    }

    /// `get key`: the value, or `None` on a miss.
    pub fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        let head = self.call(&format!("get {key}"));
        if head == "END" {
            return None;
        }
        let len: usize = head.rsplit(' ').next().unwrap().parse().unwrap();
        let mut data = vec![0; len + 2];
        self.rd.read_exact(&mut data).unwrap();
        assert_eq!(&data[len..], b"\r\n");
        data.truncate(len);
        assert_eq!(self.line(), "END");
        Some(data)
    }

    /// Exactly `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = vec![0; n];
        self.rd.read_exact(&mut out).unwrap();
        out
    }

    /// Everything until the server closes (a reset counts as a close).
    pub fn until_closed(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        match self.rd.read_to_end(&mut out) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) => panic!("waiting for the close: {e} after {out:?}"),
        }
        out
    }

    /// True when nothing arrives and the connection stays open for `wait`.
    pub fn quiet_for(&mut self, wait: Duration) -> bool {
        let stream = self.rd.get_ref();
        stream.set_read_timeout(Some(wait)).unwrap();
        let mut byte = [0u8; 1];
        let quiet = matches!(
            self.rd.read(&mut byte),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
        );
        self.rd
            .get_ref()
            .set_read_timeout(Some(READ_TIMEOUT))
            .unwrap();
        quiet
    }
}
