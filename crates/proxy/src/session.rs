//! One upstream (client) connection of the proxy.
//!
//! Requests are decoded as they arrive and each becomes a future; the
//! futures run concurrently (a client may pipeline) but their replies are
//! written strictly in request order (`FuturesOrdered`), so a reply always
//! goes to the request that asked, in order, even when servers answer out
//! of order.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::BytesMut;
use futures_util::stream::{FuturesOrdered, StreamExt};
use futures_util::FutureExt;
use protocol::{ascii, binary, Command, Request, Response, StoreMode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use server::listener::ConnGuard;

use crate::downstream::DownRequest;
use crate::error::ClientProtocol;
use crate::forward::{self, Reply};
use crate::PoolShared;

/// Most requests of one client in flight before reading pauses.
const MAX_INFLIGHT: usize = 1024;

type ReplyFuture = Pin<Box<dyn Future<Output = Reply>>>;

enum Decoder {
    Ascii(ascii::RequestDecoder),
    Binary(binary::RequestDecoder),
}

/// Serves one client until it leaves or quits.
pub async fn serve(stream: TcpStream, shared: Arc<PoolShared>, _guard: ConnGuard) {
    let affinity = shared.next_affinity();
    let (mut rd, mut wr) = stream.into_split();
    let mut rbuf = BytesMut::with_capacity(16 * 1024);
    let mut wbuf = BytesMut::with_capacity(16 * 1024);
    let mut inflight: FuturesOrdered<ReplyFuture> = FuturesOrdered::new();
    let mut decoder: Option<Decoder> = None;
    let mut reading = true;
    loop {
        tokio::select! {
            biased;
            Some(reply) = inflight.next(), if !inflight.is_empty() => {
                let mut close = append(&mut wbuf, reply);
                while !close {
                    match inflight.next().now_or_never() {
                        Some(Some(r)) => close = append(&mut wbuf, r),
                        _ => break,
                    }
                }
                if !wbuf.is_empty() && wr.write_all(&wbuf).await.is_err() {
                    return;
                }
                wbuf.clear();
                if close {
                    return;
                }
            }
            r = rd.read_buf(&mut rbuf), if reading && inflight.len() < MAX_INFLIGHT => {
                match r {
                    Ok(0) | Err(_) => reading = false,
                    Ok(_) => {
                        if rbuf.capacity() - rbuf.len() < 1024 {
                            rbuf.reserve(16 * 1024);
                        }
                        reading = decode_all(&mut rbuf, &mut decoder, &shared, affinity, &mut inflight);
                    }
                }
            }
            else => return,
        }
    }
}

fn append(wbuf: &mut BytesMut, reply: Reply) -> bool {
    wbuf.extend_from_slice(&reply.bytes);
    reply.close
}

/// Decodes every complete request in `rbuf` into a reply future. Returns
/// false when the client must not be read any more (quit, fatal input).
fn decode_all(
    rbuf: &mut BytesMut,
    decoder: &mut Option<Decoder>,
    shared: &Arc<PoolShared>,
    affinity: usize,
    inflight: &mut FuturesOrdered<ReplyFuture>,
) -> bool {
    let dec = match decoder {
        Some(d) => d,
        None => {
            let Some(&first) = rbuf.first() else {
                return true;
            };
            decoder.insert(if first == binary::REQUEST_MAGIC {
                Decoder::Binary(binary::RequestDecoder::new(shared.limits))
            } else {
                Decoder::Ascii(ascii::RequestDecoder::new(shared.limits))
            })
        }
    };
    loop {
        let step = match dec {
            Decoder::Ascii(d) => ascii_step(d, rbuf, shared, affinity),
            Decoder::Binary(d) => binary_step(d, rbuf, shared, affinity),
        };
        match step {
            Step::More => return true,
            Step::Reply(f, go_on) => {
                inflight.push_back(f);
                if !go_on {
                    return false;
                }
            }
        }
    }
}

enum Step {
    More,
    /// A reply future, and whether to keep decoding after it.
    Reply(ReplyFuture, bool),
}

fn ready(bytes: BytesMut, close: bool) -> ReplyFuture {
    Box::pin(async move { Reply { bytes, close } })
}

fn request_future(
    shared: &Arc<PoolShared>,
    client: ClientProtocol,
    req: Request,
    affinity: usize,
) -> Step {
    let quits = matches!(req.command, Command::Quit);
    let topo = shared.topology();
    Step::Reply(
        Box::pin(forward::handle(topo, client, req, affinity)),
        !quits,
    )
}

fn ascii_step(
    d: &mut ascii::RequestDecoder,
    rbuf: &mut BytesMut,
    shared: &Arc<PoolShared>,
    affinity: usize,
) -> Step {
    match d.decode(rbuf) {
        Ok(None) => Step::More,
        Err(close) => {
            let mut out = BytesMut::new();
            if let Some(r) = close.reply {
                ascii::encode_response(&r, false, &mut out);
            }
            Step::Reply(ready(out, true), false)
        }
        Ok(Some(ascii::Decoded::Invalid(reply))) => {
            let mut out = BytesMut::new();
            if let Some(r) = reply {
                ascii::encode_response(&r, false, &mut out);
            }
            Step::Reply(ready(out, false), true)
        }
        Ok(Some(ascii::Decoded::TooLarge(req))) => {
            too_large(shared, ClientProtocol::Ascii, req, affinity)
        }
        Ok(Some(ascii::Decoded::Request(req))) => {
            request_future(shared, ClientProtocol::Ascii, req, affinity)
        }
    }
}

fn binary_step(
    d: &mut binary::RequestDecoder,
    rbuf: &mut BytesMut,
    shared: &Arc<PoolShared>,
    affinity: usize,
) -> Step {
    match d.decode(rbuf) {
        Ok(None) => Step::More,
        Err(close) => {
            let mut out = BytesMut::new();
            if let Some((to, r)) = close.reply {
                binary::encode_response(to, &r, &mut out);
            }
            Step::Reply(ready(out, true), false)
        }
        Ok(Some(binary::Decoded::Invalid(reply))) => {
            let mut out = BytesMut::new();
            if let Some((to, r)) = reply {
                binary::encode_response(to, &r, &mut out);
            }
            Step::Reply(ready(out, false), true)
        }
        Ok(Some(binary::Decoded::TooLarge(req))) => {
            too_large(shared, ClientProtocol::Binary, req, affinity)
        }
        Ok(Some(binary::Decoded::Request(req))) => {
            request_future(shared, ClientProtocol::Binary, req, affinity)
        }
    }
}

/// A store over the item size limit. memcached drops the old value of a
/// `set` it refuses; the original moxi left it on the server. We send the
/// delete, so a later get does not return stale data.
fn too_large(
    shared: &Arc<PoolShared>,
    client: ClientProtocol,
    req: Request,
    affinity: usize,
) -> Step {
    let topo = shared.topology();
    let fut = async move {
        if let Command::Store(s) = &req.command {
            if s.mode == StoreMode::Set {
                let server = topo.locate(s.key.as_bytes());
                let del = Request::new(Command::Delete {
                    key: s.key.clone(),
                    cas: 0,
                });
                let _ = forward::send(&topo, server, affinity, DownRequest::One(del)).await;
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
    Step::Reply(Box::pin(fut), true)
}
