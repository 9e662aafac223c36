//! What the proxy does with each client request: keyed commands go to the
//! key's server, multi-gets are split per server and merged in the request's
//! key order, flush_all and stats are broadcast, and version, verbosity,
//! noop and quit are answered locally. Replies are normalised to the
//! client's command (a2b: binary ADD's "exists" is ascii's NOT_STORED) and
//! encoded in the client's protocol.

pub(crate) mod direct;
pub(crate) mod keyed;
pub(crate) mod merge;

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::future::join_all;
use protocol::{ascii, binary, Command, GetKind, Request, Response, Status, StoreMode};

use crate::dispatch::merge::StatsMerger;
use crate::downstream::pool;
use crate::downstream::{DownRequest, DownResult};
use crate::error::{failure_reply, unserved_reply, ClientProtocol, DownError, Failure};
use crate::topology::{DownstreamProtocol, Topology};

/// The bytes to write back for one client request, in order.
#[derive(Debug, Default)]
pub struct Reply {
    /// Encoded reply (may be empty: noreply, quiet).
    pub bytes: BytesMut,
    /// Close the client connection after writing.
    pub close: bool,
}

/// The version moxi reports for itself.
pub const VERSION: &str = concat!("1.6.18-moxi-", env!("CARGO_PKG_VERSION"));

/// Sends one request to one server, with `downstream_timeout` and moxi's
/// `downstream_retry` re-sends when a connection turns out to be closed
/// ([`Resends`]).
pub async fn send(topo: &Topology, server: usize, affinity: usize, req: DownRequest) -> DownResult {
    let mut resends = Resends::new(topo);
    if !resends.enabled() {
        return send_once(topo, server, affinity, req).await;
    }
    loop {
        let result = send_once(topo, server, affinity, req.clone()).await;
        if !resends.again(topo, &result) {
            return result;
        }
    }
}

/// How often a request is re-sent because a connection it waited on was
/// lost through another request's failure: bounded, in case every
/// connection to the server keeps failing that way.
pub const MAX_DROPPED_RESENDS: u32 = 4;

/// moxi's re-send rule for one request: after a closed connection or a
/// failed write, `downstream_retry` more times; after losing its connection
/// through another request's failure ([`DownError::new(Failure::Dropped)`]), again
/// without using that up, up to [`MAX_DROPPED_RESENDS`] times. With
/// `downstream_retry=0`, never.
pub struct Resends {
    /// `downstream_retry` is not 0.
    allowed: bool,
    left: u32,
    dropped: u32,
}

impl Resends {
    /// The re-sends `topo` allows a new request.
    pub fn new(topo: &Topology) -> Resends {
        Resends {
            allowed: topo.timeouts.retries > 0,
            left: topo.timeouts.retries,
            dropped: 0,
        }
    }

    fn enabled(&self) -> bool {
        self.allowed
    }

    /// Whether to send again after `result`; counts the re-send.
    pub fn again(&mut self, topo: &Topology, result: &DownResult) -> bool {
        if !self.enabled() {
            return false;
        }
        let Err(e) = result else {
            return false;
        };
        match e.kind {
            Failure::Dropped if self.dropped < MAX_DROPPED_RESENDS => self.dropped += 1,
            Failure::Closed | Failure::Write | Failure::Dropped if self.left > 0 => self.left -= 1,
            _ => return false,
        }
        topo.bump(|s| &s.tot_retry);
        true
    }
}

/// After a request's final result: a failure names its server and is
/// logged at `-vv` (one line per failed request); a timeout is counted and
/// the connection it waited on leaves the pool.
#[inline]
pub fn after_result(
    topo: &Topology,
    server: usize,
    affinity: usize,
    result: DownResult,
) -> DownResult {
    result.map_err(|e| {
        let e = failed(topo, server, e);
        if e.is(Failure::Timeout) {
            topo.bump(|s| &s.tot_downstream_timeout);
            pool::discard(topo, server, affinity);
        }
        e
    })
}

/// A request to `server` failed with `e`: it is named in the error, and
/// logged at `-vv`.
#[cold]
fn failed(topo: &Topology, server: usize, e: DownError) -> DownError {
    let e = e.at(|| topo.name(server));
    if log::log_enabled!(log::Level::Debug) {
        let addr = topo.name(server);
        log::debug!(server = &*addr; "request to {addr} failed: {}", e.kind_and_cause());
    }
    e
}

/// Counts an answered request (metrics, `stats proxy` timings, key stats),
/// logs it at `-vvv`, and encodes its reply frames for the client.
pub fn answer(
    topo: &Topology,
    client: ClientProtocol,
    req: &Request,
    frames: &[Response],
    took: std::time::Duration,
    out: &mut BytesMut,
) {
    crate::stats::observe(topo, req, frames, took);
    if log::log_enabled!(log::Level::Trace) {
        trace_request(req, frames, took);
    }
    encode(client, req, frames, out);
}

/// One `-vvv` line: command, first key, result class, time taken.
fn trace_request(req: &Request, frames: &[Response], took: std::time::Duration) {
    let cmd = crate::stats::metrics::COMMANDS[crate::stats::metrics::command_index(req)];
    let key = crate::dispatch::keyed::command_key(&req.command)
        .map(|k| crate::health::server_log::escaped(k.as_bytes()))
        .unwrap_or_default();
    let result = crate::stats::metrics::RESULTS[crate::stats::metrics::result_index(req, frames)];
    log::trace!(
        command = cmd, key = key.as_str(), result = result, micros = took.as_micros() as u64;
        "request {cmd} {key}: {result} in {took:?}"
    );
}

async fn send_once(
    topo: &Topology,
    server: usize,
    affinity: usize,
    req: DownRequest,
) -> DownResult {
    if topo.is_down(server) {
        // Marked down after connect_max_errors failures: fail at once.
        topo.bump(|s| &s.tot_downstream_connect_interval);
        return Err(failed(topo, server, down()));
    }
    let _slot = crate::admission::server_slot(topo, server, affinity)
        .await
        .map_err(|e| failed(topo, server, e))?;
    let deadline = crate::downstream::deadline(std::time::Instant::now(), topo.timeouts.downstream);
    let result = pool::conn(topo, server, affinity).send(req, deadline).await;
    after_result(topo, server, affinity, result)
}

/// The failure of a request to a server marked down (after
/// `connect_max_errors` failed connects: the last one's cause is in the
/// server's log line).
pub fn down() -> DownError {
    DownError::new(Failure::Connect)
}

/// True when `req` must not overlap with the client's other requests: it
/// starts once every earlier request is answered, and later ones start once
/// it is answered. Requests to one server share a connection and so keep
/// their order anyway; these are the ones that would not:
/// - flush_all, a broadcast: when servers are themselves proxies in front
///   of shared servers (moxi's fanoutin), a flush on one path could
///   overtake a store sent before it on another;
/// - a binary client's incr/decr with create-on-miss to an ascii server,
///   several requests each waiting for the last (incr, add, incr), which a
///   later request to the same key could overtake.
pub fn is_barrier(topo: &Topology, client: ClientProtocol, req: &Request) -> bool {
    match &req.command {
        Command::FlushAll { .. } => true,
        Command::Arith(a) => {
            a.creates()
                && client == ClientProtocol::Binary
                && topo.protocol == DownstreamProtocol::Ascii
        }
        _ => false,
    }
}

/// Handles one decoded client request.
pub async fn handle(
    topo: Arc<Topology>,
    client: ClientProtocol,
    req: Request,
    affinity: usize,
) -> Reply {
    let mut out = Reply::default();
    let started = std::time::Instant::now();
    if let Some(frames) = crate::stats::proxy::local(&req.command) {
        encode(client, &req, &frames, &mut out.bytes);
        return out;
    }
    if let Some(why) = topo.unserved() {
        if needs_servers(&req.command) {
            let is_get = matches!(req.command, Command::Get(_));
            let reply = unserved_reply(why, client, is_get);
            log::debug!("request failed: the pool has no servers ({why:?})");
            encode(client, &req, &[reply], &mut out.bytes);
            return out;
        }
    }
    let _permit = match admit(&topo, client, &req, affinity).await {
        Ok(permit) => permit,
        Err(reply) => {
            log::debug!("request failed: wait queue timeout");
            encode(client, &req, &[reply], &mut out.bytes);
            return out;
        }
    };
    let frames: Vec<Response> = match &req.command {
        Command::Get(get) if client == ClientProtocol::Ascii => {
            if topo.features.caches(get) {
                crate::features::get(&topo, get, affinity).await
            } else {
                keyed::multi_get(&topo, get, affinity).await
            }
        }
        Command::Get(get) => keyed::binary_get(&topo, get, affinity).await,
        Command::Store(_) | Command::Arith(_) | Command::Delete { .. } | Command::Touch { .. } => {
            vec![crate::features::forward_invalidating(&topo, &req, client, affinity).await]
        }
        Command::FlushAll { .. } => {
            let flush = flush_all(&topo, &req, client, affinity);
            vec![crate::features::flush_all(&topo, flush).await]
        }
        Command::Stats { group } => stats(&topo, &req, group, client, affinity).await,
        Command::Version => vec![Response::Version(Bytes::from_static(VERSION.as_bytes()))],
        Command::Verbosity { .. } | Command::Noop => vec![Response::Ok],
        Command::Quit => {
            out.close = true;
            if client == ClientProtocol::Binary && !req.quiet {
                vec![Response::Ok]
            } else {
                Vec::new()
            }
        }
        Command::SaslListMechs => vec![Response::SaslMechs(Bytes::from_static(b"PLAIN"))],
        Command::SaslAuth { .. } | Command::SaslStep { .. } => {
            vec![Response::Status {
                status: Status::AuthError,
                message: Bytes::from_static(b"Auth failure"),
            }]
        }
    };
    answer(
        &topo,
        client,
        &req,
        &frames,
        started.elapsed(),
        &mut out.bytes,
    );
    out
}

/// A place in the pool's wait queue for a request that goes to servers,
/// or the reply for one that waited too long (a miss for ascii gets
/// outside vBucket pools, as moxi).
async fn admit<'a>(
    topo: &'a Topology,
    client: ClientProtocol,
    req: &Request,
    affinity: usize,
) -> Result<crate::admission::Permit<'a>, Response> {
    if !needs_servers(&req.command) {
        return Ok(None);
    }
    crate::admission::admit(topo, affinity).await.map_err(|e| {
        let get = matches!(req.command, Command::Get(_));
        if get && client == ClientProtocol::Ascii && !topo.is_vbucket() {
            Response::End
        } else {
            failure_reply(&e, client)
        }
    })
}

/// Whether a command goes to servers (rather than being answered here).
fn needs_servers(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::Get(_)
            | Command::Store(_)
            | Command::Arith(_)
            | Command::Delete { .. }
            | Command::Touch { .. }
            | Command::FlushAll { .. }
            | Command::Stats { .. }
    )
}

/// Encodes reply frames for the client, applying noreply and quiet rules.
pub fn encode(client: ClientProtocol, req: &Request, frames: &[Response], out: &mut BytesMut) {
    match client {
        ClientProtocol::Ascii => {
            if req.quiet {
                return;
            }
            let show_cas = matches!(&req.command, Command::Get(g) if matches!(g.kind, GetKind::Gets | GetKind::Gats));
            for f in frames {
                ascii::encode_response(f, show_cas, out);
            }
        }
        ClientProtocol::Binary => {
            let to = binary::ReplyTo::of(req);
            for f in frames {
                if !binary::is_suppressed(req, f) {
                    binary::encode_response(to.clone(), f, out);
                }
            }
        }
    }
}

/// Maps a downstream reply to what the client's command expects: binary
/// ADD answers "exists" where ascii says NOT_STORED, REPLACE "not found".
pub fn normalize(cmd: &Command, resp: Response) -> Response {
    let mode = match cmd {
        Command::Store(s) => s.mode,
        // A binary TOUCH miss decodes like a GET miss; ascii says NOT_FOUND.
        Command::Touch { .. } if resp == Response::End => return Response::NotFound,
        _ => return resp,
    };
    match (mode, resp) {
        (StoreMode::Add, Response::Exists) => Response::NotStored,
        (
            StoreMode::Add,
            Response::Status {
                status: Status::KeyExists,
                ..
            },
        ) => Response::NotStored,
        (StoreMode::Replace | StoreMode::Append | StoreMode::Prepend, Response::NotFound) => {
            Response::NotStored
        }
        (
            StoreMode::Replace | StoreMode::Append | StoreMode::Prepend,
            Response::Status {
                status: Status::KeyNotFound,
                ..
            },
        ) => Response::NotStored,
        (
            _,
            Response::Status {
                status: Status::ItemNotStored,
                ..
            },
        ) => Response::NotStored,
        (_, other) => other,
    }
}

/// flush_all: to every server; `OK` when all agree.
async fn flush_all(
    topo: &Topology,
    req: &Request,
    client: ClientProtocol,
    affinity: usize,
) -> Response {
    let mut down = req.clone();
    down.quiet = false;
    let all =
        (0..topo.servers.len()).map(|i| send(topo, i, affinity, DownRequest::One(down.clone())));
    for r in join_all(all).await {
        match r {
            Ok(frames) => match frames.into_iter().next() {
                Some(Response::Ok) => {}
                Some(other) => return other,
                None => return failure_reply(&DownError::new(Failure::Protocol), client),
            },
            Err(e) => return failure_reply(&e, client),
        }
    }
    Response::Ok
}

/// `stats` (merged), `stats reset` (broadcast); other groups are refused as moxi does.
async fn stats(
    topo: &Topology,
    req: &Request,
    group: &Bytes,
    client: ClientProtocol,
    affinity: usize,
) -> Vec<Response> {
    let reset = &group[..] == b"reset";
    if !group.is_empty() && !reset {
        return vec![Response::Error(protocol::ErrorKind::UnknownCommand)];
    }
    let mut down = req.clone();
    down.quiet = false;
    let all =
        (0..topo.servers.len()).map(|i| send(topo, i, affinity, DownRequest::One(down.clone())));
    let mut merger = StatsMerger::default();
    let mut answered = 0;
    let mut failure = None;
    for r in join_all(all).await {
        match r {
            Ok(frames) => {
                answered += 1;
                merger.add(&frames);
            }
            Err(e) => failure = Some(e),
        }
    }
    if answered == 0 {
        return vec![failure_reply(
            &failure.unwrap_or(DownError::new(Failure::Connect)),
            client,
        )];
    }
    if reset {
        return vec![Response::Reset];
    }
    let mut out = merger.finish();
    out.push(Response::End);
    out
}
