//! A blocking test client over a real socket, plus server start-up helpers.
//!
//! Every read has a timeout, so a server that hangs fails the test instead
//! of hanging it. Binary frames are built and parsed with the testkit's own
//! frame code, never with the codecs under test.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::ManualClock;
use server::settings::Settings;
use server::Server;
pub use testkit::frames::Frame;
use testkit::frames::{parse_response, RequestFrame};

/// How long any single read may wait before the test fails.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the manual clock of clocked servers starts (unix seconds).
pub const T0: u64 = 1_700_000_000;

/// Settings for a test server: port 0 on 127.0.0.1, two workers.
pub fn settings() -> Settings {
    Settings {
        port: 0,
        listen: vec!["127.0.0.1".parse().unwrap()],
        threads: 2,
        ..Settings::default()
    }
}

/// Starts a server with the system clock.
pub fn start(settings: Settings) -> Server {
    Server::start(settings).unwrap()
}

/// Starts a server whose clock only moves when the test advances it.
pub fn start_clocked(settings: Settings) -> (Server, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let server = Server::start_with_clock(settings, clock.clone()).unwrap();
    (server, clock)
}

/// One `VALUE` of a retrieval reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    pub key: String,
    pub flags: u32,
    pub data: Vec<u8>,
    pub cas: Option<u64>,
}

/// A client connection with its own read buffer.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Connects to `addr`.
    pub fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// A second handle on the same socket (for a writer thread).
    pub fn writer(&self) -> TcpStream {
        self.stream.try_clone().unwrap()
    }

    /// Writes all of `bytes`.
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.stream.write_all(bytes.as_ref()).unwrap();
    }

    /// Writes `bytes`, ignoring errors (the server may already have closed).
    pub fn send_lossy(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// Half-closes the sending side.
    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Reads more bytes into the buffer; returns how many (0 at EOF).
    /// A read that times out fails the test.
    fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return n;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    panic!(
                        "no reply within {READ_TIMEOUT:?}; unconsumed: {:?}",
                        String::from_utf8_lossy(&self.buf)
                    )
                }
                // A reset is how a closing server may end the stream.
                Err(_) => return 0,
            }
        }
    }

    /// Exactly `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            assert!(self.fill() > 0, "EOF after {} of {n} bytes", self.buf.len());
        }
        self.buf.drain(..n).collect()
    }

    /// One line without its `\r\n`.
    pub fn line(&mut self) -> String {
        let mut scanned = 0;
        loop {
            if let Some(i) = self.buf[scanned..].windows(2).position(|w| w == b"\r\n") {
                let end = scanned + i;
                let line = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                self.buf.drain(..end + 2);
                return line;
            }
            scanned = self.buf.len().saturating_sub(1);
            assert!(
                self.fill() > 0,
                "EOF before a line end; got {:?}",
                String::from_utf8_lossy(&self.buf)
            );
        }
    }

    /// Sends one command line and returns the reply line.
    pub fn call(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n"));
        self.line()
    }

    /// Sends a storage command with its data block; returns the reply line.
    pub fn store(&mut self, line: &str, data: &[u8]) -> String {
        let mut req = format!("{line}\r\n").into_bytes();
        req.extend_from_slice(data);
        req.extend_from_slice(b"\r\n");
        self.send(req);
        self.line()
    }

    /// `set key 0 exptime len` with `data`.
    pub fn set(&mut self, key: &str, exptime: i64, data: &[u8]) -> String {
        self.store(&format!("set {key} 0 {exptime} {}", data.len()), data)
    }

    /// Reads `VALUE` blocks up to `END`.
    pub fn values(&mut self) -> Vec<Hit> {
        let mut hits = Vec::new();
        loop {
            let line = self.line();
            if line == "END" {
                return hits;
            }
            let f: Vec<&str> = line.split(' ').collect();
            assert!(
                f.len() >= 4 && f[0] == "VALUE",
                "not a VALUE line: {line:?}"
            );
            let len: usize = f[3].parse().unwrap();
            let data = self.bytes(len + 2);
            assert_eq!(
                &data[len..],
                b"\r\n",
                "data block of {line:?} not ended by CRLF"
            );
            hits.push(Hit {
                key: f[1].to_owned(),
                flags: f[2].parse().unwrap(),
                data: data[..len].to_vec(),
                cas: f.get(4).map(|c| c.parse().unwrap()),
            });
        }
    }

    /// `get`/`gets`/`gat`/`gats` line; returns the hits.
    pub fn retrieve(&mut self, line: &str) -> Vec<Hit> {
        self.send(format!("{line}\r\n"));
        self.values()
    }

    /// The value of one key, if it is there.
    pub fn value(&mut self, key: &str) -> Option<Vec<u8>> {
        let mut hits = self.retrieve(&format!("get {key}"));
        assert!(hits.len() <= 1, "one key, several values: {hits:?}");
        hits.pop().map(|h| h.data)
    }

    /// `stats [group]` as (name, value) pairs in order.
    pub fn stats(&mut self, group: &str) -> Vec<(String, String)> {
        let line = if group.is_empty() {
            "stats\r\n".to_owned()
        } else {
            format!("stats {group}\r\n")
        };
        self.send(line);
        let mut out = Vec::new();
        loop {
            let line = self.line();
            if line == "END" {
                return out;
            }
            let rest = line.strip_prefix("STAT ").expect("a STAT line");
            let (name, value) = rest.split_once(' ').expect("STAT name value");
            out.push((name.to_owned(), value.to_owned()));
        }
    }

    /// One general stat as a number.
    pub fn stat(&mut self, name: &str) -> u64 {
        let all = self.stats("");
        let (_, v) = all
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no stat {name}"));
        v.parse().unwrap()
    }

    /// One binary response frame.
    pub fn frame(&mut self) -> Frame {
        loop {
            if let Some((f, used)) = parse_response(&self.buf) {
                let frame = f.to_frame();
                self.buf.drain(..used);
                return frame;
            }
            if self.buf.len() >= 24 {
                assert_eq!(self.buf[0], 0x81, "not a binary response: {:?}", self.buf);
            }
            assert!(self.fill() > 0, "EOF inside a binary frame: {:?}", self.buf);
        }
    }

    /// Sends one binary request and reads one response.
    pub fn request(&mut self, req: &RequestFrame) -> Frame {
        self.send(req.to_bytes());
        self.frame()
    }

    /// Reads until the server closes; returns every byte that came first.
    /// Fails the test if the connection stays open past the read timeout.
    pub fn until_closed(&mut self) -> Vec<u8> {
        let started = Instant::now();
        while self.fill() > 0 {
            assert!(started.elapsed() < READ_TIMEOUT * 2, "server never closed");
        }
        std::mem::take(&mut self.buf)
    }
}

/// Binary opcodes the tests use (protocol_binary.h).
pub mod op {
    pub const GET: u8 = 0x00;
    pub const SET: u8 = 0x01;
    pub const ADD: u8 = 0x02;
    pub const INCR: u8 = 0x05;
    pub const DECR: u8 = 0x06;
    pub const GETQ: u8 = 0x09;
    pub const NOOP: u8 = 0x0a;
    pub const VERSION: u8 = 0x0b;
    pub const GETK: u8 = 0x0c;
    pub const SETQ: u8 = 0x11;
    pub const ADDQ: u8 = 0x12;
    pub const REPLACEQ: u8 = 0x13;
    pub const DELETEQ: u8 = 0x14;
    pub const INCRQ: u8 = 0x15;
}

/// Binary statuses the tests check.
pub mod status {
    pub const OK: u16 = 0x00;
    pub const NOT_FOUND: u16 = 0x01;
    pub const EXISTS: u16 = 0x02;
    pub const NON_NUMERIC: u16 = 0x06;
}

/// A binary request with key, extras and value.
pub fn bin(opcode: u8, key: &[u8], extras: &[u8], value: &[u8], opaque: u32) -> RequestFrame {
    RequestFrame {
        opcode,
        key: key.to_vec(),
        extras: extras.to_vec(),
        value: value.to_vec(),
        opaque,
        ..RequestFrame::default()
    }
}

/// Extras of a binary set/add/replace: flags, exptime.
pub fn store_extras(flags: u32, exptime: u32) -> Vec<u8> {
    let mut e = flags.to_be_bytes().to_vec();
    e.extend_from_slice(&exptime.to_be_bytes());
    e
}

/// Extras of a binary incr/decr: delta, initial, exptime.
pub fn arith_extras(delta: u64, initial: u64, exptime: u32) -> Vec<u8> {
    let mut e = delta.to_be_bytes().to_vec();
    e.extend_from_slice(&initial.to_be_bytes());
    e.extend_from_slice(&exptime.to_be_bytes());
    e
}

/// Polls `check` until it holds, for at most `READ_TIMEOUT`.
pub fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < READ_TIMEOUT, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}
