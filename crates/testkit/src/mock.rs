//! A scripted downstream for proxy tests: a fake memcached that does what a
//! real one cannot be made to do (stall, close mid-reply, dribble a reply
//! byte by byte, answer garbage) and records every byte it receives.
//!
//! [`MockServer::start`] binds 127.0.0.1:0 and runs `script` on its own
//! thread for every accepted connection, with a [`MockConn`] to read
//! requests from and write replies to. Requests are parsed by this module
//! (ascii lines with their data blocks, binary frames), not by the codecs
//! under test. Dropping the server shuts every connection down, so a script
//! blocked in a read returns.
//!
//! ```no_run
//! use testkit::mock::{MockServer, Received};
//! // Answers every ascii request with STORED, and closes on EOF.
//! let mock = MockServer::start(|conn| {
//!     while let Some(Received::Ascii { .. }) = conn.read_request() {
//!         conn.send(b"STORED\r\n");
//!     }
//! })
//! .expect("mock");
//! let _ = mock.addr();
//! ```

use std::io;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod conn;
mod replies;

pub use conn::{BinaryRequest, MockConn, Received};
pub use replies::{binary_reply, empty_cache_ascii_reply, empty_cache_binary_reply};

/// How long a session read waits before the session gives up (a test that
/// forgot to send would otherwise leave a thread behind for ever).
pub const SESSION_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// What a script does with one connection.
type Script = dyn Fn(&mut MockConn) + Send + Sync;

/// A fake downstream listening on 127.0.0.1 and a kernel-chosen port.
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    /// Bytes received, per session, in accept order.
    logs: Mutex<Vec<Arc<Mutex<Vec<u8>>>>>,
    /// A clone of every session's socket, to shut them down on drop
    /// (taken out by [`MockConn::reset`], whose RST needs every handle
    /// closed).
    streams: Mutex<Vec<conn::SharedStream>>,
}

impl MockServer {
    /// Starts listening; `script` runs on a new thread for each connection.
    pub fn start(script: impl Fn(&mut MockConn) + Send + Sync + 'static) -> io::Result<MockServer> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let script: Arc<Script> = Arc::new(script);
        let accept_shared = shared.clone();
        let accept = std::thread::Builder::new()
            .name("mock-accept".into())
            .spawn(move || accept_loop(listener, accept_shared, script))?;
        Ok(MockServer {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// A mock that accepts connections, reads (and records) everything, and
    /// never answers.
    pub fn stalling() -> io::Result<MockServer> {
        MockServer::start(|conn| conn.stall())
    }

    /// The address to point the proxy at.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connections were accepted so far.
    pub fn sessions(&self) -> usize {
        lock(&self.shared.logs).len()
    }

    /// The bytes received on each connection so far, in accept order.
    pub fn received(&self) -> Vec<Vec<u8>> {
        lock(&self.shared.logs)
            .iter()
            .map(|log| lock(log).clone())
            .collect()
    }

    /// Every byte received so far, all connections concatenated.
    pub fn received_all(&self) -> Vec<u8> {
        self.received().concat()
    }

    /// Waits (polling, up to `timeout`) until `done(received_all())` holds;
    /// returns whether it did.
    pub fn wait_for(&self, timeout: Duration, done: impl Fn(&[u8]) -> bool) -> bool {
        let start = Instant::now();
        loop {
            if done(&self.received_all()) {
                return true;
            }
            if start.elapsed() >= timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for slot in lock(&self.shared.streams).iter() {
            if let Some(s) = lock(slot).as_ref() {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        // Wakes the accept loop so it sees `stop`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>, script: Arc<Script>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(SESSION_READ_TIMEOUT));
        let slot: conn::SharedStream = Arc::new(Mutex::new(stream.try_clone().ok()));
        lock(&shared.streams).push(slot.clone());
        let log = Arc::new(Mutex::new(Vec::new()));
        let session = {
            let mut logs = lock(&shared.logs);
            logs.push(log.clone());
            logs.len() - 1
        };
        let mut conn = MockConn::new(stream, slot, log, session);
        let script = script.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("mock-session-{session}"))
            .spawn(move || script(&mut conn));
        // A session thread that cannot start is a dropped connection.
        drop(spawned);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::{RequestFrame, HEADER_LEN};
    use std::io::{Read, Write};

    fn connect(mock: &MockServer) -> TcpStream {
        let s = TcpStream::connect(mock.addr()).expect("connect to mock");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("read timeout");
        s
    }

    fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
        let mut out = vec![0u8; n];
        s.read_exact(&mut out).expect("reply");
        out
    }

    #[test]
    fn parses_ascii_requests_with_data_blocks() {
        let mock = MockServer::start(|conn| {
            while let Some(r) = conn.read_request() {
                let reply = match &r {
                    Received::Ascii { data: Some(d), .. } => format!("GOT {}\r\n", d.len()),
                    Received::Ascii { line, .. } => {
                        format!("LINE {}\r\n", String::from_utf8_lossy(line))
                    }
                    Received::Binary(_) => "BINARY\r\n".to_owned(),
                };
                conn.send(reply.as_bytes());
            }
        })
        .expect("mock");
        let mut s = connect(&mock);
        s.write_all(b"set k 0 0 5\r\nab\r\nc\r\nget a b\n")
            .expect("send");
        assert_eq!(read_n(&mut s, 21), b"GOT 5\r\nLINE get a b\r\n");
        assert_eq!(mock.received_all(), b"set k 0 0 5\r\nab\r\nc\r\nget a b\n");
        assert_eq!(mock.sessions(), 1);
    }

    #[test]
    fn parses_binary_frames_and_replies() {
        let mock = MockServer::start(|conn| {
            while let Some(Received::Binary(req)) = conn.read_request() {
                let reply = empty_cache_binary_reply(&req);
                conn.dribble(&reply, Duration::ZERO);
            }
        })
        .expect("mock");
        let mut s = connect(&mock);
        let mut get = RequestFrame::new(0x00);
        get.key = b"k".to_vec();
        get.opaque = 7;
        s.write_all(&get.to_bytes()).expect("send");
        let reply = read_n(&mut s, HEADER_LEN + 9);
        let (frame, _) = crate::frames::parse_response(&reply).expect("frame");
        assert_eq!((frame.status, frame.opaque), (1, 7));
        assert_eq!(frame.value, b"Not found");
    }

    #[test]
    fn stalling_mock_records_and_lets_go_on_drop() {
        let mock = MockServer::stalling().expect("mock");
        let mut s = connect(&mock);
        s.write_all(b"get x\r\n").expect("send");
        assert!(mock.wait_for(Duration::from_secs(5), |b| b == b"get x\r\n"));
        s.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let mut byte = [0u8; 1];
        assert!(
            s.read(&mut byte).is_err(),
            "a stalling mock answers nothing"
        );
        drop(mock);
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        assert_eq!(s.read(&mut byte).unwrap_or(0), 0, "closed on drop");
    }

    #[test]
    fn reset_aborts_with_rst_after_the_bytes_sent() {
        let mock = MockServer::start(|conn| {
            if conn.read_request().is_some() {
                conn.send(b"VALUE k 0 5\r\nhel");
                // Let the partial reply arrive before the RST.
                std::thread::sleep(Duration::from_millis(50));
                conn.reset();
            }
        })
        .expect("mock");
        let mut s = connect(&mock);
        s.write_all(b"get k\r\n").expect("send");
        let mut got = Vec::new();
        let mut chunk = [0u8; 64];
        let err = loop {
            match s.read(&mut chunk) {
                Ok(0) => panic!("FIN, not RST, after {got:?}"),
                Ok(n) => got.extend_from_slice(&chunk[..n]),
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
        assert_eq!(got, b"VALUE k 0 5\r\nhel");
    }
}
