//! Listening sockets, the accept loop and the connection limit (`-c`).
//!
//! One acceptor thread (memcached's "dispatcher") accepts on every listening
//! socket and hands each connection to a worker. Over the limit, a
//! connection gets memcached's `ERROR Too many open connections` and is
//! closed at once (memcached's default `maxconns_fast`).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;

use crate::workers::Workers;

/// What memcached writes to a connection over the `-c` limit.
pub const TOO_MANY_CONNECTIONS: &[u8] = b"ERROR Too many open connections\r\n";

/// Counts client connections against `-c`.
#[derive(Debug)]
pub struct ConnLimit {
    max: usize,
    current: AtomicUsize,
    total: AtomicU64,
    rejected: AtomicU64,
}

impl ConnLimit {
    /// A limit of `max` simultaneous connections.
    pub fn new(max: usize) -> Arc<ConnLimit> {
        Arc::new(ConnLimit {
            max,
            current: AtomicUsize::new(0),
            total: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        })
    }

    /// Takes a slot, or `None` when the limit is reached.
    pub fn try_acquire(self: &Arc<Self>) -> Option<ConnGuard> {
        let prev = self.current.fetch_add(1, Ordering::AcqRel);
        if prev >= self.max {
            self.current.fetch_sub(1, Ordering::AcqRel);
            self.rejected.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        self.total.fetch_add(1, Ordering::Relaxed);
        Some(ConnGuard {
            limit: Arc::clone(self),
        })
    }

    /// Open connections now (`curr_connections`).
    pub fn current(&self) -> usize {
        self.current.load(Ordering::Relaxed)
    }

    /// Connections accepted since start (`total_connections`).
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Connections refused by the limit (`rejected_connections`).
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// The `-c` value.
    pub fn max(&self) -> usize {
        self.max
    }
}

/// A held connection slot; released on drop.
#[derive(Debug)]
pub struct ConnGuard {
    limit: Arc<ConnLimit>,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.limit.current.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Called on the chosen worker's thread for each accepted connection; it is
/// expected to `tokio::task::spawn_local` the session.
pub type Handler = Arc<dyn Fn(TcpStream, ConnGuard) + Send + Sync>;

/// Running listeners; dropping or [`Listener::stop`] closes them.
pub struct Listener {
    addrs: Vec<SocketAddr>,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// Binds every address (port 0 picks a free port) and starts accepting.
    pub fn bind(
        addrs: &[SocketAddr],
        backlog: u32,
        workers: Arc<Workers>,
        limit: Arc<ConnLimit>,
        handler: Handler,
    ) -> io::Result<Listener> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listeners = runtime.block_on(async {
            let mut out = Vec::new();
            for addr in addrs {
                out.push(bind_one(*addr, backlog)?);
            }
            io::Result::Ok(out)
        })?;
        let bound = listeners
            .iter()
            .map(|l| l.local_addr())
            .collect::<io::Result<Vec<_>>>()?;
        let (stop, stop_rx) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("acceptor".into())
            .spawn(move || {
                runtime.block_on(accept_all(listeners, workers, limit, handler, stop_rx));
            })?;
        Ok(Listener {
            addrs: bound,
            stop,
            thread: Some(thread),
        })
    }

    /// The bound addresses, with real ports.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Stops accepting and closes the listening sockets.
    pub fn stop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop();
    }
}

fn bind_one(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

async fn accept_all(
    listeners: Vec<TcpListener>,
    workers: Arc<Workers>,
    limit: Arc<ConnLimit>,
    handler: Handler,
    stop: watch::Receiver<bool>,
) {
    let mut tasks = Vec::new();
    for l in listeners {
        let (w, lim, h, mut s) = (
            workers.clone(),
            limit.clone(),
            handler.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = s.changed() => return,
                    r = l.accept() => match r {
                        Ok((stream, _)) => hand_over(stream, &w, &lim, &h),
                        // EMFILE and friends: back off briefly instead of spinning.
                        Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
                    },
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

fn hand_over(stream: TcpStream, workers: &Workers, limit: &Arc<ConnLimit>, handler: &Handler) {
    let Some(guard) = limit.try_acquire() else {
        let _ = stream.try_write(TOO_MANY_CONNECTIONS);
        return;
    };
    let _ = stream.set_nodelay(true);
    let Ok(std_stream) = stream.into_std() else {
        return;
    };
    let handler = Arc::clone(handler);
    workers.dispatch(Box::new(move || {
        if let Ok(stream) = TcpStream::from_std(std_stream) {
            handler(stream, guard);
        }
    }));
}
