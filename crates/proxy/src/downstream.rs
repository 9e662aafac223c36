//! Connections to one downstream server, owned by one worker.
//!
//! Many upstream requests are pipelined onto one connection: a writer half
//! batches every queued request into one write, and a reader half matches
//! replies to requests in order (memcached answers a connection's requests
//! in order, in both protocols). Binary replies are also checked by opaque,
//! and a run of quiet GETKQs is closed by a NOOP whose opaque ends it.
//! Every request sent here is loud, so each gets at least one reply frame:
//! quiet and noreply semantics are applied upstream, which keeps matching
//! exact. A connection with credentials authenticates ([`crate::auth`])
//! before its writer starts; a failed handshake is a connect error.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

use bytes::BytesMut;
use protocol::{ascii, binary, GetKind, Key, Limits, Request, Response, Status};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use crate::error::DownError;
use crate::topology::{DownAuth, DownstreamProtocol, Timeouts};
use crate::wire::{encode_ascii, encode_binary, with_wire_exptimes, Expect};

/// What to send.
#[derive(Clone, Debug)]
pub enum DownRequest {
    /// One loud request; its reply is one frame (stats: frames up to `End`).
    One(Request),
    /// A multi-get of distinct keys: ascii `get k1 k2 ...` (`END` ends it) or
    /// binary GETKQ per key plus a NOOP that ends it. The reply frames are
    /// the hits; a binary server's NOT_MY_VBUCKET for one key of the run
    /// comes back as `Response::Status { status: NotMyVbucket, message }`
    /// whose message is that key (the reply itself names no key; moxi
    /// matched it by opaque, as this does).
    MultiGet {
        /// get/gets/gat/gats.
        kind: GetKind,
        /// gat exptime.
        exptime: i64,
        /// Distinct keys (shared: a retry or a GETKQ run's bookkeeping
        /// clones the handle, not the list).
        keys: Arc<[Key]>,
        /// The vBucket of each key (binary only); empty: all 0.
        vbuckets: Vec<u16>,
    },
}

/// The reply frames of one [`DownRequest`], or why there are none.
pub type DownResult = Result<Vec<Response>, DownError>;

struct Outgoing {
    req: DownRequest,
    tx: oneshot::Sender<DownResult>,
}

struct Pending {
    expect: Expect,
    frames: Vec<Response>,
    /// The keys of a GETKQ run, in opaque order.
    keys: Option<Arc<[Key]>>,
    tx: Option<oneshot::Sender<DownResult>>,
}

/// A handle on one downstream connection; cheap to clone.
#[derive(Clone)]
pub struct DownConn {
    tx: mpsc::UnboundedSender<Outgoing>,
    dead: Rc<Cell<bool>>,
}

impl DownConn {
    /// Starts connecting to `addr` on the current worker; with `auth`, the
    /// connection authenticates before its first request.
    pub fn spawn(
        addr: String,
        protocol: DownstreamProtocol,
        timeouts: Timeouts,
        auth: Option<Arc<DownAuth>>,
    ) -> DownConn {
        let (tx, rx) = mpsc::unbounded_channel();
        let dead = Rc::new(Cell::new(false));
        let conn = Conn {
            addr,
            protocol,
            timeouts,
            auth,
        };
        tokio::task::spawn_local(run(conn, rx, dead.clone()));
        DownConn { tx, dead }
    }

    /// False once the connection failed or closed; the pool then replaces it.
    pub fn is_alive(&self) -> bool {
        !self.dead.get() && !self.tx.is_closed()
    }

    /// Queues a request; the receiver gets its reply frames.
    pub fn send(&self, req: DownRequest) -> oneshot::Receiver<DownResult> {
        let (tx, rx) = oneshot::channel();
        if let Err(mpsc::error::SendError(o)) = self.tx.send(Outgoing { req, tx }) {
            let _ = o.tx.send(Err(DownError::Closed));
        }
        rx
    }
}

/// What a connection task needs to open its socket.
struct Conn {
    addr: String,
    protocol: DownstreamProtocol,
    timeouts: Timeouts,
    auth: Option<Arc<DownAuth>>,
}

/// Connects and, with credentials, authenticates; `None` on any failure.
async fn open(conn: &Conn, counters: &crate::stats::ProxyStats) -> Option<TcpStream> {
    let connect = tokio::time::timeout(conn.timeouts.connect, TcpStream::connect(&conn.addr));
    let mut stream = connect.await.ok()?.ok()?;
    let _ = stream.set_nodelay(true);
    if let Some(auth) = &conn.auth {
        let timeout = conn.timeouts.auth;
        if let Err(e) = crate::auth::handshake(&mut stream, auth, timeout, counters).await {
            log::warn!(
                "downstream {}: authentication as {:?} failed: {e}",
                conn.addr,
                auth.user
            );
            return None;
        }
    }
    Some(stream)
}

async fn run(conn: Conn, mut rx: mpsc::UnboundedReceiver<Outgoing>, dead: Rc<Cell<bool>>) {
    let protocol = conn.protocol;
    let health = crate::health::entry(&conn.addr);
    let started = std::time::Instant::now();
    let Some(stream) = open(&conn, &health.counters).await else {
        health.connect_failed(&conn.timeouts, protocol);
        dead.set(true);
        rx.close();
        while let Ok(o) = rx.try_recv() {
            let _ = o.tx.send(Err(DownError::Connect));
        }
        return;
    };
    let _live = health.connected(started.elapsed(), conn.timeouts.time_stats);
    let (rd, wr) = stream.into_split();
    let pending: Rc<RefCell<VecDeque<Pending>>> = Rc::default();
    let writer_done = Rc::new(Cell::new(false));
    let read = read_loop(rd, protocol, pending.clone(), writer_done.clone());
    tokio::pin!(read);
    let reason = tokio::select! {
        r = write_loop(wr, &mut rx, protocol, pending.clone()) => {
            if r == DownError::Closed && !pending.borrow().is_empty() {
                writer_done.set(true);
                drain(read, conn.timeouts.downstream).await
            } else {
                r
            }
        }
        r = &mut read => r,
    };
    dead.set(true);
    rx.close();
    // Only the request at the head can have caused a protocol error; the
    // ones queued behind it just lost their connection (and may be retried).
    for (i, p) in pending.borrow_mut().drain(..).enumerate() {
        let err = match reason {
            DownError::Protocol if i > 0 => DownError::Closed,
            _ => reason.clone(),
        };
        if let Some(tx) = p.tx {
            let _ = tx.send(Err(err));
        }
    }
    while let Ok(o) = rx.try_recv() {
        let _ = o.tx.send(Err(DownError::Closed));
    }
}

async fn write_loop(
    mut wr: OwnedWriteHalf,
    rx: &mut mpsc::UnboundedReceiver<Outgoing>,
    protocol: DownstreamProtocol,
    pending: Rc<RefCell<VecDeque<Pending>>>,
) -> DownError {
    let mut wbuf = BytesMut::with_capacity(16 * 1024);
    let mut opaque: u32 = 0;
    loop {
        let Some(first) = rx.recv().await else {
            // Every handle is gone: nothing more will be asked.
            return DownError::Closed;
        };
        let mut next = Some(first);
        while let Some(o) = next.take() {
            enqueue(o, protocol, &mut opaque, &mut wbuf, &pending);
            if wbuf.len() < 64 * 1024 {
                next = rx.try_recv().ok();
            }
        }
        if wbuf.is_empty() {
            continue;
        }
        if wr.write_all(&wbuf).await.is_err() {
            return DownError::Write;
        }
        wbuf.clear();
    }
}

fn enqueue(
    o: Outgoing,
    protocol: DownstreamProtocol,
    opaque: &mut u32,
    wbuf: &mut BytesMut,
    pending: &RefCell<VecDeque<Pending>>,
) {
    let mark = wbuf.len();
    let req = with_wire_exptimes(o.req, protocol);
    let keys = match (&req, protocol) {
        (DownRequest::MultiGet { keys, .. }, DownstreamProtocol::Binary) => Some(keys.clone()),
        _ => None,
    };
    let expect = match protocol {
        DownstreamProtocol::Ascii => encode_ascii(&req, wbuf),
        DownstreamProtocol::Binary => encode_binary(req, opaque, wbuf),
    };
    match expect {
        Some(expect) => pending.borrow_mut().push_back(Pending {
            expect,
            frames: Vec::new(),
            keys,
            tx: Some(o.tx),
        }),
        None => {
            wbuf.truncate(mark);
            let _ = o.tx.send(Err(DownError::Unencodable));
        }
    }
}

/// The pool let go of this connection (every handle is gone: it was
/// discarded after a timeout, or replaced): nothing more is sent, but the
/// requests already sent keep waiting for their replies, each within its own
/// timeout. Failing them now would have them re-sent (`downstream_retry`) on
/// another connection while the server may still execute the first copy:
/// a write applied twice, or a late one overwriting a newer value.
async fn drain(read: impl Future<Output = DownError>, limit: std::time::Duration) -> DownError {
    if limit.is_zero() {
        return read.await;
    }
    tokio::time::timeout(limit, read)
        .await
        .unwrap_or(DownError::Timeout)
}

/// Reads replies and hands them to the requests in order. Returns when the
/// connection fails, or when the writer is done and every request sent has
/// its reply.
async fn read_loop(
    mut rd: OwnedReadHalf,
    protocol: DownstreamProtocol,
    pending: Rc<RefCell<VecDeque<Pending>>>,
    writer_done: Rc<Cell<bool>>,
) -> DownError {
    let mut rbuf = BytesMut::with_capacity(16 * 1024);
    // Replies are bounded by the largest item memcached can hold.
    let limits = Limits::default().with_max_value_len(1024 * 1024 * 1024);
    loop {
        match rd.read_buf(&mut rbuf).await {
            Ok(0) | Err(_) => return DownError::Closed,
            Ok(_) => {}
        }
        loop {
            let frame = match protocol {
                DownstreamProtocol::Ascii => match ascii::decode_response(&mut rbuf, &limits) {
                    Ok(Some(r)) => (None, r),
                    Ok(None) => break,
                    Err(_) => return DownError::Protocol,
                },
                DownstreamProtocol::Binary => match binary::decode_response(&mut rbuf, &limits) {
                    Ok(Some((to, r))) => (Some(to.opaque), r),
                    Ok(None) => break,
                    Err(_) => return DownError::Protocol,
                },
            };
            if !deliver(&pending, frame.0, frame.1) {
                return DownError::Protocol;
            }
        }
        if writer_done.get() && pending.borrow().is_empty() {
            return DownError::Closed;
        }
    }
}

/// A NOT_MY_VBUCKET inside a GETKQ run, renamed with the key whose GETKQ
/// (by opaque) it answers; any other frame unchanged.
fn name_refusal(keys: &[Key], first: u32, opaque: Option<u32>, frame: Response) -> Response {
    let Response::Status {
        status: Status::NotMyVbucket,
        ..
    } = frame
    else {
        return frame;
    };
    let index = opaque.map(|o| o.wrapping_sub(first) as usize);
    match index.and_then(|i| keys.get(i)) {
        Some(key) => Response::Status {
            status: Status::NotMyVbucket,
            message: key.0.clone(),
        },
        None => frame,
    }
}

/// Hands one reply frame to the request at the head of the queue. False
/// when the frame cannot belong to it (the connection is out of step).
fn deliver(pending: &RefCell<VecDeque<Pending>>, opaque: Option<u32>, frame: Response) -> bool {
    let mut queue = pending.borrow_mut();
    let Some(head) = queue.front_mut() else {
        return false;
    };
    let done = match head.expect {
        Expect::Single { opaque: want } => {
            if opaque.is_some_and(|o| o != want) {
                return false;
            }
            head.frames.push(frame);
            true
        }
        Expect::UntilEnd => {
            let end = !matches!(frame, Response::Value(_) | Response::Stat { .. });
            if !matches!(frame, Response::End) {
                head.frames.push(frame);
            }
            end
        }
        Expect::Run { first, last } => {
            if opaque == Some(last) {
                true
            } else {
                head.frames.push(name_refusal(
                    head.keys.as_deref().unwrap_or(&[]),
                    first,
                    opaque,
                    frame,
                ));
                false
            }
        }
    };
    if done {
        if let Some(mut p) = queue.pop_front() {
            if let Some(tx) = p.tx.take() {
                let _ = tx.send(Ok(p.frames));
            }
        }
    }
    true
}
