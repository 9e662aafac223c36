//! One checking client on its own connection: draws a batch of operations
//! on its keys, sends it, checks every reply ([`crate::conv`]), and goes
//! on until its operation count or deadline is reached. A lost connection,
//! a client-side timeout or a mismatch drops the connection; the client
//! reconnects and carries on.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use protocol::{ascii, binary, Command, Limits, Request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::conv::{Conversation, Frame, What};
use crate::epoch::Epochs;
use crate::model::{KeyKind, KeyModel};
use crate::ops::{self, Draw, Op, Protocol, KEYS_PER_CLIENT};
use crate::report::Report;
use crate::rng::Rng;
use crate::value;

/// What every client of a run shares.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Run tag, part of every key (runs never share keys).
    pub tag: u32,
    /// Most operations per batch (sent together, then answered).
    pub pipeline: usize,
    /// Percent of writes sent noreply / quiet.
    pub quiet_percent: u64,
    /// Longest wait for a connect, a write or the next bytes of a reply.
    pub timeout: Duration,
    /// Operations per client (`None`: until the deadline).
    pub ops: Option<u64>,
    /// Stop starting batches at this time (`None`: after `ops`).
    pub until: Option<Instant>,
    /// Faults are applied: errors outside them are counted apart.
    pub fault_aware: bool,
    /// How long a failed write may still land (see [`KeyModel::ghost_ttl`]).
    pub ghost_ttl: Duration,
}

/// One client: who it is and where it connects.
#[derive(Clone, Copy, Debug)]
pub struct ClientSpec {
    /// Client id (unique in the run; it owns its keys).
    pub id: u32,
    /// Its protocol.
    pub protocol: Protocol,
    /// moxi's address.
    pub addr: SocketAddr,
    /// Random seed.
    pub seed: u64,
    /// moxi may answer this client's failed reads with misses (an ascii
    /// hop inside the topology), not only its ascii gets.
    pub miss_on_error: bool,
}

/// Runs one client to its end and returns its counts.
pub async fn run_client(spec: ClientSpec, settings: Arc<Settings>, epochs: Arc<Epochs>) -> Report {
    let now = Instant::now();
    let models = (0..KEYS_PER_CLIENT)
        .map(|i| {
            let kind = if i == 0 {
                KeyKind::Counter
            } else {
                KeyKind::Blob
            };
            let mut m = KeyModel::new(spec.id, i, kind, now);
            m.ghost_ttl = settings.ghost_ttl;
            m
        })
        .collect();
    let names = (0..KEYS_PER_CLIENT)
        .map(|i| value::key_name(settings.tag, spec.id, i))
        .collect();
    let mut conv = Conversation::new(spec.id, spec.protocol, models, names, epochs);
    conv.fault_aware = settings.fault_aware;
    conv.miss_on_error = spec.miss_on_error;
    let mut c = Client {
        conv,
        rng: Rng::new(spec.seed),
        spec,
        settings,
        seq: 0,
        opaque: 0,
        stream: None,
        rbuf: BytesMut::with_capacity(16 * 1024),
    };
    c.run().await;
    let mut report = c.conv.report;
    report.clients = 1;
    report
}

struct Client {
    spec: ClientSpec,
    settings: Arc<Settings>,
    conv: Conversation,
    rng: Rng,
    seq: u64,
    opaque: u32,
    stream: Option<TcpStream>,
    rbuf: BytesMut,
}

/// Why a batch ended early: the error kind to count.
type Lost = String;

impl Client {
    async fn run(&mut self) {
        while !self.finished() {
            if self.stream.is_none() && !self.connect().await {
                tokio::time::sleep(Duration::from_millis(50 + self.rng.below(100))).await;
                continue;
            }
            let wbuf = self.batch();
            if let Err(why) = self.exchange(wbuf).await {
                self.stream = None;
                self.rbuf.clear();
                self.conv.abandon(&why);
                tokio::time::sleep(Duration::from_millis(10 + self.rng.below(40))).await;
            }
        }
        self.sync().await;
    }

    fn finished(&self) -> bool {
        self.settings.ops.is_some_and(|n| self.seq >= n)
            || self.settings.until.is_some_and(|t| Instant::now() >= t)
    }

    async fn connect(&mut self) -> bool {
        match timeout(self.settings.timeout, TcpStream::connect(self.spec.addr)).await {
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                self.stream = Some(s);
                true
            }
            Ok(Err(e)) => {
                self.conv.error_in(format!("connect: {}", e.kind()), None);
                false
            }
            Err(_) => {
                self.conv.error_in("client timeout (connect)".into(), None);
                false
            }
        }
    }

    /// Draws and encodes the next batch, recording what was sent.
    fn batch(&mut self) -> BytesMut {
        let mut out = BytesMut::new();
        let n = 1 + self.rng.index(self.settings.pipeline.max(1));
        let mut used = Vec::new();
        let mut last_quiet = false;
        for _ in 0..n {
            let mut draw = Draw {
                rng: &mut self.rng,
                models: &self.conv.models,
                protocol: self.spec.protocol,
                quiet_percent: self.settings.quiet_percent,
                now: self.conv.epochs().now(),
            };
            let seq = self.seq;
            let op = draw.op(&mut used, self.spec.id, seq);
            self.seq += 1;
            let (client, opaque) = (self.spec.id, &mut self.opaque);
            let reqs = ops::requests(&op, self.spec.protocol, &self.conv.names, || {
                *opaque = opaque.wrapping_add(1);
                (client << 12) | (*opaque & 0xfff)
            });
            for req in reqs {
                last_quiet = req.quiet;
                let what = what_of(&op, &req, &self.conv.names);
                self.send(&mut out, seq, req, what);
            }
        }
        if last_quiet && self.spec.protocol == Protocol::Binary {
            let req = self.noop();
            self.send(&mut out, self.seq, req, What::Sync);
        }
        out
    }

    fn noop(&mut self) -> Request {
        self.opaque = self.opaque.wrapping_add(1);
        let mut req = Request::new(Command::Noop);
        req.opaque = (self.spec.id << 12) | (self.opaque & 0xfff);
        req
    }

    fn send(&mut self, out: &mut BytesMut, seq: u64, req: Request, what: What) {
        let encoded = match self.spec.protocol {
            Protocol::Ascii => ascii::encode_request(&req, out).is_ok(),
            Protocol::Binary => binary::encode_request(&req, out).is_ok(),
        };
        if encoded {
            self.conv.sent(seq, req, what);
        } else {
            self.conv
                .report
                .error("request without an encoding (soak bug)");
        }
    }

    /// Sends `wbuf` and reads until every reply is in.
    async fn exchange(&mut self, wbuf: BytesMut) -> Result<(), Lost> {
        let limit = self.settings.timeout;
        let stream = self.stream.as_mut().ok_or("not connected")?;
        match timeout(limit, stream.write_all(&wbuf)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("connection: write: {}", e.kind())),
            Err(_) => return Err("client timeout (write)".into()),
        }
        while self.conv.waiting() {
            if self.decode_one()? {
                continue;
            }
            let stream = self.stream.as_mut().ok_or("not connected")?;
            match timeout(limit, stream.read_buf(&mut self.rbuf)).await {
                Ok(Ok(0)) => return Err("connection: closed by moxi".into()),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(format!("connection: read: {}", e.kind())),
                Err(_) => return Err("client timeout (reply)".into()),
            }
        }
        if !self.rbuf.is_empty() {
            let m = self.conv.mismatch_text(
                value::show(&self.rbuf),
                "bytes after the last reply of a batch".into(),
            );
            self.conv.report.mismatch(m);
            return Err("connection dropped after a mismatch".into());
        }
        Ok(())
    }

    /// Decodes and checks one buffered frame; false when more bytes are needed.
    fn decode_one(&mut self) -> Result<bool, Lost> {
        let limits = Limits::default().with_max_value_len(4 << 20);
        let decoded = match self.spec.protocol {
            Protocol::Ascii => ascii::decode_response(&mut self.rbuf, &limits)
                .map(|f| f.map(Frame::Ascii))
                .map_err(|e| e.to_string()),
            Protocol::Binary => binary::decode_response(&mut self.rbuf, &limits)
                .map(|f| f.map(|(to, r)| Frame::Binary(to, r)))
                .map_err(|e| e.to_string()),
        };
        let mismatch = match decoded {
            Ok(None) => return Ok(false),
            Ok(Some(frame)) => match self.conv.on_frame(frame) {
                Ok(()) => return Ok(true),
                Err(m) => m,
            },
            Err(e) => self
                .conv
                .mismatch_text(value::show(&self.rbuf), format!("undecodable reply: {e}")),
        };
        self.conv.report.mismatch(mismatch);
        Err("connection dropped after a mismatch".into())
    }

    /// A last round trip that moxi answers itself: nothing may be left
    /// over from earlier replies.
    async fn sync(&mut self) {
        if self.stream.is_none() {
            return;
        }
        let mut out = BytesMut::new();
        let req = match self.spec.protocol {
            Protocol::Ascii => Request::new(Command::Version),
            Protocol::Binary => self.noop(),
        };
        self.send(&mut out, self.seq, req, What::Sync);
        if let Err(why) = self.exchange(out).await {
            self.conv.abandon(&why);
        }
    }
}

/// What one wire request of `op` is about.
fn what_of(op: &Op, req: &Request, names: &[bytes::Bytes]) -> What {
    match op {
        Op::Write { key, write, .. } => What::Write {
            key: *key,
            write: write.clone(),
        },
        Op::Read { keys, how } => {
            let keys = match &req.command {
                Command::Get(g) if g.keys.len() == 1 && keys.len() > 1 => keys
                    .iter()
                    .copied()
                    .filter(|&k| names[usize::from(k)] == g.keys[0].0)
                    .collect(),
                _ => keys.clone(),
            };
            What::Read { keys, how: *how }
        }
    }
}
