//! Open-loop load: requests leave on a fixed timetable ([`Schedule`])
//! whether or not earlier ones were answered, and each latency is measured
//! from the request's *intended* send time. A server that stalls is charged
//! for the whole queue it built up (no coordinated omission).
//!
//! Plain OS threads, for timer precision: tokio's timer has 1 ms
//! granularity, `std::thread::sleep` about 50 µs on Linux. One pacer thread
//! per `--threads` sends for its share of the connections; one reader thread
//! per connection matches replies (blocking reads). A pacer that falls
//! behind sends what is due at once; the lateness counts as latency.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;

use crate::keys::Rng;
use crate::schedule::{split, Schedule};
use crate::tally::{ErrorClass, Tally};
use crate::verify::Verifier;
use crate::workload::Workload;

/// How long readers wait for late replies after the last send.
pub const DRAIN: Duration = Duration::from_secs(2);

/// An open-loop run.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Requests per second, over all connections.
    pub rate: f64,
    /// Connections.
    pub connections: usize,
    /// Pacer threads.
    pub threads: usize,
    /// Length of the timetable.
    pub duration: Duration,
    /// Seed of the request streams.
    pub seed: u64,
}

/// A request on its way: when it should have left, and its check.
struct Pending {
    intended: Instant,
    verifier: Verifier,
}

/// Runs `plan` against `addr`; returns the counts and the measured time.
pub fn run(
    addr: SocketAddr,
    wl: Arc<Workload>,
    plan: Plan,
    progress: Arc<AtomicU64>,
) -> (Tally, Duration) {
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut writers = Vec::new();
    let mut readers = Vec::new();
    for _ in 0..plan.connections.max(1) {
        match connect(addr) {
            Ok((w, r)) => {
                let (tx, rx) = mpsc::channel();
                writers.push((w, tx));
                readers.push((r, rx));
            }
            Err(e) => lock(&tally).errors(
                1,
                ErrorClass::of_connect(&e),
                format!("connect {addr}: {e}"),
            ),
        }
    }
    let pacers = plan.threads.clamp(1, writers.len().max(1));
    let mut groups: Vec<Vec<(TcpStream, Sender<Pending>)>> =
        (0..pacers).map(|_| Vec::new()).collect();
    for (i, w) in writers.into_iter().enumerate() {
        groups[i % pacers].push(w);
    }
    let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
    let schedules = split(plan.rate, &sizes);
    // A common start a little ahead, so every pacer is ready for request 0.
    let start = Instant::now() + Duration::from_millis(20);
    let end = start + plan.duration;
    let reader_handles: Vec<_> = readers
        .into_iter()
        .map(|(stream, rx)| {
            let (wl, tally, progress) = (wl.clone(), tally.clone(), progress.clone());
            std::thread::spawn(move || read_loop(stream, rx, &wl, &tally, &progress, end))
        })
        .collect();
    let pacer_handles: Vec<_> = groups
        .into_iter()
        .zip(schedules)
        .enumerate()
        .map(|(i, (group, schedule))| {
            let (wl, tally) = (wl.clone(), tally.clone());
            let rng = Rng::new(plan.seed ^ (i as u64).wrapping_mul(0x9e37_79b9));
            let duration = plan.duration;
            std::thread::spawn(move || pace(group, schedule, start, duration, &wl, rng, &tally))
        })
        .collect();
    for h in pacer_handles.into_iter().chain(reader_handles) {
        if h.join().is_err() {
            lock(&tally).errors(1, ErrorClass::Internal, "load thread panicked");
        }
    }
    let t = lock(&tally).clone();
    (t, plan.duration)
}

fn lock(t: &Mutex<Tally>) -> std::sync::MutexGuard<'_, Tally> {
    t.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn connect(addr: SocketAddr) -> std::io::Result<(TcpStream, TcpStream)> {
    let w = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    w.set_nodelay(true)?;
    w.set_write_timeout(Some(Duration::from_secs(5)))?;
    let r = w.try_clone()?;
    r.set_read_timeout(Some(Duration::from_millis(50)))?;
    Ok((w, r))
}

/// Sends one group's timetable, then drops its channels (readers then
/// know nothing more is coming).
fn pace(
    mut group: Vec<(TcpStream, Sender<Pending>)>,
    schedule: Schedule,
    start: Instant,
    duration: Duration,
    wl: &Workload,
    mut rng: Rng,
    tally: &Mutex<Tally>,
) {
    let n = group.len();
    if n == 0 {
        return;
    }
    let total = schedule.count_within(duration);
    let mut bufs = vec![BytesMut::new(); n];
    let mut dead = vec![false; n];
    let mut sent = 0u64;
    while sent < total {
        let now = Instant::now();
        let due = schedule
            .due_by(now.saturating_duration_since(start))
            .min(total);
        if due == sent {
            let next = start + schedule.intended(sent);
            std::thread::sleep(next.saturating_duration_since(now));
            continue;
        }
        for k in sent..due {
            let c = (k % n as u64) as usize;
            let verifier = wl.next(&mut rng, &mut bufs[c]);
            let intended = start + schedule.intended(k);
            if dead[c] || group[c].1.send(Pending { intended, verifier }).is_err() {
                dead[c] = true;
                bufs[c].clear();
                lock(tally).errors(1, ErrorClass::ConnectionLost, "connection lost before send");
            }
        }
        sent = due;
        for (c, buf) in bufs.iter_mut().enumerate() {
            if buf.is_empty() {
                continue;
            }
            if let Err(e) = group[c].0.write_all(buf) {
                // Its outstanding requests are counted by its reader.
                dead[c] = true;
                lock(tally).errors(1, ErrorClass::of_io(&e), format!("write: {e}"));
            }
            buf.clear();
        }
    }
}

/// Matches replies on one connection until its pacer is done and nothing is
/// outstanding, or `end + DRAIN` passes (what is left then is an error).
fn read_loop(
    mut stream: TcpStream,
    rx: Receiver<Pending>,
    wl: &Workload,
    tally: &Mutex<Tally>,
    progress: &AtomicU64,
    end: Instant,
) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    let mut queue: VecDeque<Pending> = VecDeque::new();
    let outcome = loop {
        let pacer_done = loop {
            match rx.try_recv() {
                Ok(p) => queue.push_back(p),
                Err(TryRecvError::Empty) => break false,
                Err(TryRecvError::Disconnected) => break true,
            }
        };
        if pacer_done && queue.is_empty() {
            break None;
        }
        if Instant::now() > end + DRAIN {
            break Some((
                ErrorClass::Timeout,
                format!("no reply within {DRAIN:?} after the run"),
            ));
        }
        let n = match stream.read(&mut chunk) {
            Ok(0) => {
                break Some((
                    ErrorClass::ConnectionLost,
                    "connection closed by target".to_string(),
                ))
            }
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(e) => break Some((ErrorClass::of_io(&e), format!("read: {e}"))),
        };
        buf.extend_from_slice(&chunk[..n]);
        let now = Instant::now();
        // One histogram per run, locked once per read: readers are many,
        // a histogram is a few hundred KiB.
        let mut t = lock(tally);
        let before = t.latencies.len();
        let matched = match_replies(&mut buf, &mut queue, &rx, wl, &mut t, now);
        progress.fetch_add(t.latencies.len() - before, Ordering::Relaxed);
        drop(t);
        if let Err(why) = matched {
            break Some((ErrorClass::BadReply, why));
        }
    };
    if let Some((class, why)) = outcome {
        let left = queue.len() as u64 + rx.try_iter().count() as u64;
        lock(tally).errors(left.max(1), class, why);
    }
}

/// Feeds every complete reply frame in `buf` to the oldest pending request.
fn match_replies(
    buf: &mut BytesMut,
    queue: &mut VecDeque<Pending>,
    rx: &Receiver<Pending>,
    wl: &Workload,
    tally: &mut Tally,
    now: Instant,
) -> Result<(), String> {
    loop {
        let resp = match wl.decode(buf) {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()),
            Err(e) => return Err(format!("bad reply: {e}")),
        };
        if queue.is_empty() {
            // The pacer queues a request before writing it.
            queue.extend(rx.try_iter());
        }
        let Some(front) = queue.front_mut() else {
            return Err(format!("reply with no request: {resp:?}"));
        };
        if let Some(result) = front.verifier.feed(&resp, wl.keys(), wl.values()) {
            tally
                .latencies
                .record(now.saturating_duration_since(front.intended));
            if let Err(p) = result {
                tally.problem(&p);
            }
            queue.pop_front();
        }
    }
}
