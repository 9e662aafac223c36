//! The tasks behind one downstream connection: one connects (and
//! authenticates), then reads and matches replies; a second writes what
//! requests queued; a third fails requests past their deadlines. They run
//! until the connection fails or is retired and has nothing left to answer.

use std::future::poll_fn;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use protocol::{ascii, binary, Limits};
use tokio::io::{AsyncReadExt, AsyncWrite};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use super::matching::{deliver, expire, next_deadline};
use super::{Shared, State};
use crate::error::DownError;
use crate::topology::{DownAuth, DownstreamProtocol, Timeouts};

/// What a connection task needs to open its socket.
pub(super) struct Conn {
    pub(super) addr: String,
    pub(super) protocol: DownstreamProtocol,
    pub(super) timeouts: Timeouts,
    pub(super) auth: Option<Arc<DownAuth>>,
}

/// Connects and, with credentials, authenticates; `None` on any failure.
async fn open(conn: &Conn, counters: &crate::stats::ProxyStats) -> Option<TcpStream> {
    let connect = tokio::time::timeout(conn.timeouts.connect, TcpStream::connect(&conn.addr));
    let mut stream = connect.await.ok()?.ok()?;
    let _ = stream.set_nodelay(true);
    if let Some(auth) = &conn.auth {
        let timeout = conn.timeouts.auth;
        if let Err(e) =
            crate::downstream::auth::handshake(&mut stream, auth, timeout, counters).await
        {
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

/// Runs the connection until it fails or is done.
pub(super) async fn run(conn: Conn, shared: Rc<Shared>) {
    let health = crate::health::entry(&conn.addr);
    let started = Instant::now();
    let idle = match conn.timeouts.downstream {
        d if d.is_zero() => Duration::from_secs(1),
        d => d,
    };
    // The timer is a task of its own, so that the reads and writes here
    // never poll it; it ends with the connection.
    tokio::task::spawn_local(watch(shared.clone(), idle));
    let Some(stream) = open(&conn, &health.counters).await else {
        health.connect_failed(&conn.timeouts, conn.protocol);
        shared.fail_all(DownError::Connect);
        return;
    };
    let _live = health.connected(started.elapsed(), conn.timeouts.time_stats);
    let (rd, wr) = stream.into_split();
    // The writer is a task of its own: a request queued wakes only the
    // writer, and a reply read wakes only the reader, so neither polls the
    // other's socket half for nothing.
    tokio::task::spawn_local(write_task(wr, shared.clone()));
    let reason = tokio::select! {
        biased;
        () = ended(&shared) => return,
        r = read_loop(rd, &shared) => r,
    };
    shared.fail_all(reason);
}

/// Ready once the connection has ended ([`Shared::fail_all`]), for
/// instance because the writer failed; the reader then stops too.
async fn ended(shared: &Shared) {
    poll_fn(|cx| {
        let mut st = shared.state.borrow_mut();
        if st.ended {
            return Poll::Ready(());
        }
        wait_in(&mut st.reader, cx.waker());
        Poll::Pending
    })
    .await
}

/// Leaves `waker` in `slot` (unless the same task already waits there).
fn wait_in(slot: &mut Option<Waker>, waker: &Waker) {
    if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
        *slot = Some(waker.clone());
    }
}

async fn write_task(wr: OwnedWriteHalf, shared: Rc<Shared>) {
    let reason = write_loop(wr, &shared).await;
    shared.fail_all(reason);
}

/// Retired (timed out, failed, or no longer in the pool) with no request
/// left that waits for its reply: the connection can close.
fn finished(st: &State) -> bool {
    st.retired && st.pending.iter().all(|p| p.expired)
}

async fn write_loop(mut wr: OwnedWriteHalf, shared: &Shared) -> DownError {
    loop {
        let out = poll_fn(|cx| {
            let mut st = shared.state.borrow_mut();
            if !st.wbuf.is_empty() {
                return Poll::Ready(Some(st.wbuf.split()));
            }
            if finished(&st) {
                return Poll::Ready(None);
            }
            st.writer = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
        let Some(out) = out else {
            return DownError::Closed;
        };
        if let Err(e) = write_out(&mut wr, &out, shared).await {
            return e;
        }
    }
}

/// Writes all of `out`. Stops when the connection has ended meanwhile
/// (the reader failed): a server that reads nothing more would otherwise
/// hold the writer, and the socket, for ever.
async fn write_out(wr: &mut OwnedWriteHalf, out: &[u8], shared: &Shared) -> Result<(), DownError> {
    let mut done = 0;
    while done < out.len() {
        done += poll_fn(|cx| {
            if shared.state.borrow().ended {
                return Poll::Ready(Err(DownError::Closed));
            }
            match Pin::new(&mut *wr).poll_write(cx, &out[done..]) {
                Poll::Ready(Ok(0) | Err(_)) => Poll::Ready(Err(DownError::Write)),
                Poll::Ready(Ok(n)) => Poll::Ready(Ok(n)),
                Poll::Pending => {
                    // Blocked on a full socket: wake up also when the
                    // connection ends.
                    wait_in(&mut shared.state.borrow_mut().writer_ended, cx.waker());
                    Poll::Pending
                }
            }
        })
        .await?;
    }
    Ok(())
}

async fn read_loop(mut rd: OwnedReadHalf, shared: &Shared) -> DownError {
    let mut rbuf = BytesMut::with_capacity(16 * 1024);
    // Replies are bounded by the largest item memcached can hold.
    let limits = Limits::default().with_max_value_len(1024 * 1024 * 1024);
    loop {
        match rd.read_buf(&mut rbuf).await {
            Ok(0) | Err(_) => return DownError::Closed,
            Ok(_) => {}
        }
        let mut st = shared.state.borrow_mut();
        loop {
            let (opaque, frame) = match shared.protocol {
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
            if !deliver(&mut st, opaque, frame) {
                return DownError::Protocol;
            }
        }
        if finished(&st) {
            return DownError::Closed;
        }
        if rbuf.capacity() - rbuf.len() < 1024 {
            rbuf.reserve(16 * 1024);
        }
    }
}

/// Fails requests as their deadlines pass, with one timer: it sleeps until
/// the earliest deadline (or `idle` when none waits). Ends once the
/// connection is retired and nothing on it waits, or has ended.
async fn watch(shared: Rc<Shared>, idle: Duration) {
    loop {
        if Rc::strong_count(&shared) == 1 {
            // The connection task and every handle are gone.
            return;
        }
        let next = next_deadline(&shared.state.borrow());
        let until = next.unwrap_or_else(|| Instant::now() + idle);
        tokio::time::sleep_until(until.into()).await;
        let mut st = shared.state.borrow_mut();
        if expire(&mut st, Instant::now()) {
            // A stalled connection: new requests go to a fresh one.
            st.retired = true;
        }
        if finished(&st) {
            drop(st);
            // Nothing on it waits: the connection ends, and its reader and
            // writer stop (the writer also in the middle of a write to a
            // stalled server).
            shared.fail_all(DownError::Closed);
            return;
        }
    }
}
