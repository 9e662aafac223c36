//! A per-core epoll loop of our own on `mio`: one thread, one `Poll`, every
//! socket registered once for READABLE | WRITABLE, edge-triggered (mio
//! registers with EPOLLET; see the module docs of `main.rs` for why that
//! suits us). No tasks: a client connection and a downstream connection
//! are plain structs in vectors indexed by their token, and a wake-up of
//! the shared core (`crate::core`) puts a token on one of two lists that
//! the loop drains after each `epoll_wait`: downstream connections with
//! requests to write (written first, so that the requests of every client
//! served in this turn leave in one write per connection), then client
//! connections whose oldest request was answered.

use std::cell::RefCell;
use std::io::{self, ErrorKind, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Wake, Waker};

use bytes::{Buf, BytesMut};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use crate::core::{Down, Session};
use crate::sys::recv_into;

thread_local! {
    /// Client connections whose oldest request may be answered.
    static READY: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// Downstream connections with requests queued.
    static DIRTY: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// A waker that lists its connection for the loop.
struct ListWake {
    id: usize,
    down: bool,
}

impl Wake for ListWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let list = if self.down { &DIRTY } else { &READY };
        list.with(|l| l.borrow_mut().push(self.id));
    }
}

fn take(list: &'static std::thread::LocalKey<RefCell<Vec<usize>>>, into: &mut Vec<usize>) {
    into.clear();
    list.with(|l| std::mem::swap(&mut *l.borrow_mut(), into));
}

const READ_ROOM: usize = 1024;
const GROWTH: usize = 16 * 1024;

/// Reads until the socket is drained; calls `got` after each read. A read
/// shorter than the room offered means the socket was empty at that
/// moment: with edge triggering, data arriving later raises a new event,
/// so no read is spent on `EAGAIN`. Returns false at end of stream or on
/// an error.
fn drain(sock: &TcpStream, rbuf: &mut BytesMut, mut got: impl FnMut(&mut BytesMut)) -> bool {
    loop {
        if rbuf.capacity() - rbuf.len() < READ_ROOM {
            rbuf.reserve(GROWTH);
        }
        let room = rbuf.capacity() - rbuf.len();
        match recv_into(sock, rbuf) {
            Ok(0) => return false,
            Ok(n) => {
                got(rbuf);
                if n < room {
                    return true;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// Writes `wbuf` until done or the socket is full (a WRITABLE edge then
/// resumes it). Returns false on an error.
fn flush(mut sock: &TcpStream, wbuf: &mut BytesMut) -> bool {
    while !wbuf.is_empty() {
        match sock.write(wbuf) {
            Ok(0) => return false,
            Ok(n) => wbuf.advance(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

struct DownIo {
    sock: TcpStream,
    rbuf: BytesMut,
    down: Rc<RefCell<Down>>,
    waker: Waker,
}

impl DownIo {
    fn read(&mut self) {
        let down = &self.down;
        let mut ok = true;
        let open = drain(&self.sock, &mut self.rbuf, |rbuf| {
            ok &= down.borrow_mut().deliver(rbuf).is_ok();
        });
        if !open || !ok {
            // The prototype does not reconnect: fail what waits, go on.
            down.borrow_mut().fail_all();
        }
    }

    fn write(&mut self) {
        let mut d = self.down.borrow_mut();
        if !flush(&self.sock, &mut d.wbuf) {
            d.fail_all();
        }
        if d.wbuf.is_empty() && d.writer.is_none() {
            d.writer = Some(self.waker.clone());
        }
    }
}

struct Up {
    sock: TcpStream,
    rbuf: BytesMut,
    wbuf: BytesMut,
    session: Session,
    waker: Waker,
    open: bool,
}

impl Up {
    fn read(&mut self, downs: &[Rc<RefCell<Down>>]) {
        let session = &mut self.session;
        self.open = drain(&self.sock, &mut self.rbuf, |rbuf| {
            session.decode_all(rbuf, downs);
        });
        self.answer();
    }

    /// Moves the answered requests' replies to the write buffer and writes.
    fn answer(&mut self) {
        self.session.take_ready(&mut self.wbuf, Some(&self.waker));
        self.write();
    }

    fn write(&mut self) {
        if !flush(&self.sock, &mut self.wbuf) {
            self.open = false;
        }
    }

    fn done(&self) -> bool {
        !self.open || (self.session.closing && self.wbuf.is_empty() && !self.session.has_inflight())
    }
}

const LISTENER: Token = Token(0);

/// Serves `listener` forever, forwarding to `servers`.
pub fn run(listener: std::net::TcpListener, servers: &[SocketAddr]) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut listener = TcpListener::from_std(listener);
    let mut poll = Poll::new()?;
    let both = Interest::READABLE | Interest::WRITABLE;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut dios = Vec::new();
    let mut downs = Vec::new();
    for (i, a) in servers.iter().enumerate() {
        let s = std::net::TcpStream::connect(a)?;
        s.set_nodelay(true)?;
        s.set_nonblocking(true)?;
        let mut sock = TcpStream::from_std(s);
        poll.registry().register(&mut sock, Token(1 + i), both)?;
        let down = Rc::new(RefCell::new(Down::default()));
        let waker = Waker::from(Arc::new(ListWake { id: i, down: true }));
        down.borrow_mut().writer = Some(waker.clone());
        downs.push(down.clone());
        dios.push(DownIo {
            sock,
            rbuf: BytesMut::with_capacity(GROWTH),
            down,
            waker,
        });
    }
    let base = 1 + servers.len();
    let mut ups: Vec<Option<Up>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut list = Vec::new();
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for ev in events.iter() {
            let t = ev.token().0;
            if t == LISTENER.0 {
                accept_all(&listener, &poll, base, &mut ups, &mut free)?;
            } else if t < base {
                let d = &mut dios[t - 1];
                if ev.is_readable() {
                    d.read();
                }
                if ev.is_writable() {
                    d.write();
                }
            } else if let Some(up) = ups.get_mut(t - base).and_then(Option::as_mut) {
                if ev.is_readable() {
                    up.read(&downs);
                }
                if ev.is_writable() {
                    up.write();
                }
                if up.done() {
                    close(&poll, &mut ups, &mut free, t - base)?;
                }
            }
        }
        loop {
            take(&DIRTY, &mut list);
            for &i in &list {
                dios[i].write();
            }
            take(&READY, &mut list);
            if list.is_empty() {
                break;
            }
            for &i in &list {
                if let Some(up) = ups.get_mut(i).and_then(Option::as_mut) {
                    up.answer();
                    if up.done() {
                        close(&poll, &mut ups, &mut free, i)?;
                    }
                }
            }
        }
    }
}

fn accept_all(
    listener: &TcpListener,
    poll: &Poll,
    base: usize,
    ups: &mut Vec<Option<Up>>,
    free: &mut Vec<usize>,
) -> io::Result<()> {
    loop {
        let (mut sock, _) = match listener.accept() {
            Ok(s) => s,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            // Out of descriptors and the like: try again on the next event.
            Err(_) => return Ok(()),
        };
        sock.set_nodelay(true)?;
        let i = free.pop().unwrap_or_else(|| {
            ups.push(None);
            ups.len() - 1
        });
        let both = Interest::READABLE | Interest::WRITABLE;
        poll.registry().register(&mut sock, Token(base + i), both)?;
        ups[i] = Some(Up {
            sock,
            rbuf: BytesMut::with_capacity(GROWTH),
            wbuf: BytesMut::with_capacity(GROWTH),
            session: Session::default(),
            waker: Waker::from(Arc::new(ListWake { id: i, down: false })),
            open: true,
        });
    }
}

fn close(poll: &Poll, ups: &mut [Option<Up>], free: &mut Vec<usize>, i: usize) -> io::Result<()> {
    if let Some(mut up) = ups[i].take() {
        poll.registry().deregister(&mut up.sock)?;
        free.push(i);
    }
    Ok(())
}
