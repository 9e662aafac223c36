//! A scripted HTTP server standing in for a cluster's REST API in tests of
//! the REST config watcher: it streams configs with chunked encoding,
//! splits and packs them across writes however a test likes, stalls,
//! closes, or answers 401.
//!
//! [`RestServer::start`] binds 127.0.0.1:0 and runs `script` on its own
//! thread for every connection, after reading the request head (available
//! as [`RestConn::request`]). A [`Feed`] lets a test hand chunks to a
//! streaming script while it runs. Dropping the server shuts every
//! connection down. Std threads only; no HTTP library (a test must not
//! trust the parser it tests).
//!
//! ```no_run
//! use testkit::rest_server::{Feed, RestServer};
//! let feed = Feed::new();
//! let f = feed.clone();
//! let rest = RestServer::start(move |conn| {
//!     conn.start_chunked();
//!     while let Some(chunk) = f.next() {
//!         conn.chunk(&chunk);
//!     }
//! })
//! .expect("rest server");
//! feed.push(b"{\"buckets\":[]}\n\n\n\n".to_vec());
//! let _ = rest.url("/pools/default/saslBucketsStreaming");
//! ```

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a script does with one connection.
type Script = dyn Fn(&mut RestConn) + Send + Sync;

/// How long a [`Feed`] waits for the next chunk before giving up.
pub const FEED_TIMEOUT: Duration = Duration::from_secs(20);

/// A fake REST server on 127.0.0.1 and a kernel-chosen port.
pub struct RestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    /// Request heads received, in accept order.
    requests: Mutex<Vec<String>>,
    streams: Mutex<Vec<TcpStream>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl RestServer {
    /// Starts listening; `script` runs on a new thread for each connection
    /// once its request head is read.
    pub fn start(script: impl Fn(&mut RestConn) + Send + Sync + 'static) -> io::Result<Self> {
        Self::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), script)
    }

    /// Like [`RestServer::start`] but on `addr`: a test that brings a REST
    /// server up late, or back after dropping it, needs the address the
    /// proxy was given (port 0: any free port).
    pub fn start_on(
        addr: SocketAddr,
        script: impl Fn(&mut RestConn) + Send + Sync + 'static,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let script: Arc<Script> = Arc::new(script);
        let s = shared.clone();
        let accept = std::thread::Builder::new()
            .name("rest-accept".into())
            .spawn(move || accept_loop(listener, s, script))?;
        Ok(RestServer {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.addr.port())
    }

    /// The request heads received so far, in accept order.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.shared.requests).clone()
    }

    /// Waits (polling, up to `timeout`) until at least `n` requests came
    /// in; returns whether they did.
    pub fn wait_requests(&self, n: usize, timeout: Duration) -> bool {
        let start = Instant::now();
        while self.requests().len() < n {
            if start.elapsed() > timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }
}

impl Drop for RestServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for s in lock(&self.shared.streams).iter() {
            let _ = s.shutdown(Shutdown::Both);
        }
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>, script: Arc<Script>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        if let Ok(clone) = stream.try_clone() {
            lock(&shared.streams).push(clone);
        }
        let shared = shared.clone();
        let script = script.clone();
        let spawned = std::thread::Builder::new()
            .name("rest-conn".into())
            .spawn(move || {
                let Some(request) = read_head(&stream) else {
                    return;
                };
                lock(&shared.requests).push(request.clone());
                let mut conn = RestConn { stream, request };
                script(&mut conn);
            });
        drop(spawned);
    }
}

/// Reads up to the blank line after the request head.
fn read_head(mut stream: &TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && !head.ends_with(b"\n\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// One accepted connection, as a script sees it; it closes when the script
/// returns.
pub struct RestConn {
    stream: TcpStream,
    request: String,
}

impl RestConn {
    /// The request head (request line and headers).
    pub fn request(&self) -> &str {
        &self.request
    }

    /// The request path.
    pub fn path(&self) -> &str {
        self.request.split_whitespace().nth(1).unwrap_or("")
    }

    /// The `Authorization` header's value, if sent.
    pub fn authorization(&self) -> Option<&str> {
        self.request.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("authorization")
                .then_some(value.trim())
        })
    }

    /// Writes `bytes` as they are; false if the peer went away.
    pub fn raw(&mut self, bytes: &[u8]) -> bool {
        self.stream
            .write_all(bytes)
            .and_then(|_| self.stream.flush())
            .is_ok()
    }

    /// A 200 head announcing a chunked body.
    pub fn start_chunked(&mut self) -> bool {
        self.raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    }

    /// One chunk holding `data`, in one write.
    pub fn chunk(&mut self, data: &[u8]) -> bool {
        let mut out = format!("{:x}\r\n", data.len()).into_bytes();
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
        self.raw(&out)
    }

    /// The last chunk: the body ends.
    pub fn end_chunks(&mut self) -> bool {
        self.raw(b"0\r\n\r\n")
    }

    /// A complete response with a Content-Length body.
    pub fn respond(&mut self, status: u16, reason: &str, body: &[u8]) -> bool {
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        self.raw(head.as_bytes()) && self.raw(body)
    }

    /// Keeps the connection open, sending nothing, until the peer closes
    /// it, the server is dropped, or `limit` passes.
    pub fn hold(&mut self, limit: Duration) {
        let start = Instant::now();
        let _ = self
            .stream
            .set_read_timeout(Some(Duration::from_millis(20)));
        let mut buf = [0u8; 256];
        while start.elapsed() < limit {
            match self.stream.read(&mut buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return,
            }
        }
    }
}

impl Drop for RestConn {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// Queued chunks (`None`: end of stream) and the signal that one arrived.
type Queue = (Mutex<VecDeque<Option<Vec<u8>>>>, Condvar);

/// A queue of chunks a test feeds to a streaming script.
#[derive(Clone, Default)]
pub struct Feed {
    inner: Arc<Queue>,
}

impl Feed {
    /// An empty feed.
    pub fn new() -> Feed {
        Feed::default()
    }

    /// Queues a chunk.
    pub fn push(&self, chunk: Vec<u8>) {
        lock(&self.inner.0).push_back(Some(chunk));
        self.inner.1.notify_all();
    }

    /// Queues the end of the stream: [`Feed::next`] returns `None` once.
    pub fn close(&self) {
        lock(&self.inner.0).push_back(None);
        self.inner.1.notify_all();
    }

    /// The next chunk; `None` at a [`Feed::close`] mark or after
    /// [`FEED_TIMEOUT`] without one.
    pub fn next(&self) -> Option<Vec<u8>> {
        let (queue, ready) = &*self.inner;
        let deadline = Instant::now() + FEED_TIMEOUT;
        let mut q = lock(queue);
        loop {
            if let Some(item) = q.pop_front() {
                return item;
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            q = ready
                .wait_timeout(q, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_fed_chunks_and_records_requests() {
        let feed = Feed::new();
        let f = feed.clone();
        let rest = RestServer::start(move |conn| {
            assert_eq!(conn.path(), "/p");
            conn.start_chunked();
            while let Some(c) = f.next() {
                conn.chunk(&c);
            }
            conn.end_chunks();
        })
        .expect("server");
        feed.push(b"ab".to_vec());
        feed.close();
        let mut s = TcpStream::connect(rest.addr()).expect("connect");
        s.write_all(b"GET /p HTTP/1.1\r\nAuthorization: Basic x\r\n\r\n")
            .expect("send");
        let mut all = String::new();
        s.read_to_string(&mut all).expect("read");
        assert!(all.ends_with("\r\n\r\n2\r\nab\r\n0\r\n\r\n"), "{all}");
        assert!(rest.wait_requests(1, Duration::from_secs(5)));
        assert!(rest.requests()[0].contains("Authorization: Basic x"));
    }
}
