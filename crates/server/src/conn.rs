//! One client connection of the embedded server: read, decode, execute,
//! encode, write. Requests are answered strictly in order; replies to a
//! pipelined batch are written together.

use std::rc::Rc;
use std::sync::Arc;

use bytes::BytesMut;
use engine::Engine;
use protocol::{ascii, binary, meta, Command, Limits, Request, Response};
use std::os::fd::AsRawFd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::conns::unix_now;
use crate::execute::{self, execute, too_large, Flow};
use crate::settings::{Binding, Settings};
use crate::stats::{ServerStats, StatsSources};
use runtime::buffers;
use runtime::listener::{ConnGuard, ConnLimit};

/// Write buffer size past which replies are flushed before decoding more.
const WRITE_HIGH_WATER: usize = 256 * 1024;

/// Shared state every connection reads.
pub struct Shared {
    /// The cache.
    pub engine: Arc<Engine>,
    /// Server counters.
    pub stats: Arc<ServerStats>,
    /// Connection counters.
    pub conns: Arc<ConnLimit>,
    /// Settings.
    pub settings: Arc<Settings>,
    /// The first bound port (for `stats settings`).
    pub port: u16,
    /// Decoder limits.
    pub limits: Limits,
}

impl Shared {
    fn sources(&self) -> StatsSources<'_> {
        StatsSources {
            server: &self.stats,
            engine: &self.engine,
            conns: &self.conns,
            settings: &self.settings,
            port: self.port,
        }
    }
}

enum Decoder {
    /// A text connection: classic ascii and meta commands mixed.
    Ascii(meta::RequestDecoder),
    Binary(binary::RequestDecoder),
}

/// Serves one connection until the client leaves, quits or breaks the protocol.
pub async fn serve(mut stream: TcpStream, shared: Rc<Shared>, _guard: ConnGuard) {
    // Buffers are held only while bytes are in them (`runtime::buffers`), so
    // an idle client costs little.
    let mut rbuf = BytesMut::new();
    let mut wbuf = BytesMut::new();
    let mut decoder: Option<Decoder> = None;
    let registration = match (stream.peer_addr(), stream.local_addr()) {
        (Ok(peer), Ok(local)) => Some(shared.stats.conn_table.register(
            stream.as_raw_fd(),
            peer,
            local,
            unix_now(),
        )),
        _ => None,
    };
    let fd = registration.as_ref().map_or(-1, |r| r.fd());
    let mut drain = std::pin::pin!(runtime::shutdown::drained());
    let mut draining = runtime::shutdown::draining();
    loop {
        if draining && rbuf.is_empty() {
            // Draining and between requests: nothing is lost by closing now.
            return;
        }
        let idle = shared.settings.idle_timeout;
        let n = tokio::select! {
            biased;
            r = read_some(&mut stream, &mut rbuf) => match r {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            _ = &mut drain, if !draining => {
                draining = true;
                continue;
            }
            // `-o idle_timeout`: memcached closes a connection silent that
            // long. (An async block: nothing is built unless it is polled.)
            _ = async { tokio::time::sleep(std::time::Duration::from_secs(idle)).await }, if idle > 0 => {
                shared.stats.add_idle_kick();
                return;
            }
        };
        shared.stats.add_read(n);
        if let Some(r) = &registration {
            r.commands_at(unix_now());
        }
        let dec = match decoder.as_mut() {
            Some(d) => d,
            None => match pick_decoder(rbuf[0], &shared) {
                Some(d) => decoder.insert(d),
                None => return,
            },
        };
        let mut handled = 0;
        let flow = loop {
            let step = match dec {
                Decoder::Ascii(d) => ascii_step(d, &mut rbuf, &mut wbuf, &shared, fd),
                Decoder::Binary(d) => binary_step(d, &mut rbuf, &mut wbuf, &shared),
            };
            match step {
                Step::More => break Flow::Continue,
                Step::Close => break Flow::Close,
                Step::Done => {
                    if wbuf.len() >= WRITE_HIGH_WATER
                        && !flush(&mut stream, &mut wbuf, &shared).await
                    {
                        return;
                    }
                    // `-R`: after that many requests of one batch, let the
                    // worker's other connections run (memcached's conn_yields).
                    handled += 1;
                    if handled % shared.settings.reqs_per_event.max(1) == 0 {
                        shared.stats.add_yield();
                        tokio::task::yield_now().await;
                    }
                }
            }
        };
        if !wbuf.is_empty() && !flush(&mut stream, &mut wbuf, &shared).await {
            return;
        }
        if flow == Flow::Close {
            return;
        }
        // Between requests (a partial one keeps its buffer).
        buffers::give_back(&mut rbuf);
        buffers::give_back_roomy(&mut wbuf);
    }
}

/// Reads into `buf`, giving it room only once the socket is readable, so an
/// idle connection holds no read buffer.
async fn read_some(stream: &mut TcpStream, buf: &mut BytesMut) -> std::io::Result<usize> {
    if buf.capacity() - buf.len() < 1024 {
        // (`poll_read_ready`, not `readable()`: the latter's future joins
        // and leaves a waiter list, some 300 instructions per request.)
        std::future::poll_fn(|cx| stream.poll_read_ready(cx)).await?;
        if buf.capacity() == 0 {
            *buf = buffers::take();
        } else {
            buf.reserve(buffers::GROWTH);
        }
    }
    stream.read_buf(buf).await
}

fn pick_decoder(first: u8, shared: &Shared) -> Option<Decoder> {
    let is_binary = first == binary::REQUEST_MAGIC;
    match (shared.settings.binding, is_binary) {
        (Binding::Ascii, true) | (Binding::Binary, false) => None,
        (_, true) => Some(Decoder::Binary(binary::RequestDecoder::new(shared.limits))),
        (_, false) => Some(Decoder::Ascii(meta::RequestDecoder::new(shared.limits))),
    }
}

async fn flush(stream: &mut TcpStream, wbuf: &mut BytesMut, shared: &Shared) -> bool {
    let n = wbuf.len();
    let ok = stream.write_all(wbuf).await.is_ok();
    shared.stats.add_written(n);
    wbuf.clear();
    ok
}

enum Step {
    /// A request was handled; try the next one.
    Done,
    /// More bytes are needed.
    More,
    /// Write what is buffered, then close.
    Close,
}

fn ascii_step(
    d: &mut meta::RequestDecoder,
    rbuf: &mut BytesMut,
    wbuf: &mut BytesMut,
    shared: &Shared,
    fd: i32,
) -> Step {
    match d.decode(rbuf) {
        Ok(None) => Step::More,
        Err(close) => {
            if let Some(reply) = close.reply {
                ascii::encode_response(&reply, false, wbuf);
            }
            Step::Close
        }
        Ok(Some(meta::Decoded::Ascii(decoded))) => classic_step(decoded, wbuf, shared, fd),
        Ok(Some(meta::Decoded::Meta(req))) => {
            crate::meta::execute(&shared.sources(), &req, wbuf);
            Step::Done
        }
        Ok(Some(meta::Decoded::TooLarge(req))) => {
            crate::meta::too_large(&shared.engine, &req, wbuf);
            Step::Done
        }
        Ok(Some(meta::Decoded::Invalid(reply))) => {
            meta::encode_response(&reply, wbuf);
            Step::Done
        }
        Ok(Some(meta::Decoded::Admin(admin))) => admin_step(admin, wbuf, shared),
    }
}

/// An admin command: answered by [`crate::admin`]; `shutdown` closes.
fn admin_step(admin: meta::Admin, wbuf: &mut BytesMut, shared: &Shared) -> Step {
    match crate::admin::answer(admin, &shared.settings, &shared.engine, wbuf) {
        Flow::Continue => Step::Done,
        Flow::Close => Step::Close,
    }
}

/// One classic ascii request (or its error) from a text connection on `fd`.
fn classic_step(decoded: ascii::Decoded, wbuf: &mut BytesMut, shared: &Shared, fd: i32) -> Step {
    match decoded {
        ascii::Decoded::Invalid(reply) => {
            if let Some(reply) = reply {
                ascii::encode_response(&reply, false, wbuf);
            }
            Step::Done
        }
        ascii::Decoded::TooLarge(req) => {
            reject_too_large(&req, shared);
            if !req.quiet {
                ascii::encode_response(&too_large(), false, wbuf);
            }
            Step::Done
        }
        ascii::Decoded::Request(req) => {
            if let Command::Stats { group } = &req.command {
                if crate::stats_text::answer(&shared.sources(), group, fd, wbuf) {
                    return Step::Done;
                }
            }
            if let Command::Get(get) = &req.command {
                if !get.kind.touches() && !req.quiet {
                    execute::retrieve_ascii(&shared.sources(), get, wbuf);
                    return Step::Done;
                }
            }
            let show_cas = matches!(&req.command, Command::Get(g) if matches!(g.kind, protocol::GetKind::Gets | protocol::GetKind::Gats));
            // memcached's noreply silences every reply of the classic commands.
            let quiet = req.quiet;
            let flow = execute(&shared.sources(), &req, false, &mut |resp: Response| {
                if !quiet {
                    ascii::encode_response(&resp, show_cas, wbuf);
                }
            });
            if flow == Flow::Close {
                Step::Close
            } else {
                Step::Done
            }
        }
    }
}

fn binary_step(
    d: &mut binary::RequestDecoder,
    rbuf: &mut BytesMut,
    wbuf: &mut BytesMut,
    shared: &Shared,
) -> Step {
    match d.decode(rbuf) {
        Ok(None) => Step::More,
        Err(close) => {
            if let Some((to, reply)) = close.reply {
                binary::encode_response(to, &reply, wbuf);
            }
            Step::Close
        }
        Ok(Some(binary::Decoded::Invalid(reply))) => {
            if let Some((to, reply)) = reply {
                binary::encode_response(to, &reply, wbuf);
            }
            Step::Done
        }
        Ok(Some(binary::Decoded::TooLarge(req))) => {
            reject_too_large(&req, shared);
            let reply = too_large();
            if !binary::is_suppressed(&req, &reply) {
                binary::encode_response(binary::ReplyTo::of(&req), &reply, wbuf);
            }
            Step::Done
        }
        Ok(Some(binary::Decoded::Request(req))) => {
            let to = binary::ReplyTo::of(&req);
            let mut hit = false;
            let flow = execute(&shared.sources(), &req, true, &mut |resp: Response| {
                // A binary GET answers with its hit or, failing that, the miss.
                match resp {
                    Response::Value(_) => hit = true,
                    Response::End if hit => return,
                    _ => {}
                }
                if !binary::is_suppressed(&req, &resp) {
                    binary::encode_response(to.clone(), &resp, wbuf);
                }
            });
            if matches!(req.command, Command::Quit) && !req.quiet {
                // Binary QUIT is acknowledged before the close.
                binary::encode_response(to, &Response::Ok, wbuf);
            }
            if flow == Flow::Close {
                Step::Close
            } else {
                Step::Done
            }
        }
    }
}

fn reject_too_large(req: &Request, shared: &Shared) {
    if let Command::Store(s) = &req.command {
        // memcached counts the set for `stats detail` before it sizes the item.
        shared.stats.detail.record_set(s.key.as_bytes());
        shared.engine.reject_too_large(s.mode, s.key.as_bytes());
    }
}
