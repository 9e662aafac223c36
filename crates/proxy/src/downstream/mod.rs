//! Connections to one downstream server, owned by one worker.
//!
//! Many upstream requests are pipelined onto one connection. Sending costs
//! no channel and no task hand-off: the request is encoded straight into
//! the connection's write buffer and its reply slot is queued, both in
//! state shared on the worker's thread ([`State`]); the connection's writer
//! is woken only when it sleeps, and writes everything queued meanwhile in
//! one syscall. The reader matches replies to requests in order (memcached
//! answers a connection's requests in order, in both protocols) and fills
//! each request's slot, which wakes the waiting request. Binary replies are
//! also checked by opaque, and a run of quiet GETKQs is closed by a NOOP
//! whose opaque ends it ([`matching`]).
//!
//! Every request sent here is loud, so each gets at least one reply frame:
//! quiet and noreply semantics are applied upstream, which keeps matching
//! exact. A connection with credentials authenticates ([`crate::downstream::auth`])
//! before its writer starts; a failed handshake is a connect error.
//!
//! `downstream_timeout` is a deadline per request, kept in the queue and
//! watched by one timer per connection (no timer per request). A request
//! past its deadline fails with [`DownError::Timeout`] and retires the
//! connection: new requests go to a fresh one, and this one closes once the
//! requests already on it are answered or past their deadlines.

pub(crate) mod auth;
pub(crate) mod pool;
pub(crate) mod wire;

mod io;
mod matching;
#[cfg(test)]
mod tests;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use protocol::{GetKind, Key, List, Request, Response};

use crate::error::DownError;
use crate::topology::{DownAuth, DownstreamProtocol, Timeouts};

use matching::Pending;

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
pub type DownResult = Result<List<Response>, DownError>;

/// Where one request's reply lands; the waiting request holds the other end.
#[derive(Default)]
struct Slot {
    result: Cell<Option<DownResult>>,
    waker: Cell<Option<Waker>>,
}

impl Slot {
    /// Fills the slot (first fill wins) and wakes the request.
    fn fill(&self, result: DownResult) {
        let old = self.result.replace(Some(result));
        if old.is_some() {
            // Already answered (a reply after its timeout): keep the first.
            self.result.set(old);
            return;
        }
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

/// The reply to one [`DownConn::send`]; resolves when the reply arrives,
/// the connection fails, or the request's deadline passes.
pub struct ReplyWait(Rc<Slot>);

impl ReplyWait {
    /// A reply that is already the failure `err`.
    pub fn failed(err: DownError) -> ReplyWait {
        let slot = Rc::new(Slot::default());
        slot.fill(Err(err));
        ReplyWait(slot)
    }
}

impl Future for ReplyWait {
    type Output = DownResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DownResult> {
        match self.0.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                self.0.waker.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        }
    }
}

/// A connection's queue, shared by the requests that send on it and the
/// task that does its I/O (one thread: no locks).
#[derive(Default)]
struct State {
    /// Encoded requests not yet written.
    wbuf: BytesMut,
    /// Requests written or queued, in order, awaiting replies.
    pending: VecDeque<Pending>,
    /// The next binary opaque.
    opaque: u32,
    /// The writer, asleep until there is something to write.
    writer: Option<Waker>,
    /// Set once the connection failed, closed or was retired: no new requests.
    retired: bool,
    /// Set once the connection has ended ([`Shared::fail_all`]): its
    /// reader and writer stop.
    ended: bool,
    /// The reader, woken when the connection ends.
    reader: Option<Waker>,
    /// The writer, woken when the connection ends (even mid-write).
    writer_ended: Option<Waker>,
}

/// A handle on one downstream connection; cheap to clone. Once the last
/// clone is gone (the pool replaced it), the connection closes as soon as
/// the requests already on it are answered.
#[derive(Clone)]
pub struct DownConn {
    handle: Rc<Handle>,
}

struct Handle {
    shared: Rc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        let mut st = self.shared.state.borrow_mut();
        st.retired = true;
        if let Some(w) = st.writer.take() {
            w.wake();
        }
    }
}

struct Shared {
    state: RefCell<State>,
    protocol: DownstreamProtocol,
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
        let shared = Rc::new(Shared {
            state: RefCell::new(State::default()),
            protocol,
        });
        let conn = io::Conn {
            addr,
            protocol,
            timeouts,
            auth,
        };
        tokio::task::spawn_local(io::run(conn, shared.clone()));
        DownConn {
            handle: Rc::new(Handle { shared }),
        }
    }

    /// False once the connection failed, closed or timed out; the pool then
    /// replaces it.
    pub fn is_alive(&self) -> bool {
        !self.handle.shared.state.borrow().retired
    }

    /// Queues a request; the returned future gets its reply frames. With a
    /// `deadline`, the request fails with [`DownError::Timeout`] once it
    /// passes without the reply (see [`deadline`]).
    pub fn send(&self, req: DownRequest, deadline: Option<Instant>) -> ReplyWait {
        let shared = &self.handle.shared;
        let slot = Rc::new(Slot::default());
        let mut st = shared.state.borrow_mut();
        if st.retired {
            // Never written: safe to send again.
            slot.fill(Err(DownError::Dropped));
            return ReplyWait(slot);
        }
        let st = &mut *st;
        match matching::enqueue(req, shared.protocol, &mut st.opaque, &mut st.wbuf) {
            Some((expect, keys)) => {
                st.pending
                    .push_back(Pending::new(expect, keys, slot.clone(), deadline));
                if let Some(w) = st.writer.take() {
                    w.wake();
                }
            }
            None => slot.fill(Err(DownError::Unencodable)),
        }
        ReplyWait(slot)
    }
}

/// The deadline of a request sent at `now` under `downstream_timeout`
/// `timeout` (zero: none).
pub fn deadline(now: Instant, timeout: Duration) -> Option<Instant> {
    (!timeout.is_zero()).then(|| now + timeout)
}

impl Shared {
    /// Ends the connection: no new requests; every request still waiting
    /// fails. A failed connect fails them all alike; otherwise only the
    /// request at the head can have caused the failure (a reply cut in its
    /// middle, or one that does not fit it): it gets `reason`, and the ones
    /// behind it, which only lost their connection (or were never
    /// written), get [`DownError::Dropped`] and may be re-sent.
    fn fail_all(&self, reason: DownError) {
        let (pending, wakers) = {
            let mut st = self.state.borrow_mut();
            st.retired = true;
            st.ended = true;
            st.wbuf = BytesMut::new();
            (
                std::mem::take(&mut st.pending),
                [st.reader.take(), st.writer.take(), st.writer_ended.take()],
            )
        };
        wakers.into_iter().flatten().for_each(Waker::wake);
        for (i, p) in pending.into_iter().enumerate() {
            let err = match reason {
                DownError::Connect => DownError::Connect,
                _ if i > 0 => DownError::Dropped,
                _ => reason.clone(),
            };
            p.slot.fill(Err(err));
        }
    }
}
