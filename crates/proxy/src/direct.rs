//! The direct lane: the common requests that need exactly one reply from
//! one server (a one-key ascii get, a store, incr/decr, delete, touch) in
//! a hashed pool with no front cache and no `optimize_set`, sent when they
//! are decoded and answered without a future of their own.
//!
//! Such a request only waits for its reply slot (see [`crate::downstream`]),
//! so the session keeps it in its reply queue as plain data and looks at it
//! when it reaches the front: no boxed `async` state machine, no task node
//! in a `FuturesOrdered`, no reply buffer of its own. Everything else goes
//! through [`crate::forward::handle`]; the two give the same replies, the
//! same retries (`downstream_retry`, re-sends after a connection lost
//! behind another request) and the same counters and metrics.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::BytesMut;
use protocol::{Command, Get, Request, Response};

use crate::downstream::{deadline, DownRequest, DownResult, ReplyWait};
use crate::error::{failure_reply, ClientProtocol, DownError};
use crate::forward::{encode, normalize, MAX_DROPPED_RESENDS};
use crate::keyed::command_key;
use crate::pool;
use crate::topology::{DownstreamProtocol, Topology};

/// One request of the direct lane, sent and waiting for its reply.
pub struct Direct {
    topo: Arc<Topology>,
    client: ClientProtocol,
    req: Request,
    server: usize,
    affinity: usize,
    started: Instant,
    /// Holds a place among the pool's `downstream_max` (given back on drop).
    gated: bool,
    wait: ReplyWait,
    /// `downstream_retry` re-sends left.
    retries: u32,
    /// Re-sends after the connection was lost behind another request.
    dropped: u32,
}

/// What the direct lane takes; `None`: the general path.
fn eligible(topo: &Topology, client: ClientProtocol, req: &Request) -> bool {
    let plain = !topo.features.front.config().enabled() && topo.features.optimize_set.is_empty();
    if !plain || topo.is_vbucket() || topo.unserved().is_some() {
        return false;
    }
    let same_protocol = match client {
        ClientProtocol::Ascii => true,
        // b2a needs extra ascii commands (translate.rs).
        ClientProtocol::Binary => topo.protocol == DownstreamProtocol::Binary,
    };
    match &req.command {
        Command::Get(g) => client == ClientProtocol::Ascii && g.keys.len() == 1,
        // b2b TOUCH is sent as GAT (keyed.rs).
        Command::Touch { .. } => client == ClientProtocol::Ascii,
        Command::Store(_) | Command::Arith(_) | Command::Delete { .. } => same_protocol,
        _ => false,
    }
}

impl Direct {
    /// Sends `req` if the direct lane takes it; otherwise gives it back.
    pub fn start(
        topo: &Arc<Topology>,
        client: ClientProtocol,
        req: Request,
        affinity: usize,
    ) -> Result<Direct, Request> {
        if !eligible(topo, client, &req) {
            return Err(req);
        }
        let Some(key) = command_key(&req.command) else {
            return Err(req);
        };
        let Some(target) = topo.locate(key.as_bytes()) else {
            return Err(req);
        };
        let server = target.server;
        let budgeted = topo
            .health
            .get(server)
            .and_then(|h| h.slot_budget(topo.conns_per_server, topo.timeouts.conn_pipeline));
        if budgeted.is_some() || topo.is_down(server) {
            return Err(req);
        }
        let started = Instant::now();
        let gated = match topo.runtime.gate(topo.timeouts.downstream_max) {
            None => false,
            Some(gate) => match crate::gate::take_now(gate, affinity) {
                Some(permit) => {
                    permit.forget();
                    true
                }
                // A full wait queue: the general path waits in it.
                None => return Err(req),
            },
        };
        let down = down_request(topo, &req);
        let deadline = deadline(started, topo.timeouts.downstream);
        let wait = pool::conn(topo, server, affinity).send(down, deadline);
        Ok(Direct {
            topo: topo.clone(),
            client,
            req,
            server,
            affinity,
            started,
            gated,
            wait,
            retries: topo.timeouts.retries,
            dropped: 0,
        })
    }

    /// Ready once the reply (or the final failure) is in; then
    /// [`finish`](Self::finish) writes the client's reply.
    pub fn poll_result(&mut self, cx: &mut Context<'_>) -> Poll<DownResult> {
        loop {
            let result = match std::pin::Pin::new(&mut self.wait).poll(cx) {
                Poll::Ready(r) => r,
                Poll::Pending => return Poll::Pending,
            };
            if !self.resend_after(&result) {
                if result == Err(DownError::Timeout) {
                    let (topo, server) = (&self.topo, self.server);
                    topo.bump(|s| &s.tot_downstream_timeout);
                    pool::discard(topo, server, self.affinity);
                }
                return Poll::Ready(result);
            }
        }
    }

    /// Re-sends after a lost connection as `forward::send` does; false when
    /// `result` is final.
    fn resend_after(&mut self, result: &DownResult) -> bool {
        if self.topo.timeouts.retries == 0 {
            return false;
        }
        match result {
            Err(DownError::Dropped) if self.dropped < MAX_DROPPED_RESENDS => self.dropped += 1,
            Err(DownError::Closed | DownError::Write | DownError::Dropped) if self.retries > 0 => {
                self.retries -= 1
            }
            _ => return false,
        }
        let topo = &self.topo;
        topo.bump(|s| &s.tot_retry);
        let down = down_request(topo, &self.req);
        self.wait = if topo.is_down(self.server) {
            topo.bump(|s| &s.tot_downstream_connect_interval);
            ReplyWait::failed(DownError::Connect)
        } else {
            let deadline = deadline(Instant::now(), topo.timeouts.downstream);
            pool::conn(topo, self.server, self.affinity).send(down, deadline)
        };
        true
    }

    /// Writes the client's reply for `result` to `out`, and counts the
    /// request as [`crate::forward::handle`] does.
    pub fn finish(self, result: DownResult, out: &mut BytesMut) {
        let (first, end) = self.reply(result);
        let two;
        let one;
        let frames: &[Response] = if end {
            two = [first, Response::End];
            &two
        } else {
            one = [first];
            &one
        };
        let took = self.started.elapsed();
        let topo = &self.topo;
        crate::metrics::observe(&self.req, frames, took);
        let cmd = crate::metrics::command_index(&self.req);
        topo.runtime.answered(cmd, took, topo.timeouts.time_stats);
        crate::features::observe(topo, &self.req, frames);
        encode(self.client, &self.req, frames, out);
    }

    /// The reply for the client, as `keyed.rs` makes it, and whether an
    /// `END` follows it (a get's hit).
    fn reply(&self, result: DownResult) -> (Response, bool) {
        if let Command::Get(get) = &self.req.command {
            // A one-key ascii get: a failed server reads as a miss.
            let key = get.keys.first();
            let hit = result.ok().and_then(|frames| {
                frames.into_iter().find_map(|f| match f {
                    Response::Value(v) if Some(&v.key) == key => Some(Response::Value(v)),
                    _ => None,
                })
            });
            return match hit {
                Some(v) => (v, true),
                None => (Response::End, false),
            };
        }
        let host = Some(self.topo.host(self.server));
        let reply = match result {
            Ok(frames) => match frames.into_iter().next() {
                Some(f) => normalize(&self.req.command, f),
                None => failure_reply(&DownError::Protocol, host, self.client),
            },
            Err(e) => failure_reply(&e, host, self.client),
        };
        (reply, false)
    }
}

impl Drop for Direct {
    fn drop(&mut self) {
        if self.gated {
            if let Some(gate) = self.topo.runtime.gate(self.topo.timeouts.downstream_max) {
                gate.add_permits(1);
            }
        }
    }
}

/// The request sent downstream: loud; a one-key get to a binary server is
/// one GETK (GATK), to an ascii server `get`/`gets`/`gat`/`gats`.
fn down_request(topo: &Topology, req: &Request) -> DownRequest {
    match (&req.command, topo.protocol) {
        (Command::Get(get), DownstreamProtocol::Binary) => {
            DownRequest::One(Request::new(Command::Get(Get {
                kind: get.kind,
                keys: get.keys.clone(),
                exptime: get.exptime,
                with_key: true,
            })))
        }
        (Command::Get(get), DownstreamProtocol::Ascii) => DownRequest::MultiGet {
            kind: get.kind,
            exptime: get.exptime,
            keys: get.keys.clone().into(),
            vbuckets: Vec::new(),
        },
        _ => {
            let mut down = req.clone();
            down.quiet = false;
            DownRequest::One(down)
        }
    }
}
