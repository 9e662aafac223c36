//! The hot path every loop shares, without I/O: a client session decodes
//! requests and sends each to one downstream connection; a downstream
//! connection encodes them into one write buffer, matches its replies in
//! order and fills each request's reply slot; the session writes the
//! answered requests' replies in request order.
//!
//! This is the shape of moxi's direct lane (`crates/proxy/src/direct.rs`,
//! `downstream/`, `session/`) reduced to what a one-key get or set needs,
//! so that the loops below it do the same work: the same codec calls, one
//! `Rc` slot per request, a write buffer per downstream connection that
//! every request queued before its writer runs shares, and a waker per
//! wait. A loop decides only what a wake-up means (tokio: a task is
//! scheduled; mio and io_uring: a token goes on a list the loop drains).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::task::Waker;

use bytes::{Bytes, BytesMut};
use protocol::binary::ReplyTo;
use protocol::{
    ascii, binary, Command, Get, GetKind, Key, Limits, Request, Response, StoreMode, Value,
};

/// A reply frame, or `Err` when the downstream connection failed.
pub type Reply = Result<Response, ()>;

/// Where one request's reply lands.
#[derive(Default)]
pub struct Slot {
    reply: Cell<Option<Reply>>,
    waker: Cell<Option<Waker>>,
}

impl Slot {
    fn filled(r: Reply) -> Rc<Slot> {
        let s = Rc::new(Slot::default());
        s.reply.set(Some(r));
        s
    }

    fn fill(&self, r: Reply) {
        self.reply.set(Some(r));
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    /// Leaves `waker` in the slot unless the same one waits there already.
    fn wait(&self, waker: &Waker) {
        let old = self.waker.take();
        match old {
            Some(w) if w.will_wake(waker) => self.waker.set(Some(w)),
            _ => self.waker.set(Some(waker.clone())),
        }
    }
}

/// One downstream connection's queue: requests encoded and not yet
/// written, and the slots of those awaiting replies, in order. Shared on
/// one thread by the sessions that send and the I/O that serves it.
pub struct Down {
    /// Encoded requests not yet written.
    pub wbuf: BytesMut,
    pending: VecDeque<(u32, Rc<Slot>)>,
    opaque: u32,
    /// Woken when a request is queued (then taken: the writer puts it
    /// back when it has written everything).
    pub writer: Option<Waker>,
    limits: Limits,
}

impl Default for Down {
    fn default() -> Self {
        Down {
            wbuf: BytesMut::with_capacity(16 * 1024),
            pending: VecDeque::new(),
            opaque: 0,
            writer: None,
            limits: Limits::default().with_max_value_len(1024 * 1024 * 1024),
        }
    }
}

impl Down {
    /// Queues `req`, loud, in binary (moxi's default downstream protocol);
    /// a get as one GETK, as moxi's direct lane sends it.
    pub fn send(&mut self, req: &Request) -> Rc<Slot> {
        let mut down = match &req.command {
            Command::Get(g) => Request::new(Command::Get(Get {
                kind: g.kind,
                keys: g.keys.clone(),
                exptime: g.exptime,
                with_key: true,
            })),
            _ => req.clone(),
        };
        down.quiet = false;
        self.opaque = self.opaque.wrapping_add(1);
        down.opaque = self.opaque;
        if binary::encode_request(&down, &mut self.wbuf).is_err() {
            return Slot::filled(Err(()));
        }
        let slot = Rc::new(Slot::default());
        self.pending.push_back((down.opaque, slot.clone()));
        if let Some(w) = self.writer.take() {
            w.wake();
        }
        slot
    }

    /// Matches every complete reply in `rbuf` to the oldest request and
    /// fills its slot. `Err`: the connection cannot be trusted any more.
    pub fn deliver(&mut self, rbuf: &mut BytesMut) -> Result<(), ()> {
        loop {
            match binary::decode_response(rbuf, &self.limits) {
                Ok(Some((to, resp))) => match self.pending.pop_front() {
                    Some((opaque, slot)) if opaque == to.opaque => slot.fill(Ok(resp)),
                    _ => return Err(()),
                },
                Ok(None) => return Ok(()),
                Err(_) => return Err(()),
            }
        }
    }

    /// The connection ended: every request waiting on it fails.
    pub fn fail_all(&mut self) {
        for (_, slot) in self.pending.drain(..) {
            slot.fill(Err(()));
        }
    }
}

/// The downstream connections of one worker, one per server.
pub type Downs = [Rc<RefCell<Down>>];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Proto {
    Ascii,
    Binary,
}

/// One client connection's requests in flight.
pub struct Session {
    proto: Option<Proto>,
    ascii: ascii::RequestDecoder,
    binary: binary::RequestDecoder,
    inflight: VecDeque<(Request, Rc<Slot>)>,
    /// The client sent something that ends the connection.
    pub closing: bool,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            proto: None,
            ascii: ascii::RequestDecoder::new(Limits::default()),
            binary: binary::RequestDecoder::new(Limits::default()),
            inflight: VecDeque::new(),
            closing: false,
        }
    }
}

impl Session {
    /// True while a request waits for its reply.
    pub fn has_inflight(&self) -> bool {
        !self.inflight.is_empty()
    }

    /// Decodes every complete request in `rbuf` and sends it on.
    pub fn decode_all(&mut self, rbuf: &mut BytesMut, downs: &Downs) {
        let proto = match (self.proto, rbuf.first()) {
            (Some(p), _) => p,
            (None, None) => return,
            (None, Some(&b)) => {
                let p = if b == binary::REQUEST_MAGIC {
                    Proto::Binary
                } else {
                    Proto::Ascii
                };
                self.proto = Some(p);
                p
            }
        };
        while !self.closing {
            let req = match proto {
                Proto::Ascii => match self.ascii.decode(rbuf) {
                    Ok(Some(ascii::Decoded::Request(r))) => Ok(r),
                    Ok(Some(_)) => Err(()),
                    Ok(None) => return,
                    Err(_) => Err(()),
                },
                Proto::Binary => match self.binary.decode(rbuf) {
                    Ok(Some(binary::Decoded::Request(r))) => Ok(r),
                    Ok(Some(_)) => Err(()),
                    Ok(None) => return,
                    Err(_) => Err(()),
                },
            };
            match req {
                Ok(r) => self.dispatch(r, downs),
                // Bad input or a command the prototype does not forward.
                Err(()) => self.closing = true,
            }
        }
    }

    fn dispatch(&mut self, req: Request, downs: &Downs) {
        let key = match &req.command {
            Command::Get(g) if g.keys.len() == 1 => g.keys.first().map(|k| k.as_bytes()),
            Command::Store(s) => Some(s.key.as_bytes()),
            Command::Delete { key, .. } | Command::Touch { key, .. } => Some(key.as_bytes()),
            Command::Arith(a) => Some(a.key.as_bytes()),
            _ => None,
        };
        let slot = match key {
            // No servers: the embedded-server case (see `local`).
            Some(_) if downs.is_empty() => Slot::filled(Ok(local(&req))),
            Some(k) => {
                let server = (fnv1a(k) % downs.len() as u64) as usize;
                downs[server].borrow_mut().send(&req)
            }
            None => Slot::filled(Ok(Response::Error(protocol::ErrorKind::UnknownCommand))),
        };
        self.inflight.push_back((req, slot));
    }

    /// Writes the replies of the oldest requests that are answered, in
    /// order, to `wbuf`; leaves `waker` in the first slot still empty
    /// (tokio passes none: its next poll of [`Session::front_ready`] does).
    /// Returns how many were written.
    pub fn take_ready(&mut self, wbuf: &mut BytesMut, waker: Option<&Waker>) -> usize {
        let mut n = 0;
        while let Some((_, slot)) = self.inflight.front() {
            let Some(reply) = slot.reply.take() else {
                if let Some(w) = waker {
                    slot.wait(w);
                }
                break;
            };
            if let Some((req, _)) = self.inflight.pop_front() {
                self.answer(&req, reply, wbuf);
                n += 1;
            }
        }
        n
    }

    /// True when the oldest request is answered (its reply can be taken).
    pub fn front_ready(&self, waker: &Waker) -> bool {
        match self.inflight.front() {
            None => false,
            Some((_, slot)) => {
                let r = slot.reply.take();
                let ready = r.is_some();
                slot.reply.set(r);
                if !ready {
                    slot.wait(waker);
                }
                ready
            }
        }
    }

    fn answer(&self, req: &Request, reply: Reply, wbuf: &mut BytesMut) {
        let resp = reply.unwrap_or_else(|()| Response::server_error("proxy write to downstream"));
        match self.proto {
            Some(Proto::Binary) => {
                if !binary::is_suppressed(req, &resp) {
                    binary::encode_response(ReplyTo::of(req), &resp, wbuf);
                }
            }
            _ => {
                if req.quiet {
                    return;
                }
                match (&req.command, resp) {
                    (Command::Get(g), Response::Value(mut v)) => {
                        if let Some(k) = g.keys.first() {
                            v.key = k.clone();
                        }
                        let cas = matches!(g.kind, GetKind::Gets | GetKind::Gats);
                        ascii::encode_response(&Response::Value(v), cas, wbuf);
                        ascii::encode_response(&Response::End, false, wbuf);
                    }
                    (_, r) => ascii::encode_response(&r, false, wbuf),
                }
            }
        }
    }
}

thread_local! {
    static STORE: RefCell<HashMap<Bytes, Value>> = RefCell::new(HashMap::new());
}

/// The embedded-server case (`eventloop LOOP PORT local`): the request is
/// answered from a plain map on the worker's thread instead of a server,
/// so that the loop's cost per request of a cache server can be compared
/// with memcached's and `moxi -p`'s. Keys and values are copied in, as a
/// cache copies them into its items (they would pin the read buffer).
fn local(req: &Request) -> Response {
    STORE.with(|store| match &req.command {
        Command::Get(g) => match g
            .keys
            .first()
            .and_then(|k| store.borrow().get(k.as_bytes()).cloned())
        {
            Some(v) => Response::Value(v),
            None => Response::End,
        },
        Command::Store(st) if st.mode == StoreMode::Set => {
            let key = Bytes::copy_from_slice(st.key.as_bytes());
            let value = Value {
                key: Key(key.clone()),
                flags: st.flags,
                cas: 0,
                data: Bytes::copy_from_slice(&st.value),
            };
            store.borrow_mut().insert(key, value);
            Response::Stored { cas: 0 }
        }
        _ => Response::Error(protocol::ErrorKind::UnknownCommand),
    })
}

/// The server of a key: FNV-1a modulo the server count (the prototype
/// measures loops, not placement; every loop uses this).
fn fnv1a(key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
