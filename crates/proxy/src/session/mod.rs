//! One upstream (client) connection of the proxy.
//!
//! Requests are decoded as they arrive and each becomes a future; the
//! futures run concurrently (a client may pipeline) but their replies are
//! written strictly in request order (`FuturesOrdered`), so a reply always
//! goes to the request that asked, in order, even when servers answer out
//! of order. A client's requests to one server share one downstream
//! connection, so they also reach the server in order; the few requests for
//! which that is not enough are barriers that run alone
//! ([`crate::dispatch::is_barrier`]).
//!
//! A client of a [`Gateway`] port sits in a bucket: the gateway's default
//! until a binary SASL PLAIN names another bucket's credentials (answered
//! here, in order with the other replies, so requests decoded after it go
//! to the new bucket).

use std::sync::Arc;

use bytes::{Buf, BytesMut};
use futures_util::FutureExt;
use protocol::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use runtime::buffers;
use runtime::listener::ConnGuard;

use crate::buckets::Gateway;
use crate::Bucket;

mod inflight;
mod requests;

use inflight::Answer;
use requests::Requests;

/// What a listening port serves.
#[derive(Clone)]
pub enum Front {
    /// One pool (a static `-z` section).
    Pool(Arc<Bucket>),
    /// The buckets of a REST configuration.
    Gateway(Arc<Gateway>),
}

impl Front {
    fn limits(&self) -> Limits {
        match self {
            Front::Pool(p) => p.limits,
            Front::Gateway(g) => g.limits(),
        }
    }
}

/// The bucket a client is in.
enum Seat {
    /// A fixed pool: a static port's, or the bucket a client chose.
    Fixed(Arc<Bucket>),
    /// The gateway's default bucket, looked up for each request (so a
    /// client that connected before the first config is served by it).
    Default(Arc<Gateway>),
}

impl Seat {
    fn pool(&self) -> Arc<Bucket> {
        match self {
            Seat::Fixed(p) => p.clone(),
            Seat::Default(g) => g.default_pool(),
        }
    }
}

/// The session's view of where its requests go.
struct Ctx {
    front: Front,
    seat: Seat,
    limits: Limits,
    affinity: usize,
}

/// Replies buffered for a client past which its requests are not read.
const WRITE_HIGH_WATER: usize = 256 * 1024;

/// Serves one client until it leaves or quits. A gateway with no buckets
/// closes it at once (MB-3113).
pub async fn serve(stream: TcpStream, front: Front, _guard: ConnGuard) {
    let Some((seat, affinity)) = seat_of(&front) else {
        return;
    };
    // moxi's num_upstream / tot_upstream, in the pool the client starts in.
    let _upstream = crate::stats::Upstream::new(seat.pool().runtime());
    let ctx = Ctx {
        limits: front.limits(),
        front,
        seat,
        affinity,
    };
    let (mut rd, mut wr) = stream.into_split();
    // Buffers are held only while bytes are in them (`runtime::buffers`),
    // so an idle client costs little.
    let mut rbuf = BytesMut::new();
    let mut wbuf = BytesMut::new();
    let mut q = Requests::new(ctx);
    let mut drain = std::pin::pin!(runtime::shutdown::drained());
    let mut draining = runtime::shutdown::draining();
    // A reply that ends the connection was queued: write what is buffered, then close.
    let mut closing = false;
    // The buffers held a large message since they were last empty (their
    // `capacity()` no longer tells: it counts from the consumed front).
    let (mut rbuf_large, mut wbuf_large) = (false, false);
    loop {
        let idle = rbuf.is_empty() && q.inflight.is_empty() && wbuf.is_empty();
        if draining && idle {
            // Draining, between requests, every reply written: close now.
            return;
        }
        if idle {
            buffers::give_back(&mut rbuf);
            buffers::give_back_roomy(&mut wbuf);
        }
        tokio::select! {
            biased;
            r = wr.write(&wbuf), if !wbuf.is_empty() => {
                let n = match r {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                crate::stats::metrics::add_bytes(0, n);
                wbuf.advance(n);
                if wbuf.is_empty() {
                    if closing {
                        return;
                    }
                    shrink(&mut wbuf, &mut wbuf_large);
                }
                if wbuf.len() < WRITE_HIGH_WATER {
                    q.resume(&mut rbuf);
                }
            }
            // Replies move to the write buffer as soon as they are ready,
            // whether or not the client reads them: a finished request
            // then leaves the wait queue and its server's budget at once,
            // which the worker's other clients share.
            answer = q.inflight.next(), if !q.inflight.is_empty() && !closing => {
                closing = take_ready(&mut q, &mut wbuf, answer);
                wbuf_large |= wbuf.len() > KEPT_BUFFER;
                if closing && wbuf.is_empty() {
                    return;
                }
                q.answered(&mut rbuf);
                if wbuf.len() < WRITE_HIGH_WATER {
                    q.resume(&mut rbuf);
                }
            }
            // Backpressure: no more requests while the client leaves its
            // replies unread, or while enough of them are in flight.
            r = read_some(&mut rd, &mut rbuf), if q.wants_input() && wbuf.len() < WRITE_HIGH_WATER => {
                match r {
                    Ok(0) | Err(_) => q.reading = false,
                    Ok(n) => {
                        crate::stats::metrics::add_bytes(n, 0);
                        if rbuf.capacity() - rbuf.len() < 1024 {
                            rbuf.reserve(buffers::GROWTH);
                        }
                        rbuf_large |= rbuf.len() > KEPT_BUFFER;
                        q.decode_all(&mut rbuf);
                        shrink(&mut rbuf, &mut rbuf_large);
                    }
                }
            }
            _ = &mut drain, if q.wants_input() && !draining => draining = true,
            else => return,
        }
    }
}

/// Where a new client starts, and its affinity (which of a server's
/// connections carry its requests); `None`: turn it away.
fn seat_of(front: &Front) -> Option<(Seat, usize)> {
    match front {
        Front::Pool(p) => Some((Seat::Fixed(p.clone()), p.next_affinity())),
        Front::Gateway(g) => {
            g.admit()?;
            Some((Seat::Default(g.clone()), g.next_affinity()))
        }
    }
}

/// Appends `first` and every reply ready after it to `wbuf`; true when
/// one of them ends the connection.
fn take_ready(q: &mut Requests, wbuf: &mut BytesMut, first: Answer) -> bool {
    let mut closing = first.write(wbuf);
    while !closing && !q.inflight.is_empty() {
        match q.inflight.next().now_or_never() {
            Some(answer) => closing = answer.write(wbuf),
            None => break,
        }
    }
    closing
}

/// A buffer holds at most this much room once it is empty again.
const KEPT_BUFFER: usize = buffers::KEPT_MAX;

/// Gives back an empty buffer's room after a large request or reply, so
/// that a connection does not keep its largest message's size for ever
/// (the soak saw moxi's RSS climb to 300 MB with 500 clients and values up
/// to 200 KB).
fn shrink(buf: &mut BytesMut, large: &mut bool) {
    if buf.is_empty() && (*large || buf.capacity() > KEPT_BUFFER) {
        *buf = BytesMut::new();
        *large = false;
    }
}

/// Reads into `buf`, giving it room only once the socket is readable.
async fn read_some(
    rd: &mut tokio::net::tcp::OwnedReadHalf,
    buf: &mut BytesMut,
) -> std::io::Result<usize> {
    if buf.capacity() - buf.len() < 1024 {
        // (`poll_read_ready`, not `readable()`: see `server::conn`.)
        std::future::poll_fn(|cx| rd.as_ref().poll_read_ready(cx)).await?;
        if buf.capacity() == 0 {
            *buf = buffers::take();
        } else {
            buf.reserve(buffers::GROWTH);
        }
    }
    rd.read_buf(buf).await
}
