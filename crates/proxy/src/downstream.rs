//! Connections to one downstream server, owned by one worker.
//!
//! Many upstream requests are pipelined onto one connection: a writer half
//! batches every queued request into one write, and a reader half matches
//! replies to requests in order (memcached answers a connection's requests
//! in order, in both protocols). Binary replies are also checked by opaque,
//! and a run of quiet GETKQs is closed by a NOOP whose opaque ends it.
//! Every request sent here is loud, so each gets at least one reply frame:
//! quiet and noreply semantics are applied upstream, which keeps matching
//! exact.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use bytes::BytesMut;
use protocol::{
    ascii, binary, Command, Get, GetKind, Key, Limits, Request, Response, REALTIME_MAXDELTA,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use crate::error::DownError;
use crate::topology::{DownstreamProtocol, Timeouts};

/// What to send.
#[derive(Debug)]
pub enum DownRequest {
    /// One loud request; its reply is one frame (stats: frames up to `End`).
    One(Request),
    /// A multi-get of distinct keys: ascii `get k1 k2 ...` (`END` ends it) or
    /// binary GETKQ per key plus a NOOP that ends it.
    MultiGet {
        /// get/gets/gat/gats.
        kind: GetKind,
        /// gat exptime.
        exptime: i64,
        /// Distinct keys.
        keys: Vec<Key>,
    },
}

/// The reply frames of one [`DownRequest`], or why there are none.
pub type DownResult = Result<Vec<Response>, DownError>;

struct Outgoing {
    req: DownRequest,
    tx: oneshot::Sender<DownResult>,
}

#[derive(Debug, Clone, Copy)]
enum Expect {
    /// One frame.
    Single { opaque: u32 },
    /// Frames until `End` (ascii get and stats, binary stats).
    UntilEnd,
    /// Binary frames until the reply whose opaque is this (the NOOP).
    UntilOpaque(u32),
}

struct Pending {
    expect: Expect,
    frames: Vec<Response>,
    tx: Option<oneshot::Sender<DownResult>>,
}

/// A handle on one downstream connection; cheap to clone.
#[derive(Clone)]
pub struct DownConn {
    tx: mpsc::UnboundedSender<Outgoing>,
    dead: Rc<Cell<bool>>,
}

impl DownConn {
    /// Starts connecting to `addr` on the current worker.
    pub fn spawn(addr: String, protocol: DownstreamProtocol, timeouts: Timeouts) -> DownConn {
        let (tx, rx) = mpsc::unbounded_channel();
        let dead = Rc::new(Cell::new(false));
        tokio::task::spawn_local(run(addr, protocol, timeouts, rx, dead.clone()));
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

async fn run(
    addr: String,
    protocol: DownstreamProtocol,
    timeouts: Timeouts,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    dead: Rc<Cell<bool>>,
) {
    let connect = tokio::time::timeout(timeouts.connect, TcpStream::connect(&addr)).await;
    let stream = match connect {
        Ok(Ok(s)) => s,
        Ok(Err(_)) | Err(_) => {
            dead.set(true);
            rx.close();
            while let Ok(o) = rx.try_recv() {
                let _ = o.tx.send(Err(DownError::Connect));
            }
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    let pending: Rc<RefCell<VecDeque<Pending>>> = Rc::default();
    let reason = tokio::select! {
        r = write_loop(wr, &mut rx, protocol, pending.clone()) => r,
        r = read_loop(rd, protocol, pending.clone()) => r,
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
    let expect = match protocol {
        DownstreamProtocol::Ascii => encode_ascii(&req, wbuf),
        DownstreamProtocol::Binary => encode_binary(req, opaque, wbuf),
    };
    match expect {
        Some(expect) => pending.borrow_mut().push_back(Pending {
            expect,
            frames: Vec::new(),
            tx: Some(o.tx),
        }),
        None => {
            wbuf.truncate(mark);
            let _ = o.tx.send(Err(DownError::Unencodable));
        }
    }
}

/// Rewrites exptimes the downstream protocol cannot carry as they are.
/// ascii → binary: memcached's text protocol treats a negative exptime as
/// `REALTIME_MAXDELTA + 1`, an absolute time in 1970, i.e. already expired
/// (`EXPTIME_TO_POSITIVE_TIME`, proto_text.c); binary has no negative
/// exptimes, so a binary server is sent that value. binary → ascii: an
/// ascii server truncates an exptime above `i32::MAX` to a negative int32
/// and expires the item at once; the nearest it can take is `i32::MAX`.
fn with_wire_exptimes(req: DownRequest, protocol: DownstreamProtocol) -> DownRequest {
    let fix = |exptime: i64| match protocol {
        DownstreamProtocol::Binary if exptime < 0 => REALTIME_MAXDELTA + 1,
        DownstreamProtocol::Ascii => exptime.min(i64::from(i32::MAX)),
        DownstreamProtocol::Binary => exptime,
    };
    match req {
        DownRequest::One(mut r) => {
            match &mut r.command {
                Command::Store(s) => s.exptime = fix(s.exptime),
                Command::Get(g) => g.exptime = fix(g.exptime),
                Command::Touch { exptime, .. } => *exptime = fix(*exptime),
                _ => {}
            }
            DownRequest::One(r)
        }
        DownRequest::MultiGet {
            kind,
            exptime,
            keys,
        } => DownRequest::MultiGet {
            kind,
            exptime: fix(exptime),
            keys,
        },
    }
}

fn encode_ascii(req: &DownRequest, wbuf: &mut BytesMut) -> Option<Expect> {
    match req {
        DownRequest::One(r) => {
            let mut r = r.clone();
            r.quiet = false;
            ascii::encode_request(&r, wbuf).ok()?;
            Some(match r.command {
                Command::Get(_) | Command::Stats { .. } => Expect::UntilEnd,
                _ => Expect::Single { opaque: 0 },
            })
        }
        DownRequest::MultiGet {
            kind,
            exptime,
            keys,
        } => {
            let get = Get {
                kind: *kind,
                keys: keys.clone(),
                exptime: *exptime,
                with_key: true,
            };
            ascii::encode_request(&Request::new(Command::Get(get)), wbuf).ok()?;
            Some(Expect::UntilEnd)
        }
    }
}

fn encode_binary(req: DownRequest, opaque: &mut u32, wbuf: &mut BytesMut) -> Option<Expect> {
    let mut next = || {
        *opaque = opaque.wrapping_add(1);
        *opaque
    };
    match req {
        DownRequest::One(mut r) => {
            r.quiet = false;
            r.opaque = next();
            binary::encode_request(&r, wbuf).ok()?;
            Some(match r.command {
                Command::Stats { .. } => Expect::UntilEnd,
                _ => Expect::Single { opaque: r.opaque },
            })
        }
        DownRequest::MultiGet {
            kind,
            exptime,
            keys,
        } => {
            let kind = if kind.touches() {
                GetKind::Gat
            } else {
                GetKind::Get
            };
            for key in keys {
                let get = Get {
                    kind,
                    keys: vec![key],
                    exptime,
                    with_key: true,
                };
                let r = Request {
                    command: Command::Get(get),
                    quiet: true,
                    opaque: next(),
                    vbucket: 0,
                };
                binary::encode_request(&r, wbuf).ok()?;
            }
            let noop = Request {
                command: Command::Noop,
                quiet: false,
                opaque: next(),
                vbucket: 0,
            };
            binary::encode_request(&noop, wbuf).ok()?;
            Some(Expect::UntilOpaque(noop.opaque))
        }
    }
}

async fn read_loop(
    mut rd: OwnedReadHalf,
    protocol: DownstreamProtocol,
    pending: Rc<RefCell<VecDeque<Pending>>>,
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
        Expect::UntilOpaque(last) => {
            if opaque == Some(last) {
                true
            } else {
                head.frames.push(frame);
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
