//! The direct lane: the common requests that need exactly one reply from
//! one server (a one-key ascii get, a store, incr/decr, delete, touch) in
//! a hashed pool with no front cache and no `optimize_set`, sent when they
//! are decoded and answered without a future of their own.
//!
//! Such a request only waits for its reply slot (see [`crate::downstream`]),
//! so the session keeps it in its reply queue as plain data and looks at it
//! when it reaches the front: no boxed `async` state machine, no task node
//! in a `FuturesOrdered`, no reply buffer of its own. Everything else goes
//! through [`crate::dispatch::handle`]; the two give the same replies, the
//! same retries (`downstream_retry`, re-sends after a connection lost
//! behind another request) and the same counters and metrics.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::BytesMut;
use protocol::{Command, Request, Response};

use crate::dispatch::keyed::{
    command_key, is_cas_unique_zero, one_key_get_request, one_key_hit, one_reply,
};
use crate::dispatch::{after_result, answer, Resends};
use crate::downstream::pool;
use crate::downstream::{deadline, DownRequest, DownResult, ReplyWait};
use crate::error::ClientProtocol;
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
    resends: Resends,
}

/// Whether the direct lane takes `req` (otherwise: the general path).
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
        // CAS unique 0 to a binary server is answered from a GET (keyed.rs).
        Command::Store(_) if is_cas_unique_zero(topo, &req.command) => false,
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
        // A server budget (`downstream_conn_pipeline`) may make a request
        // wait: the general path waits.
        if topo.timeouts.conn_pipeline != 0 || topo.is_down(server) {
            return Err(req);
        }
        let started = Instant::now();
        let gated = match crate::admission::hold_now(topo, affinity) {
            Some(held) => held,
            // A full wait queue: the general path waits in it.
            None => return Err(req),
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
            resends: Resends::new(topo),
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
            if !self.resends.again(&self.topo, &result) {
                let result = after_result(&self.topo, self.server, self.affinity, result);
                return Poll::Ready(result);
            }
            self.resend();
        }
    }

    /// Sends the request again, as `dispatch::send_once` would.
    fn resend(&mut self) {
        let topo = &self.topo;
        self.wait = if topo.is_down(self.server) {
            topo.bump(|s| &s.tot_downstream_connect_interval);
            ReplyWait::failed(crate::dispatch::down())
        } else {
            let deadline = deadline(Instant::now(), topo.timeouts.downstream);
            let down = down_request(topo, &self.req);
            pool::conn(topo, self.server, self.affinity).send(down, deadline)
        };
    }

    /// Writes the client's reply for `result` to `out`, and counts the
    /// request as [`crate::dispatch::handle`] does.
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
        answer(&self.topo, self.client, &self.req, frames, took, out);
    }

    /// The reply for the client, as `keyed.rs` makes it, and whether an
    /// `END` follows it (a get's hit).
    fn reply(&self, result: DownResult) -> (Response, bool) {
        if let Command::Get(get) = &self.req.command {
            return match get.keys.first().and_then(|k| one_key_hit(result, k)) {
                Some(v) => (v, true),
                None => (Response::End, false),
            };
        }
        let at = Some((&*self.topo, self.server));
        (one_reply(&self.req.command, result, at, self.client), false)
    }
}

impl Drop for Direct {
    fn drop(&mut self) {
        if self.gated {
            crate::admission::release_held(&self.topo);
        }
    }
}

/// The request sent downstream: loud, and for a one-key get as
/// [`one_key_get_request`] makes it.
fn down_request(topo: &Topology, req: &Request) -> DownRequest {
    match &req.command {
        Command::Get(get) => one_key_get_request(topo, get),
        _ => {
            let mut down = req.clone();
            down.quiet = false;
            DownRequest::One(down)
        }
    }
}
