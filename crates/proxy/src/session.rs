//! One upstream (client) connection of the proxy.
//!
//! Requests are decoded as they arrive and each becomes a future; the
//! futures run concurrently (a client may pipeline) but their replies are
//! written strictly in request order (`FuturesOrdered`), so a reply always
//! goes to the request that asked, in order, even when servers answer out
//! of order. A client's requests to one server share one downstream
//! connection, so they also reach the server in order; the few requests for
//! which that is not enough are barriers that run alone
//! ([`forward::is_barrier`]).
//!
//! A client of a [`Gateway`] port sits in a bucket: the gateway's default
//! until a binary SASL PLAIN names another bucket's credentials (answered
//! here, in order with the other replies, so requests decoded after it go
//! to the new bucket).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::stream::{FuturesOrdered, StreamExt};
use futures_util::FutureExt;
use protocol::{ascii, binary, Command, Limits, Request, Response, Status, StoreMode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use server::listener::ConnGuard;

use crate::downstream::DownRequest;
use crate::error::ClientProtocol;
use crate::forward::{self, Reply};
use crate::gateway::Gateway;
use crate::PoolShared;

/// What a listening port serves.
#[derive(Clone)]
pub enum Front {
    /// One pool (a static `-z` section).
    Pool(Arc<PoolShared>),
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
    Fixed(Arc<PoolShared>),
    /// The gateway's default bucket, looked up for each request (so a
    /// client that connected before the first config is served by it).
    Default(Arc<Gateway>),
}

impl Seat {
    fn pool(&self) -> Arc<PoolShared> {
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

/// Most requests of one client in flight before reading pauses.
const MAX_INFLIGHT: usize = 1024;

type ReplyFuture = Pin<Box<dyn Future<Output = Reply>>>;

enum Decoder {
    Ascii(ascii::RequestDecoder),
    Binary(binary::RequestDecoder),
}

/// Serves one client until it leaves or quits. A gateway with no buckets
/// closes it at once (MB-3113).
pub async fn serve(stream: TcpStream, front: Front, _guard: ConnGuard) {
    let (seat, affinity) = match &front {
        Front::Pool(p) => (Seat::Fixed(p.clone()), p.next_affinity()),
        Front::Gateway(g) => {
            if g.admit().is_none() {
                return;
            }
            (Seat::Default(g.clone()), g.next_affinity())
        }
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
    // Buffers are allocated on first use, so an idle client costs little.
    let mut rbuf = BytesMut::new();
    let mut wbuf = BytesMut::new();
    let mut q = Requests::new(ctx);
    let mut drain = server::shutdown::drain_signal();
    loop {
        if *drain.borrow() && rbuf.is_empty() && q.inflight.is_empty() {
            // Draining, between requests, every reply written: close now.
            return;
        }
        tokio::select! {
            biased;
            Some(reply) = q.inflight.next(), if !q.inflight.is_empty() => {
                let mut close = append(&mut wbuf, reply);
                while !close {
                    match q.inflight.next().now_or_never() {
                        Some(Some(r)) => close = append(&mut wbuf, r),
                        _ => break,
                    }
                }
                if !wbuf.is_empty() && wr.write_all(&wbuf).await.is_err() {
                    return;
                }
                crate::metrics::add_bytes(0, wbuf.len());
                wbuf.clear();
                shrink(&mut wbuf);
                if close {
                    return;
                }
                q.answered(&mut rbuf);
            }
            r = read_some(&mut rd, &mut rbuf), if q.wants_input() => {
                match r {
                    Ok(0) | Err(_) => q.reading = false,
                    Ok(n) => {
                        crate::metrics::add_bytes(n, 0);
                        if rbuf.capacity() - rbuf.len() < 1024 {
                            rbuf.reserve(16 * 1024);
                        }
                        q.decode_all(&mut rbuf);
                        shrink(&mut rbuf);
                    }
                }
            }
            _ = drain.changed(), if q.wants_input() && !*drain.borrow() => {}
            else => return,
        }
    }
}

/// A buffer holds at most this much room once it is empty again.
const KEPT_BUFFER: usize = 64 * 1024;

/// Gives back an empty buffer's room after a large request or reply, so
/// that a connection does not keep its largest message's size for ever
/// (the soak saw moxi's RSS climb to 300 MB with 500 clients and values up
/// to 200 KB).
fn shrink(buf: &mut BytesMut) {
    if buf.is_empty() && buf.capacity() > KEPT_BUFFER {
        *buf = BytesMut::new();
    }
}

/// Reads into `buf`, giving it room only once the socket is readable.
async fn read_some(
    rd: &mut tokio::net::tcp::OwnedReadHalf,
    buf: &mut BytesMut,
) -> std::io::Result<usize> {
    if buf.capacity() - buf.len() < 1024 {
        rd.readable().await?;
        buf.reserve(16 * 1024);
    }
    rd.read_buf(buf).await
}

fn append(wbuf: &mut BytesMut, reply: Reply) -> bool {
    wbuf.extend_from_slice(&reply.bytes);
    reply.close
}

/// What to do after decoding a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    /// Read and decode on.
    More,
    /// Read no more (quit, fatal input).
    Stop,
    /// The request is a barrier (see [`forward::is_barrier`]): it starts
    /// once every request before it is answered, and nothing after it is
    /// decoded until it is answered too.
    Drain,
}

/// One client's requests: decoded ones in flight (answered in order), and
/// the state that orders barriers.
struct Requests {
    ctx: Ctx,
    decoder: Option<Decoder>,
    inflight: FuturesOrdered<ReplyFuture>,
    /// A barrier waiting for the requests before it to be answered.
    held: Option<ReplyFuture>,
    /// False once the client must not be read any more.
    reading: bool,
    /// A barrier is held or in flight: decode nothing more until it is answered.
    draining: bool,
}

impl Requests {
    fn new(ctx: Ctx) -> Requests {
        Requests {
            ctx,
            decoder: None,
            inflight: FuturesOrdered::new(),
            held: None,
            reading: true,
            draining: false,
        }
    }

    /// Whether to read from the client now.
    fn wants_input(&self) -> bool {
        self.reading && !self.draining && self.inflight.len() < MAX_INFLIGHT
    }

    /// After replies were written: once nothing is in flight, a held
    /// barrier starts, or (the barrier answered) decoding resumes.
    fn answered(&mut self, rbuf: &mut BytesMut) {
        if !self.draining || !self.inflight.is_empty() {
            return;
        }
        match self.held.take() {
            Some(barrier) => self.inflight.push_back(barrier),
            None => {
                self.draining = false;
                self.decode_all(rbuf);
            }
        }
    }

    /// Decodes every complete request in `rbuf` into a reply future,
    /// stopping early after a request that ends the connection or is a
    /// barrier (held back while earlier requests are in flight).
    fn decode_all(&mut self, rbuf: &mut BytesMut) {
        let ctx = &mut self.ctx;
        let dec = match &mut self.decoder {
            Some(d) => d,
            None => {
                let Some(&first) = rbuf.first() else {
                    return;
                };
                self.decoder.insert(if first == binary::REQUEST_MAGIC {
                    Decoder::Binary(binary::RequestDecoder::new(ctx.limits))
                } else {
                    Decoder::Ascii(ascii::RequestDecoder::new(ctx.limits))
                })
            }
        };
        loop {
            let step = match dec {
                Decoder::Ascii(d) => ascii_step(d, rbuf, ctx),
                Decoder::Binary(d) => binary_step(d, rbuf, ctx),
            };
            let (f, flow) = match step {
                Step::More => return,
                Step::Reply(f, flow) => (f, flow),
            };
            match flow {
                Flow::More => self.inflight.push_back(f),
                Flow::Stop => {
                    self.inflight.push_back(f);
                    self.reading = false;
                    return;
                }
                Flow::Drain => {
                    self.draining = true;
                    if self.inflight.is_empty() {
                        self.inflight.push_back(f);
                    } else {
                        self.held = Some(f);
                    }
                    return;
                }
            }
        }
    }
}

enum Step {
    More,
    /// A reply future, and what to do after it.
    Reply(ReplyFuture, Flow),
}

fn ready(bytes: BytesMut, close: bool) -> ReplyFuture {
    Box::pin(async move { Reply { bytes, close } })
}

fn request_future(ctx: &mut Ctx, client: ClientProtocol, req: Request) -> Step {
    if let (Front::Gateway(g), Command::SaslAuth { mechanism, data }) = (&ctx.front, &req.command) {
        let reply = match plain_credentials(mechanism, data) {
            Some((user, password)) => g.authenticate(user, password),
            None => None,
        };
        let frame = match reply {
            Some(pool) => {
                ctx.seat = Seat::Fixed(pool);
                Response::SaslAuthenticated(Bytes::from_static(b"Authenticated"))
            }
            None => Response::Status {
                status: Status::AuthError,
                message: Bytes::from_static(b"Auth failure"),
            },
        };
        let mut out = BytesMut::new();
        forward::encode(client, &req, &[frame], &mut out);
        return Step::Reply(ready(out, false), Flow::More);
    }
    let affinity = ctx.affinity;
    let topo = ctx.seat.pool().topology();
    let flow = if matches!(req.command, Command::Quit) {
        Flow::Stop
    } else if forward::is_barrier(&topo, client, &req) {
        Flow::Drain
    } else {
        Flow::More
    };
    Step::Reply(Box::pin(forward::handle(topo, client, req, affinity)), flow)
}

/// SASL PLAIN `[authzid]\0user\0password` (mechanism exactly `PLAIN`).
fn plain_credentials<'a>(mechanism: &[u8], data: &'a [u8]) -> Option<(&'a [u8], &'a [u8])> {
    if mechanism != b"PLAIN" {
        return None;
    }
    let mut parts = data.splitn(3, |&b| b == 0);
    let (_authzid, user, password) = (parts.next()?, parts.next()?, parts.next()?);
    Some((user, password))
}

fn ascii_step(d: &mut ascii::RequestDecoder, rbuf: &mut BytesMut, ctx: &mut Ctx) -> Step {
    match d.decode(rbuf) {
        Ok(None) => Step::More,
        Err(close) => {
            let mut out = BytesMut::new();
            if let Some(r) = close.reply {
                ascii::encode_response(&r, false, &mut out);
            }
            Step::Reply(ready(out, true), Flow::Stop)
        }
        Ok(Some(ascii::Decoded::Invalid(reply))) => {
            let mut out = BytesMut::new();
            if let Some(r) = reply {
                ascii::encode_response(&r, false, &mut out);
            }
            Step::Reply(ready(out, false), Flow::More)
        }
        Ok(Some(ascii::Decoded::TooLarge(req))) => too_large(ctx, ClientProtocol::Ascii, req),
        Ok(Some(ascii::Decoded::Request(req))) => request_future(ctx, ClientProtocol::Ascii, req),
    }
}

fn binary_step(d: &mut binary::RequestDecoder, rbuf: &mut BytesMut, ctx: &mut Ctx) -> Step {
    match d.decode(rbuf) {
        Ok(None) => Step::More,
        Err(close) => {
            let mut out = BytesMut::new();
            if let Some((to, r)) = close.reply {
                binary::encode_response(to, &r, &mut out);
            }
            Step::Reply(ready(out, true), Flow::Stop)
        }
        Ok(Some(binary::Decoded::Invalid(reply))) => {
            let mut out = BytesMut::new();
            if let Some((to, r)) = reply {
                binary::encode_response(to, &r, &mut out);
            }
            Step::Reply(ready(out, false), Flow::More)
        }
        Ok(Some(binary::Decoded::TooLarge(req))) => too_large(ctx, ClientProtocol::Binary, req),
        Ok(Some(binary::Decoded::Request(req))) => request_future(ctx, ClientProtocol::Binary, req),
    }
}

/// A store over the item size limit. memcached drops the old value of a
/// `set` it refuses; the original moxi left it on the server. We send the
/// delete, so a later get does not return stale data.
fn too_large(ctx: &mut Ctx, client: ClientProtocol, req: Request) -> Step {
    let topo = ctx.seat.pool().topology();
    let affinity = ctx.affinity;
    let fut = async move {
        if let Command::Store(s) = &req.command {
            if s.mode == StoreMode::Set && topo.unserved().is_none() {
                let del = Request::new(Command::Delete {
                    key: s.key.clone(),
                    cas: 0,
                });
                let key = s.key.as_bytes();
                topo.features.front.invalidate(key);
                let _ = crate::keyed::send_keyed(&topo, key, affinity, DownRequest::One(del)).await;
            }
        }
        let mut out = BytesMut::new();
        let reply = Response::Status {
            status: protocol::Status::ValueTooLarge,
            message: bytes::Bytes::from_static(b"Too large."),
        };
        forward::encode(client, &req, &[reply], &mut out);
        Reply {
            bytes: out,
            close: false,
        }
    };
    Step::Reply(Box::pin(fut), Flow::More)
}
