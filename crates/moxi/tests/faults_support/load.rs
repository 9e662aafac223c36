//! Client load for the fault tests: threads that each keep one ascii
//! connection to moxi busy with `set` then `get` of a key and value no
//! other request uses, check every reply against its own request, and time
//! every operation. A reply meant for another request, or another client,
//! cannot pass as right: a desynchronised connection shows as `Wrong`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Which downstream server a key lives on.
pub type Place = Arc<dyn Fn(&[u8]) -> usize + Send + Sync>;

/// How long a client waits for one reply before calling it lost.
const REPLY_WAIT: Duration = Duration::from_secs(10);

/// What one operation was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `set KEY`.
    Set,
    /// `get KEY` right after that set.
    Get,
}

/// How one operation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `STORED`, or exactly the value the set sent.
    Ok,
    /// moxi's failure reply: a `SERVER_ERROR` line, or `END` for a get
    /// whose set had failed.
    Failed(String),
    /// `END` for a get whose set was `STORED`: the value went with the
    /// server.
    Lost,
    /// Anything else: a reply that does not answer this request, or the
    /// client connection failed.
    Wrong(String),
}

/// One timed operation of one client thread.
#[derive(Clone, Debug)]
pub struct Op {
    /// The client thread.
    pub thread: usize,
    /// The server its key lives on.
    pub server: usize,
    /// Set or get.
    pub kind: Kind,
    /// When the request was written.
    pub start: Instant,
    /// When the reply was complete.
    pub end: Instant,
    /// How it ended.
    pub outcome: Outcome,
}

impl Op {
    /// The time from request to complete reply.
    pub fn took(&self) -> Duration {
        self.end - self.start
    }
}

/// Running client threads and what they recorded.
pub struct Load {
    stop: Arc<AtomicBool>,
    ops: Arc<Mutex<Vec<Op>>>,
    threads: Vec<JoinHandle<()>>,
    per_thread: usize,
}

impl Load {
    /// One client thread per entry of `servers`; thread `i` only uses keys
    /// that `place` puts on `servers[i]` (named `{tag}{i}-{n}`).
    pub fn start(addr: SocketAddr, tag: &str, servers: &[usize], place: Place) -> Load {
        Self::spawn(addr, tag, servers, place, false)
    }

    /// Like [`Load::start`], but each set is written together with its get
    /// (a pipelining client: its next request is already queued when a
    /// reply arrives).
    pub fn pipelined(addr: SocketAddr, tag: &str, servers: &[usize], place: Place) -> Load {
        Self::spawn(addr, tag, servers, place, true)
    }

    fn spawn(
        addr: SocketAddr,
        tag: &str,
        servers: &[usize],
        place: Place,
        pipelined: bool,
    ) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let ops = Arc::new(Mutex::new(Vec::new()));
        let threads = servers
            .iter()
            .enumerate()
            .map(|(thread, &server)| {
                let client = Client {
                    thread,
                    server,
                    prefix: format!("{tag}{thread}-"),
                    place: place.clone(),
                    pipelined,
                    stop: stop.clone(),
                    ops: ops.clone(),
                };
                std::thread::spawn(move || client.run(addr))
            })
            .collect();
        Load {
            stop,
            ops,
            threads,
            per_thread: servers.len(),
        }
    }

    /// The operations recorded so far.
    pub fn ops(&self) -> Vec<Op> {
        lock(&self.ops).clone()
    }

    /// Polls (every 10 ms, up to 30 s) until `done(ops)` holds; fails at
    /// once if a reply was `Wrong` (its thread has stopped).
    pub fn wait_until(&self, what: &str, done: impl Fn(&[Op]) -> bool) {
        let start = Instant::now();
        while !done(&lock(&self.ops)) {
            assert_none_wrong(&lock(&self.ops));
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "load: never {what}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until every thread has `n` operations that match `which`.
    pub fn wait_each(&self, what: &str, n: usize, which: impl Fn(&Op) -> bool) {
        let threads = self.per_thread;
        self.wait_until(what, |ops| {
            (0..threads).all(|t| ops.iter().filter(|o| o.thread == t && which(o)).count() >= n)
        });
    }

    /// Stops the threads and returns every operation they recorded.
    pub fn stop(self) -> Vec<Op> {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            t.join().expect("client thread");
        }
        let ops = lock(&self.ops);
        ops.clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How many operations for `server` ended each way (failures by reply).
pub fn tally(ops: &[Op], server: usize) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for o in ops.iter().filter(|o| o.server == server) {
        let name = match &o.outcome {
            Outcome::Ok => "ok".to_string(),
            Outcome::Failed(line) => format!("{:?} {line}", o.kind),
            Outcome::Lost => "lost".to_string(),
            Outcome::Wrong(_) => "wrong".to_string(),
        };
        *counts.entry(name).or_default() += 1;
    }
    counts
}

/// Panics, showing the first few, if any operation is `bad`.
pub fn assert_none(ops: &[Op], what: &str, bad: impl Fn(&Op) -> bool) {
    let found: Vec<&Op> = ops.iter().filter(|o| bad(o)).collect();
    assert!(
        found.is_empty(),
        "{} {what}, e.g. {:?}",
        found.len(),
        &found[..found.len().min(5)]
    );
}

/// Panics, showing the first few, if any operation is `Wrong`.
pub fn assert_none_wrong(ops: &[Op]) {
    assert_none(ops, "replies did not answer their request", |o| {
        matches!(o.outcome, Outcome::Wrong(_))
    });
}

/// One client thread.
struct Client {
    thread: usize,
    server: usize,
    prefix: String,
    place: Place,
    pipelined: bool,
    stop: Arc<AtomicBool>,
    ops: Arc<Mutex<Vec<Op>>>,
}

impl Client {
    fn run(self, addr: SocketAddr) {
        let stream = TcpStream::connect(addr).expect("connect to moxi");
        stream.set_read_timeout(Some(REPLY_WAIT)).unwrap();
        let _ = stream.set_nodelay(true);
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        let mut n = 0u64;
        while !self.stop.load(Ordering::SeqCst) {
            let key = loop {
                n += 1;
                let k = format!("{}{n}", self.prefix);
                if (self.place)(k.as_bytes()) == self.server {
                    break k;
                }
            };
            // Values of 1..=40 copies of the key: some span several reads.
            let value = format!("{key};").repeat(1 + (n % 40) as usize);
            let mut set = format!("set {key} 0 0 {}\r\n{value}\r\n", value.len());
            let mut get = format!("get {key}\r\n");
            if self.pipelined {
                set.push_str(&std::mem::take(&mut get));
            }
            let stored = self.timed(Kind::Set, &mut writer, set.as_bytes(), || {
                set_outcome(&mut reader)
            });
            if matches!(stored, Outcome::Wrong(_)) {
                return;
            }
            let got = self.timed(Kind::Get, &mut writer, get.as_bytes(), || {
                get_outcome(&mut reader, &key, &value, stored == Outcome::Ok)
            });
            if matches!(got, Outcome::Wrong(_)) {
                return;
            }
        }
    }

    /// Writes `request` (if not sent already), reads its reply with `read`,
    /// records the op.
    fn timed(
        &self,
        kind: Kind,
        writer: &mut TcpStream,
        request: &[u8],
        read: impl FnOnce() -> Outcome,
    ) -> Outcome {
        let start = Instant::now();
        let outcome = match writer.write_all(request) {
            Ok(()) => read(),
            Err(e) => Outcome::Wrong(format!("write: {e}")),
        };
        let op = Op {
            thread: self.thread,
            server: self.server,
            kind,
            start,
            end: Instant::now(),
            outcome: outcome.clone(),
        };
        lock(&self.ops).push(op);
        outcome
    }
}

fn read_line(reader: &mut BufReader<TcpStream>) -> Result<String, String> {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) => Err("client connection closed".into()),
        Ok(_) => Ok(line),
        Err(e) => Err(format!("read: {e}")),
    }
}

fn set_outcome(reader: &mut BufReader<TcpStream>) -> Outcome {
    match read_line(reader) {
        Ok(l) if l == "STORED\r\n" => Outcome::Ok,
        Ok(l) if l.starts_with("SERVER_ERROR ") => Outcome::Failed(l.trim_end().into()),
        Ok(l) => Outcome::Wrong(format!("set: {l:?}")),
        Err(e) => Outcome::Wrong(e),
    }
}

/// The get of `key` after its set of `value`: right when it returns that
/// value (even after a failed set: a timed-out set may still have reached
/// the server), or a miss when the set failed.
fn get_outcome(reader: &mut BufReader<TcpStream>, key: &str, value: &str, stored: bool) -> Outcome {
    let line = match read_line(reader) {
        Ok(l) => l,
        Err(e) => return Outcome::Wrong(e),
    };
    if line == "END\r\n" {
        return match stored {
            true => Outcome::Lost,
            false => Outcome::Failed("END".into()),
        };
    }
    if line != format!("VALUE {key} 0 {}\r\n", value.len()) {
        return Outcome::Wrong(format!("get: {line:?}"));
    }
    let mut data = vec![0u8; value.len() + 2];
    if let Err(e) = reader.read_exact(&mut data) {
        return Outcome::Wrong(format!("read value: {e}"));
    }
    if data[..value.len()] != *value.as_bytes() || &data[value.len()..] != b"\r\n" {
        return Outcome::Wrong(format!("get {key}: another value"));
    }
    match read_line(reader) {
        Ok(l) if l == "END\r\n" => Outcome::Ok,
        Ok(l) => Outcome::Wrong(format!("after the value: {l:?}")),
        Err(e) => Outcome::Wrong(e),
    }
}
