//! `-Z optimize_set` (behaviour inventory 6.3): an ascii `set` whose key
//! matches one of its prefixes is answered `STORED` as soon as it is
//! queued to its server; the server's real reply is read and dropped.
//!
//! Order still holds for the client: the set is queued, on the client's
//! connection to the key's server, before this returns, so a later request
//! of the same client for the same key queues behind it on that connection
//! and sees it. What the client gives up is the news of a failure (a
//! refused or lost set is only logged) and backpressure from the server.

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

use protocol::{Command, Request, Response, StoreMode};

use crate::dispatch::keyed::send_for_key;
use crate::downstream::DownRequest;
use crate::error::ClientProtocol;
use crate::topology::Topology;

/// Whether `req` is answered early: an ascii client's `set` whose key
/// matches `optimize_set`.
pub fn applies(topo: &Topology, client: ClientProtocol, req: &Request) -> bool {
    let spec = &topo.features.optimize_set;
    if spec.is_empty() || client != ClientProtocol::Ascii {
        return false;
    }
    matches!(&req.command, Command::Store(s) if s.mode == StoreMode::Set && spec.matches(s.key.as_bytes()))
}

/// Queues the set to its server and answers `STORED` without waiting.
/// The rest of the exchange (the reply, a retry on a closed connection,
/// NOT_MY_VBUCKET) runs in a task of its own on this worker.
pub async fn fire(topo: Arc<Topology>, req: Request, affinity: usize) -> Response {
    let Command::Store(store) = &req.command else {
        return Response::Error(protocol::ErrorKind::UnknownCommand);
    };
    let key = store.key.clone();
    let mut down = req.clone();
    down.quiet = false;
    topo.features.count_optimize_set();
    crate::features::metrics::add(|t| &t.optimize_sets, 1);
    let mut send = Box::pin(async move {
        let sent = send_for_key(&topo, key.as_bytes(), affinity, DownRequest::One(down)).await;
        // A get that raced with the set must not keep the old value.
        topo.features.front.invalidate(key.as_bytes());
        match sent.result {
            Ok(frames) if matches!(frames.first(), Some(Response::Stored { .. })) => {}
            other => log::debug!(
                "optimize_set: set {:?} answered STORED early, server said {other:?}",
                String::from_utf8_lossy(key.as_bytes())
            ),
        }
    });
    // The first poll runs up to the send: the set is queued on its
    // connection before any later request of this client is looked at.
    let first = std::future::poll_fn(|cx| Poll::Ready(send.as_mut().poll(cx))).await;
    if first.is_pending() {
        tokio::task::spawn_local(send);
    }
    Response::Stored { cas: 0 }
}
