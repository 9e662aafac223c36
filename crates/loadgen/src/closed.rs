//! Closed-loop load: each connection keeps `pipeline` requests outstanding
//! and sends a new one as soon as one is answered. Measures the throughput a
//! target sustains; latency here is service time under that load.
//!
//! Connections are spread over `threads` OS threads, each running a
//! single-threaded tokio runtime (like memcached's and moxi's workers), so a
//! connection never migrates and its thread's histogram needs no lock.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout_at;

use crate::keys::Rng;
use crate::tally::{ErrorClass, Tally};
use crate::verify::Verifier;
use crate::workload::Workload;

/// Longest wait for any single read or write when no deadline applies.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// In a timed run, a request unanswered this long at the end is an error.
pub const STALLED: Duration = Duration::from_secs(1);

/// What one connection sends.
#[derive(Clone, Debug)]
pub enum Source {
    /// Random requests by the mix, at most `remaining` of them.
    Mix {
        /// Random stream.
        rng: Rng,
        /// Requests left to send (`u64::MAX`: until the deadline).
        remaining: u64,
    },
    /// Sets of key indexes `next..end` in order (prefill).
    Sets {
        /// Next key index.
        next: u64,
        /// One past the last key index.
        end: u64,
    },
}

impl Source {
    /// Appends the next request to `out`; `None` when the source is spent.
    fn next(&mut self, wl: &Workload, out: &mut BytesMut) -> Option<Verifier> {
        match self {
            Source::Mix { rng, remaining } => {
                *remaining = remaining.checked_sub(1)?;
                Some(wl.next(rng, out))
            }
            Source::Sets { next, end } => {
                if *next >= *end {
                    return None;
                }
                *next += 1;
                Some(wl.set(*next - 1, out))
            }
        }
    }
}

/// A closed-loop run: one [`Source`] per connection.
#[derive(Clone, Debug)]
pub struct Plan {
    /// OS threads to spread the connections over.
    pub threads: usize,
    /// Outstanding requests per connection.
    pub pipeline: usize,
    /// Stop sending (and counting) after this long; `None`: when the sources
    /// are spent.
    pub duration: Option<Duration>,
    /// One per connection.
    pub sources: Vec<Source>,
}

/// Runs `plan` against `addr`; returns the counts and the measured time.
pub fn run(
    addr: SocketAddr,
    wl: Arc<Workload>,
    plan: Plan,
    progress: Arc<AtomicU64>,
) -> (Tally, Duration) {
    let threads = plan.threads.clamp(1, plan.sources.len().max(1));
    let mut per_thread: Vec<Vec<Source>> = vec![Vec::new(); threads];
    for (i, s) in plan.sources.into_iter().enumerate() {
        per_thread[i % threads].push(s);
    }
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = per_thread
        .into_iter()
        .map(|sources| {
            let (wl, barrier, progress) = (wl.clone(), barrier.clone(), progress.clone());
            let (pipeline, duration) = (plan.pipeline.max(1), plan.duration);
            std::thread::spawn(move || {
                thread_main(addr, wl, sources, pipeline, duration, barrier, progress)
            })
        })
        .collect();
    let mut total = Tally::default();
    let mut elapsed = Duration::ZERO;
    for h in handles {
        match h.join() {
            Ok((t, e)) => {
                total.merge(&t);
                elapsed = elapsed.max(e);
            }
            Err(_) => total.errors(1, ErrorClass::Internal, "load thread panicked"),
        }
    }
    (total, plan.duration.unwrap_or(elapsed))
}

fn thread_main(
    addr: SocketAddr,
    wl: Arc<Workload>,
    sources: Vec<Source>,
    pipeline: usize,
    duration: Option<Duration>,
    barrier: Arc<Barrier>,
    progress: Arc<AtomicU64>,
) -> (Tally, Duration) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            barrier.wait();
            let mut t = Tally::default();
            t.errors(
                sources.len() as u64,
                ErrorClass::Internal,
                format!("runtime: {e}"),
            );
            return (t, Duration::ZERO);
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let tally = Rc::new(RefCell::new(Tally::default()));
        let conns = connect_all(addr, sources, &tally).await;
        // Every thread connects first, so set-up never counts as load.
        barrier.wait();
        let start = Instant::now();
        let deadline = duration.map(|d| tokio::time::Instant::from_std(start + d));
        let tasks: Vec<_> = conns
            .into_iter()
            .map(|(stream, source)| {
                let conn = Conn {
                    wl: wl.clone(),
                    tally: tally.clone(),
                    progress: progress.clone(),
                    pipeline,
                    deadline,
                };
                tokio::task::spawn_local(conn.drive(stream, source))
            })
            .collect();
        for t in tasks {
            if t.await.is_err() {
                tally
                    .borrow_mut()
                    .errors(1, ErrorClass::Internal, "connection task panicked");
            }
        }
        let elapsed = start.elapsed();
        let t = tally.borrow().clone();
        (t, elapsed)
    })
}

/// Connects one socket per source; failures are counted as errors.
async fn connect_all(
    addr: SocketAddr,
    sources: Vec<Source>,
    tally: &RefCell<Tally>,
) -> Vec<(TcpStream, Source)> {
    let mut conns = Vec::new();
    for s in sources {
        match timeout_at(deadline_in(IO_TIMEOUT), TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                conns.push((stream, s));
            }
            Ok(Err(e)) => tally.borrow_mut().errors(
                1,
                ErrorClass::of_connect(&e),
                format!("connect {addr}: {e}"),
            ),
            Err(_) => tally.borrow_mut().errors(
                1,
                ErrorClass::Timeout,
                format!("connect {addr}: timed out"),
            ),
        }
    }
    conns
}

fn deadline_in(d: Duration) -> tokio::time::Instant {
    tokio::time::Instant::now() + d
}

/// One connection's loop and what it shares with its thread.
struct Conn {
    wl: Arc<Workload>,
    tally: Rc<RefCell<Tally>>,
    progress: Arc<AtomicU64>,
    pipeline: usize,
    deadline: Option<tokio::time::Instant>,
}

impl Conn {
    async fn drive(self, mut stream: TcpStream, mut source: Source) {
        let mut rbuf = BytesMut::with_capacity(64 * 1024);
        let mut wbuf = BytesMut::with_capacity(16 * 1024);
        let mut inflight: VecDeque<(Instant, Verifier)> = VecDeque::new();
        self.refill(&mut source, &mut inflight, &mut wbuf, Instant::now());
        while !inflight.is_empty() {
            let limit = self.deadline.unwrap_or_else(|| deadline_in(IO_TIMEOUT));
            if !wbuf.is_empty() {
                match timeout_at(limit, stream.write_all(&wbuf)).await {
                    Ok(Ok(())) => wbuf.clear(),
                    Ok(Err(e)) => {
                        return self.lost(
                            inflight.len(),
                            ErrorClass::of_io(&e),
                            format!("write: {e}"),
                        )
                    }
                    Err(_) => return self.out_of_time(&inflight),
                }
            }
            match timeout_at(limit, stream.read_buf(&mut rbuf)).await {
                Ok(Ok(0)) => {
                    return self.lost(
                        inflight.len(),
                        ErrorClass::ConnectionLost,
                        "connection closed by target",
                    )
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    return self.lost(inflight.len(), ErrorClass::of_io(&e), format!("read: {e}"))
                }
                Err(_) => return self.out_of_time(&inflight),
            }
            let now = Instant::now();
            let in_time = self.deadline.is_none_or(|d| now <= d.into_std());
            loop {
                let resp = match self.wl.decode(&mut rbuf) {
                    Ok(Some(r)) => r,
                    Ok(None) => break,
                    Err(e) => {
                        return self.lost(
                            inflight.len(),
                            ErrorClass::BadReply,
                            format!("bad reply: {e}"),
                        )
                    }
                };
                let Some((sent, verifier)) = inflight.front_mut() else {
                    return self.lost(
                        1,
                        ErrorClass::BadReply,
                        format!("reply with no request: {resp:?}"),
                    );
                };
                let Some(result) = verifier.feed(&resp, self.wl.keys(), self.wl.values()) else {
                    continue;
                };
                let sent = *sent;
                inflight.pop_front();
                if in_time {
                    let mut t = self.tally.borrow_mut();
                    t.latencies.record(now - sent);
                    if let Err(p) = result {
                        t.problem(&p);
                    }
                    self.progress.fetch_add(1, Ordering::Relaxed);
                }
                if in_time {
                    self.refill(&mut source, &mut inflight, &mut wbuf, now);
                }
            }
        }
    }

    fn refill(
        &self,
        source: &mut Source,
        inflight: &mut VecDeque<(Instant, Verifier)>,
        wbuf: &mut BytesMut,
        now: Instant,
    ) {
        while inflight.len() < self.pipeline {
            match source.next(&self.wl, wbuf) {
                Some(v) => inflight.push_back((now, v)),
                None => return,
            }
        }
    }

    /// The deadline passed. In a counted run every outstanding request is
    /// an error (the target hung). In a timed run requests still in flight
    /// are not counted, unless they waited longer than [`STALLED`]: a target
    /// that stops answering must not end a run with zero errors.
    fn out_of_time(&self, inflight: &VecDeque<(Instant, Verifier)>) {
        match self.deadline {
            None => self.lost(inflight.len(), ErrorClass::Timeout, "no reply within 10 s"),
            Some(d) => {
                let stalled = inflight
                    .iter()
                    .filter(|(sent, _)| d.into_std().saturating_duration_since(*sent) > STALLED)
                    .count();
                if stalled > 0 {
                    self.lost(
                        stalled,
                        ErrorClass::Timeout,
                        format!("no reply within {STALLED:?}"),
                    );
                }
            }
        }
    }

    fn lost(&self, outstanding: usize, class: ErrorClass, why: impl std::fmt::Display) {
        self.tally
            .borrow_mut()
            .errors(outstanding.max(1) as u64, class, why);
    }
}
