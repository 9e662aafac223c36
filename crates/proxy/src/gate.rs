//! Queues in front of the servers, as moxi's:
//! - the wait queue: at most `downstream_max` requests of one pool are
//!   forwarded at once per worker; the others wait, FIFO, up to
//!   `wait_queue_timeout`, then get `SERVER_ERROR proxy wait queue timeout`
//!   (binary: EBUSY);
//! - the connection queue: with `downstream_conn_pipeline` set, at most
//!   `downstream_conn_max` × that many requests are in flight to one server
//!   per worker; the others wait up to `downstream_conn_queue_timeout`,
//!   then get `SERVER_ERROR proxy downstream timeout <host>`.
//!
//! Both are per-worker semaphores, so taking a permit is one uncontended
//! atomic operation; a timer starts only when a request must wait.

use std::future::Future;
use std::time::Duration;

use tokio::sync::{AcquireError, Semaphore, SemaphorePermit};

use crate::error::DownError;
use crate::topology::Topology;

/// A place in the wait queue or a server's budget; released on drop.
pub type Permit<'a> = Option<SemaphorePermit<'a>>;

async fn take<'a>(
    gate: &'a Semaphore,
    wait: Duration,
) -> Result<SemaphorePermit<'a>, Option<AcquireError>> {
    if let Ok(p) = gate.try_acquire() {
        return Ok(p);
    }
    bounded(wait, gate.acquire()).await
}

async fn bounded<T>(
    wait: Duration,
    fut: impl Future<Output = Result<T, AcquireError>>,
) -> Result<T, Option<AcquireError>> {
    if wait.is_zero() {
        return fut.await.map_err(Some);
    }
    match tokio::time::timeout(wait, fut).await {
        Ok(r) => r.map_err(Some),
        Err(_) => Err(None),
    }
}

/// Waits for a place among the `downstream_max` requests of `topo`'s pool
/// on this worker.
pub async fn admit(topo: &Topology) -> Result<Permit<'_>, DownError> {
    let Some(gate) = topo.runtime.gate(topo.timeouts.downstream_max) else {
        return Ok(None);
    };
    match take(gate, topo.timeouts.wait_queue).await {
        Ok(p) => Ok(Some(p)),
        Err(_) => {
            topo.bump(|s| &s.tot_wait_queue_timeout);
            Err(DownError::WaitQueueTimeout)
        }
    }
}

/// Waits for a place in server `server`'s budget of requests in flight on
/// this worker (`downstream_conn_pipeline`).
pub async fn server_slot(topo: &Topology, server: usize) -> Result<Permit<'_>, DownError> {
    let budget = topo
        .health
        .get(server)
        .and_then(|h| h.slot_budget(topo.conns_per_server, topo.timeouts.conn_pipeline));
    let Some(gate) = budget else {
        return Ok(None);
    };
    match take(gate, topo.timeouts.conn_queue).await {
        Ok(p) => Ok(Some(p)),
        Err(_) => {
            topo.bump(|s| &s.tot_downstream_conn_queue_timeout);
            Err(DownError::Timeout)
        }
    }
}
