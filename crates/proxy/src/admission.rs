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
//! Both are per-worker semaphores ([`PerWorker`]), so taking a permit is one
//! uncontended atomic operation; a timer starts only when a request must
//! wait. Their owners are what they bound: a bucket's counters hold its wait
//! queue, a server's health record its budget; this module is the only one
//! that looks inside.
//!
//! A client's requests pass a gate in the order it sent them. Its requests
//! run concurrently, and a fair semaphore alone does not keep them in
//! order: a request that was given a permit may not resume at once (tokio's
//! cooperative budget), and a later request of the same client could then
//! take a permit freed meanwhile and reach the server first: a `get` would
//! overtake the `set` before it. So while one request of a client waits,
//! the client's later requests wait behind it, in its line.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::{AcquireError, Mutex, Semaphore, SemaphorePermit};

use crate::error::{DownError, Failure};
use crate::topology::Topology;

/// A place in the wait queue or a server's budget; released on drop.
pub type Permit<'a> = Option<SemaphorePermit<'a>>;

/// Slots per owner: workers beyond this share slots (still correct).
const WORKER_SLOTS: usize = crate::stats::MAX_SLOTS;

/// One semaphore per worker, made on first use: a bucket's wait queue or a
/// server's budget.
#[derive(Default)]
pub struct PerWorker(OnceLock<Box<[Semaphore]>>);

impl PerWorker {
    /// This worker's semaphore, made with `permits` places on first use.
    fn get(&self, permits: usize) -> &Semaphore {
        let all = self.0.get_or_init(|| {
            let permits = permits.min(Semaphore::MAX_PERMITS);
            (0..WORKER_SLOTS).map(|_| Semaphore::new(permits)).collect()
        });
        &all[runtime::workers::worker_index() % WORKER_SLOTS]
    }
}

impl std::fmt::Debug for PerWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PerWorker")
    }
}

/// This worker's wait queue of `topo`'s bucket (`downstream_max`), or
/// `None` when unlimited.
pub fn wait_queue(topo: &Topology) -> Option<&Semaphore> {
    match topo.timeouts.downstream_max {
        0 => None,
        max => Some(topo.runtime.wait_queue.get(max as usize)),
    }
}

/// This worker's budget of requests in flight to server `server`
/// (`downstream_conn_max` × `downstream_conn_pipeline`), or `None` when
/// the pipeline is unlimited.
pub fn server_budget(topo: &Topology, server: usize) -> Option<&Semaphore> {
    let pipeline = topo.timeouts.conn_pipeline;
    if pipeline == 0 {
        return None;
    }
    let permits = topo
        .conns_per_server
        .max(1)
        .saturating_mul(pipeline as usize);
    Some(topo.health.get(server)?.budget.get(permits))
}

/// One client's requests waiting at one gate: whoever holds `turn` is the
/// client's next request to get a permit.
#[derive(Default)]
struct Line {
    turn: Mutex<()>,
    members: Cell<usize>,
}

/// A gate (by address) and a client (by affinity).
type LineKey = (usize, usize);

thread_local! {
    /// The lines with someone in them, on this worker (gates are per worker).
    static LINES: RefCell<HashMap<LineKey, Rc<Line>>> = RefCell::new(HashMap::new());
}

/// A request standing in its client's line; it leaves on drop (also when
/// it is cancelled while waiting), and the last one out removes the line.
struct InLine {
    key: LineKey,
    line: Rc<Line>,
}

impl InLine {
    fn join(key: LineKey) -> InLine {
        let line = LINES.with(|l| l.borrow_mut().entry(key).or_default().clone());
        line.members.set(line.members.get() + 1);
        InLine { key, line }
    }
}

impl Drop for InLine {
    fn drop(&mut self) {
        let left = self.line.members.get().saturating_sub(1);
        self.line.members.set(left);
        if left == 0 {
            LINES.with(|l| l.borrow_mut().remove(&self.key));
        }
    }
}

/// A permit of `gate` for the client `affinity` without waiting: `None`
/// when none is free or one of the client's requests waits for one.
fn take_now(gate: &Semaphore, affinity: usize) -> Option<SemaphorePermit<'_>> {
    let key = (gate as *const Semaphore as usize, affinity);
    if LINES.with(|l| l.borrow().contains_key(&key)) {
        return None;
    }
    gate.try_acquire().ok()
}

/// A permit of `gate` for the client `affinity`, in the client's order,
/// waiting at most `wait` (zero: for ever).
async fn take<'a>(
    gate: &'a Semaphore,
    affinity: usize,
    wait: Duration,
) -> Result<SemaphorePermit<'a>, Option<AcquireError>> {
    if let Some(p) = take_now(gate, affinity) {
        return Ok(p);
    }
    let key = (gate as *const Semaphore as usize, affinity);
    let me = InLine::join(key);
    let line = me.line.clone();
    let permit = bounded(wait, async move {
        let _turn = line.turn.lock().await;
        gate.acquire().await
    })
    .await;
    drop(me);
    permit
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

/// Takes a place in `topo`'s wait queue for a request that holds it beyond
/// a borrow (the direct lane keeps it in plain data): `Some(true)` taken,
/// `Some(false)` no wait queue, `None` none free now (or one of the
/// client's requests waits for one). Give it back with [`release_held`].
pub fn hold_now(topo: &Topology, affinity: usize) -> Option<bool> {
    let Some(gate) = wait_queue(topo) else {
        return Some(false);
    };
    let permit = take_now(gate, affinity)?;
    permit.forget();
    Some(true)
}

/// Gives back a place taken by [`hold_now`].
pub fn release_held(topo: &Topology) {
    if let Some(gate) = wait_queue(topo) {
        gate.add_permits(1);
    }
}

/// Waits for a place among the `downstream_max` requests of `topo`'s pool
/// on this worker, behind the earlier requests of the client `affinity`.
pub async fn admit(topo: &Topology, affinity: usize) -> Result<Permit<'_>, DownError> {
    let Some(gate) = wait_queue(topo) else {
        return Ok(None);
    };
    match take(gate, affinity, topo.timeouts.wait_queue).await {
        Ok(p) => Ok(Some(p)),
        Err(_) => {
            topo.bump(|s| &s.tot_wait_queue_timeout);
            Err(DownError::new(Failure::WaitQueueTimeout))
        }
    }
}

/// Waits for a place in server `server`'s budget of requests in flight on
/// this worker (`downstream_conn_pipeline`), behind the earlier requests
/// of the client `affinity`.
pub async fn server_slot(
    topo: &Topology,
    server: usize,
    affinity: usize,
) -> Result<Permit<'_>, DownError> {
    let Some(gate) = server_budget(topo, server) else {
        return Ok(None);
    };
    match take(gate, affinity, topo.timeouts.conn_queue).await {
        Ok(p) => Ok(Some(p)),
        Err(_) => {
            topo.bump(|s| &s.tot_downstream_conn_queue_timeout);
            Err(DownError::new(Failure::Timeout))
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    const WAIT: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn a_clients_later_request_never_passes_its_waiting_one() {
        let gate = Semaphore::new(2);
        let (p1, p2) = (gate.try_acquire().unwrap(), gate.try_acquire().unwrap());
        let mut first = Box::pin(take(&gate, 7, WAIT));
        assert!((&mut first).now_or_never().is_none(), "no permit yet");
        // The first request is given a permit but has not resumed yet; a
        // second permit comes free.
        drop(p1);
        drop(p2);
        assert_eq!(gate.available_permits(), 1);
        let mut second = Box::pin(take(&gate, 7, WAIT));
        assert!(
            (&mut second).now_or_never().is_none(),
            "the later request must wait behind the earlier one"
        );
        // Another client is not held up.
        let other = take(&gate, 8, WAIT).now_or_never();
        assert!(matches!(other, Some(Ok(_))));
        drop(other);
        let got_first = first.await.unwrap();
        drop(got_first);
        drop(second.await.unwrap());
        assert!(LINES.with(|l| l.borrow().is_empty()), "lines are removed");
    }

    #[test]
    fn wait_queues_and_budgets_exist_only_with_a_limit() {
        use crate::topology::{DownstreamProtocol, Placement, Unserved};
        let servers = vec![routing::Server::new("127.0.0.1", 1, 0)];
        let mut topo = Topology::new(
            servers,
            Placement::Empty(Unserved::Unconfigured),
            DownstreamProtocol::Binary,
        );
        topo.timeouts.downstream_max = 0;
        assert!(wait_queue(&topo).is_none());
        assert!(server_budget(&topo, 0).is_none());
        topo.timeouts.downstream_max = 3;
        topo.timeouts.conn_pipeline = 2;
        topo.conns_per_server = 4;
        assert_eq!(wait_queue(&topo).map(|g| g.available_permits()), Some(3));
        assert_eq!(
            server_budget(&topo, 0).map(|g| g.available_permits()),
            Some(8)
        );
        assert!(server_budget(&topo, 1).is_none(), "no such server");
        assert_eq!(hold_now(&topo, 1), Some(true));
        assert_eq!(wait_queue(&topo).map(|g| g.available_permits()), Some(2));
        release_held(&topo);
        assert_eq!(wait_queue(&topo).map(|g| g.available_permits()), Some(3));
    }

    #[tokio::test]
    async fn a_cancelled_waiter_leaves_its_line() {
        let gate = Semaphore::new(1);
        let p = gate.try_acquire().unwrap();
        let mut waiting = Box::pin(take(&gate, 1, WAIT));
        assert!((&mut waiting).now_or_never().is_none());
        drop(waiting);
        drop(p);
        assert!(LINES.with(|l| l.borrow().is_empty()));
        assert!(take(&gate, 1, WAIT).now_or_never().is_some());
    }
}
