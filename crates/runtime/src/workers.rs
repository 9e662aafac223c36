//! Worker threads: one single-threaded tokio runtime per thread, each with a
//! `LocalSet`, so per-worker state (connection pools, counters) needs no lock.
//!
//! The acceptor hands each new connection to one worker, round robin; the
//! connection then lives on that worker until it closes. This is memcached's
//! and moxi's threading model (dispatcher plus N workers), and the model the
//! proxy reuses for its per-worker downstream connections.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::mpsc;

/// Work sent to a worker: run on the worker's thread, inside its `LocalSet`,
/// so it may call `tokio::task::spawn_local`.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed set of worker threads.
pub struct Workers {
    senders: Vec<mpsc::UnboundedSender<Job>>,
    next: AtomicUsize,
    threads: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts `n` (at least 1) worker threads named `name-<i>`.
    pub fn start(n: usize, name: &str) -> io::Result<Arc<Workers>> {
        let n = n.max(1);
        let mut senders = Vec::with_capacity(n);
        let mut threads = Vec::with_capacity(n);
        for i in 0..n {
            let (tx, rx) = mpsc::unbounded_channel::<Job>();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let handle = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || run_worker(i, runtime, rx))?;
            senders.push(tx);
            threads.push(handle);
        }
        Ok(Arc::new(Workers {
            senders,
            next: AtomicUsize::new(0),
            threads,
        }))
    }

    /// Number of workers.
    pub fn len(&self) -> usize {
        self.senders.len()
    }

    /// Always false: there is at least one worker.
    pub fn is_empty(&self) -> bool {
        self.senders.is_empty()
    }

    /// Runs `job` on the next worker, round robin. Returns false when the
    /// workers have stopped.
    pub fn dispatch(&self, job: Job) -> bool {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.senders.len();
        self.senders[i].send(job).is_ok()
    }

    /// Runs `job` on worker `i` (modulo the worker count).
    pub fn dispatch_to(&self, i: usize, job: Job) -> bool {
        self.senders[i % self.senders.len()].send(job).is_ok()
    }

    /// Stops accepting jobs and waits for the threads to finish their
    /// current tasks' next await point. Consumes the last handle.
    pub fn join(self) {
        drop(self.senders);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

thread_local! {
    static WORKER_INDEX: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The index of the worker running the current thread (0 outside workers).
/// Per-worker counters use it to pick their own slot.
pub fn worker_index() -> usize {
    WORKER_INDEX.with(|w| w.get())
}

fn run_worker(
    index: usize,
    runtime: tokio::runtime::Runtime,
    mut rx: mpsc::UnboundedReceiver<Job>,
) {
    WORKER_INDEX.with(|w| w.set(index));
    let local = tokio::task::LocalSet::new();
    // The jobs are read by a task of their own. The future the worker
    // blocks on is polled each time any of its tasks is woken, so it is the
    // cheapest one that ends with them: the job loop's join handle (a
    // channel receiver there cost 150 instructions per wake-up).
    let jobs = local.spawn_local(async move {
        while let Some(job) = rx.recv().await {
            job();
        }
    });
    let _ = local.block_on(&runtime, jobs);
}
