//! One client's decoded requests: each becomes a reply future, run
//! concurrently and answered in order; barriers run alone (see
//! [`dispatch::is_barrier`]), and SASL PLAIN on a gateway port picks the
//! client's bucket.

use bytes::{Bytes, BytesMut};
use protocol::{ascii, binary, Command, Request, Response, Status, StoreMode};

use super::inflight::{InFlight, ReplyFuture};
use super::{Ctx, Front, Seat};
use crate::dispatch::direct::Direct;
use crate::dispatch::{self, Reply};
use crate::downstream::DownRequest;
use crate::error::ClientProtocol;

/// Most requests of one client in flight before decoding pauses.
pub(super) const MAX_INFLIGHT: usize = 1024;

enum Decoder {
    Ascii(ascii::RequestDecoder),
    Binary(binary::RequestDecoder),
}

/// What to do after decoding a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    /// Read and decode on.
    More,
    /// Read no more (quit, fatal input).
    Stop,
    /// The request is a barrier (see [`dispatch::is_barrier`]): it starts
    /// once every request before it is answered, and nothing after it is
    /// decoded until it is answered too.
    Drain,
}

/// One client's requests: decoded ones in flight (answered in order), and
/// the state that orders barriers.
pub(super) struct Requests {
    ctx: Ctx,
    decoder: Option<Decoder>,
    pub(super) inflight: InFlight,
    /// A barrier waiting for the requests before it to be answered.
    held: Option<ReplyFuture>,
    /// False once the client must not be read any more (it left, or
    /// `stopped`).
    pub(super) reading: bool,
    /// Quit or fatal input: decode nothing more, even what was read.
    stopped: bool,
    /// A barrier is held or in flight: decode nothing more until it is answered.
    draining: bool,
}

impl Requests {
    pub(super) fn new(ctx: Ctx) -> Requests {
        Requests {
            ctx,
            decoder: None,
            inflight: InFlight::new(),
            held: None,
            reading: true,
            stopped: false,
            draining: false,
        }
    }

    /// Whether to read from the client now.
    pub(super) fn wants_input(&self) -> bool {
        self.reading && !self.draining && self.inflight.len() < MAX_INFLIGHT
    }

    /// Decodes requests read earlier and left in `rbuf` while
    /// [`MAX_INFLIGHT`] were in flight (or the replies were not written).
    pub(super) fn resume(&mut self, rbuf: &mut BytesMut) {
        if !self.draining && self.inflight.len() < MAX_INFLIGHT {
            self.decode_all(rbuf);
        }
    }

    /// After replies were buffered: once nothing is in flight, a held
    /// barrier starts, or (the barrier answered) decoding resumes.
    pub(super) fn answered(&mut self, rbuf: &mut BytesMut) {
        if !self.draining || !self.inflight.is_empty() {
            return;
        }
        match self.held.take() {
            Some(barrier) => self.inflight.push_future(barrier),
            None => {
                self.draining = false;
                self.decode_all(rbuf);
            }
        }
    }

    /// Decodes complete requests in `rbuf` into reply futures, up to
    /// [`MAX_INFLIGHT`] in flight, stopping early after a request that ends
    /// the connection or is a barrier (held back while earlier requests
    /// are in flight).
    pub(super) fn decode_all(&mut self, rbuf: &mut BytesMut) {
        if self.stopped {
            return;
        }
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
        while self.inflight.len() < MAX_INFLIGHT {
            let step = match dec {
                Decoder::Ascii(d) => ascii_step(d, rbuf, ctx),
                Decoder::Binary(d) => binary_step(d, rbuf, ctx),
            };
            let step = match step {
                // A request sent now must not overtake one on the general
                // path that has not sent its own yet (futures send when
                // first polled): the direct lane waits for those.
                Step::Decoded(client, req) => {
                    request_future(ctx, client, req, self.inflight.general_idle())
                }
                other => other,
            };
            let (f, flow) = match step {
                Step::More | Step::Decoded(..) => return,
                Step::Direct(d) => {
                    self.inflight.push_direct(d);
                    continue;
                }
                Step::Reply(f, flow) => (f, flow),
            };
            match flow {
                Flow::More => self.inflight.push_future(f),
                Flow::Stop => {
                    self.inflight.push_future(f);
                    self.reading = false;
                    self.stopped = true;
                    return;
                }
                Flow::Drain => {
                    self.draining = true;
                    if self.inflight.is_empty() {
                        self.inflight.push_future(f);
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
    /// A request sent on the direct lane (read and decode on).
    Direct(Direct),
    /// A request to hand to [`request_future`].
    Decoded(ClientProtocol, Request),
}

fn ready(bytes: BytesMut, close: bool) -> ReplyFuture {
    Box::pin(async move { Reply { bytes, close } })
}

fn request_future(ctx: &mut Ctx, client: ClientProtocol, req: Request, direct: bool) -> Step {
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
        dispatch::encode(client, &req, &[frame], &mut out);
        return Step::Reply(ready(out, false), Flow::More);
    }
    let affinity = ctx.affinity;
    let topo = ctx.seat.pool().topology();
    let flow = if matches!(req.command, Command::Quit) {
        Flow::Stop
    } else if dispatch::is_barrier(&topo, client, &req) {
        Flow::Drain
    } else {
        Flow::More
    };
    let req = if direct && flow == Flow::More {
        match Direct::start(&topo, client, req, affinity) {
            Ok(direct) => return Step::Direct(direct),
            Err(req) => req,
        }
    } else {
        req
    };
    Step::Reply(
        Box::pin(dispatch::handle(topo, client, req, affinity)),
        flow,
    )
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
        Ok(Some(ascii::Decoded::Request(req))) => Step::Decoded(ClientProtocol::Ascii, req),
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
        Ok(Some(binary::Decoded::Request(req))) => Step::Decoded(ClientProtocol::Binary, req),
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
                let _ = crate::dispatch::keyed::send_for_key(
                    &topo,
                    key,
                    affinity,
                    DownRequest::One(del),
                )
                .await;
            }
        }
        let mut out = BytesMut::new();
        let reply = Response::Status {
            status: protocol::Status::ValueTooLarge,
            message: bytes::Bytes::from_static(b"Too large."),
        };
        dispatch::encode(client, &req, &[reply], &mut out);
        Reply {
            bytes: out,
            close: false,
        }
    };
    Step::Reply(Box::pin(fut), Flow::More)
}
