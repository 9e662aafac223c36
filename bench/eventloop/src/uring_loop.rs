//! The same per-core loop on io_uring (`io-uring` crate, used directly):
//! completion-based. Every open socket has one `Recv` in flight into its
//! read buffer's spare room, and at most one `Send` in flight from a buffer
//! that nothing appends to meanwhile (`sending`); bytes queued while a send
//! is in flight wait in the other buffer and leave with the next send. One
//! `io_uring_enter` per turn submits everything the turn queued and waits
//! for the next completion besides those of the sends it submitted. The ring is set up single-issuer with deferred
//! task running (completions are processed when we ask, in our thread).
//!
//! All of the prototype's io_uring `unsafe` is in this module: the kernel
//! writes into and reads from our buffers after we return, so each buffer
//! must stay put and untouched until its completion arrives (see the
//! `SAFETY` comments), and accepted descriptors are adopted from raw fds.

use std::cell::RefCell;
use std::io::{self, ErrorKind};
use std::mem;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Wake, Waker};

use bytes::{BufMut, BytesMut};
use io_uring::{opcode, squeue, types, IoUring};

use crate::core::{Down, Session};

thread_local! {
    /// Sends pushed since the last `io_uring_enter`.
    static SENDS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    static READY: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    static DIRTY: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

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
    list.with(|l| mem::swap(&mut *l.borrow_mut(), into));
}

const GROWTH: usize = 16 * 1024;
const READ_ROOM: usize = 1024;

// user_data: the operation in the low 2 bits, the connection above.
const OP_ACCEPT: u64 = 0;
const OP_RECV: u64 = 1;
const OP_SEND: u64 = 2;
/// Connections at or above this index (in user_data) are downstream ones.
const DOWN_BASE: usize = 1 << 40;

/// The I/O half of one socket: its buffers and what is in flight.
struct Io {
    sock: TcpStream,
    rbuf: BytesMut,
    /// The bytes of the `Send` in flight (untouched until it completes).
    sending: BytesMut,
    recv_inflight: bool,
    send_inflight: bool,
}

impl Io {
    fn new(sock: TcpStream) -> Io {
        Io {
            sock,
            rbuf: BytesMut::with_capacity(GROWTH),
            sending: BytesMut::with_capacity(GROWTH),
            recv_inflight: false,
            send_inflight: false,
        }
    }

    fn fd(&self) -> types::Fd {
        types::Fd(self.sock.as_raw_fd())
    }

    fn recv(&mut self, ring: &mut IoUring, ud: u64) -> io::Result<()> {
        if self.rbuf.capacity() - self.rbuf.len() < READ_ROOM {
            self.rbuf.reserve(GROWTH);
        }
        let fd = self.fd();
        let spare = self.rbuf.spare_capacity_mut();
        let len = u32::try_from(spare.len()).unwrap_or(u32::MAX);
        let e = opcode::Recv::new(fd, spare.as_mut_ptr().cast(), len)
            .build()
            .user_data(ud);
        // SAFETY: the kernel writes up to `len` bytes at the spare room of
        // `rbuf`. `rbuf` is neither read, grown nor dropped while
        // `recv_inflight` is set (a connection is dropped only when nothing
        // is in flight), and moving `Io` does not move its heap buffer.
        unsafe { push(ring, &e)? };
        self.recv_inflight = true;
        Ok(())
    }

    /// The recv completed with `res` bytes (or -errno): false at end of
    /// stream or on an error.
    fn received(&mut self, res: i32) -> bool {
        self.recv_inflight = false;
        match usize::try_from(res) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                // SAFETY: the kernel initialised the first `n` bytes of the
                // spare room handed to the completed `Recv` (n <= its len).
                unsafe { self.rbuf.advance_mut(n) };
                true
            }
        }
    }

    /// Starts a send of `queued` (swapped in) unless one is in flight.
    fn send(&mut self, ring: &mut IoUring, queued: &mut BytesMut, ud: u64) -> io::Result<()> {
        if self.send_inflight || (self.sending.is_empty() && queued.is_empty()) {
            return Ok(());
        }
        if self.sending.is_empty() {
            mem::swap(&mut self.sending, queued);
        }
        let len = u32::try_from(self.sending.len()).unwrap_or(u32::MAX);
        let e = opcode::Send::new(self.fd(), self.sending.as_ptr(), len)
            .build()
            .user_data(ud);
        // SAFETY: the kernel reads `len` bytes of `sending`, which is not
        // written, grown or dropped while `send_inflight` is set.
        unsafe { push(ring, &e)? };
        self.send_inflight = true;
        SENDS.set(SENDS.get() + 1);
        Ok(())
    }

    /// The send completed: false on an error.
    fn sent(&mut self, res: i32) -> bool {
        self.send_inflight = false;
        match usize::try_from(res) {
            Ok(n) if n > 0 => {
                let _ = self.sending.split_to(n.min(self.sending.len()));
                if self.sending.is_empty() {
                    self.sending.clear();
                }
                true
            }
            _ => false,
        }
    }

    fn idle(&self) -> bool {
        !self.recv_inflight && !self.send_inflight
    }
}

/// Pushes `e`, submitting first when the submission queue is full.
///
/// # Safety
/// The buffers `e` points to must stay valid until its completion.
unsafe fn push(ring: &mut IoUring, e: &squeue::Entry) -> io::Result<()> {
    loop {
        // SAFETY: forwarded to the caller.
        if unsafe { ring.submission().push(e) }.is_ok() {
            return Ok(());
        }
        ring.submit()?;
    }
}

struct DownIo {
    io: Io,
    down: Rc<RefCell<Down>>,
    waker: Waker,
}

struct Up {
    io: Io,
    wbuf: BytesMut,
    session: Session,
    waker: Waker,
    open: bool,
}

fn ud(conn: usize, op: u64) -> u64 {
    ((conn as u64) << 2) | op
}

/// Serves `listener` forever, forwarding to `servers`.
pub fn run(listener: TcpListener, servers: &[SocketAddr]) -> io::Result<()> {
    let mut ring = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(1024)
        .or_else(|_| IoUring::new(1024))?;
    let mut dios = Vec::new();
    let mut downs = Vec::new();
    for (i, a) in servers.iter().enumerate() {
        let s = TcpStream::connect(a)?;
        s.set_nodelay(true)?;
        let down = Rc::new(RefCell::new(Down::default()));
        let waker = Waker::from(Arc::new(ListWake { id: i, down: true }));
        down.borrow_mut().writer = Some(waker.clone());
        downs.push(down.clone());
        let mut d = DownIo {
            io: Io::new(s),
            down,
            waker,
        };
        d.io.recv(&mut ring, ud(DOWN_BASE + i, OP_RECV))?;
        dios.push(d);
    }
    let lfd = listener.as_raw_fd();
    accept(&mut ring, lfd)?;
    let mut ups: Vec<Option<Up>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut cqes: Vec<(u64, i32)> = Vec::with_capacity(1024);
    let mut list = Vec::new();
    loop {
        // A send to a socket with room completes inside the enter that
        // submits it, and its completion alone would end the wait: wait
        // for one completion more than the sends just pushed, so that a
        // turn costs one enter, not two.
        let want = SENDS.replace(0) + 1;
        match ring.submit_and_wait(want) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        cqes.clear();
        cqes.extend(ring.completion().map(|c| (c.user_data(), c.result())));
        for &(u, res) in &cqes {
            let (conn, op) = ((u >> 2) as usize, u & 3);
            if op == OP_ACCEPT {
                if res >= 0 {
                    // SAFETY: a successful accept's result is a new
                    // descriptor that nothing else owns.
                    let sock = unsafe { TcpStream::from_raw_fd(res as RawFd) };
                    adopt(&mut ring, sock, &mut ups, &mut free)?;
                }
                accept(&mut ring, lfd)?;
            } else if conn >= DOWN_BASE {
                let i = conn - DOWN_BASE;
                let d = &mut dios[i];
                let ok = if op == OP_RECV {
                    d.io.received(res)
                        && d.down.borrow_mut().deliver(&mut d.io.rbuf).is_ok()
                        && d.io.recv(&mut ring, ud(conn, OP_RECV)).is_ok()
                } else {
                    let ok = d.io.sent(res);
                    let mut down = d.down.borrow_mut();
                    let sent = d.io.send(&mut ring, &mut down.wbuf, ud(conn, OP_SEND));
                    if down.wbuf.is_empty() && !d.io.send_inflight && down.writer.is_none() {
                        down.writer = Some(d.waker.clone());
                    }
                    ok && sent.is_ok()
                };
                if !ok {
                    d.down.borrow_mut().fail_all();
                }
            } else if let Some(up) = ups.get_mut(conn).and_then(Option::as_mut) {
                if op == OP_RECV {
                    let got = up.io.received(res);
                    if got && up.open {
                        up.session.decode_all(&mut up.io.rbuf, &downs);
                        if !up.session.closing {
                            up.io.recv(&mut ring, ud(conn, OP_RECV))?;
                        }
                        up.session.take_ready(&mut up.wbuf, Some(&up.waker));
                    } else {
                        up.open = false;
                    }
                } else {
                    up.open &= up.io.sent(res);
                }
                if up.open {
                    up.io.send(&mut ring, &mut up.wbuf, ud(conn, OP_SEND))?;
                }
                finish(&mut ups, &mut free, conn);
            }
        }
        loop {
            take(&DIRTY, &mut list);
            for &i in &list {
                let d = &mut dios[i];
                let mut down = d.down.borrow_mut();
                d.io.send(&mut ring, &mut down.wbuf, ud(DOWN_BASE + i, OP_SEND))?;
                if down.wbuf.is_empty() && !d.io.send_inflight && down.writer.is_none() {
                    down.writer = Some(d.waker.clone());
                }
            }
            take(&READY, &mut list);
            if list.is_empty() {
                break;
            }
            for &i in &list {
                if let Some(up) = ups.get_mut(i).and_then(Option::as_mut) {
                    up.session.take_ready(&mut up.wbuf, Some(&up.waker));
                    if up.open {
                        up.io.send(&mut ring, &mut up.wbuf, ud(i, OP_SEND))?;
                    }
                    finish(&mut ups, &mut free, i);
                }
            }
        }
    }
}

fn accept(ring: &mut IoUring, lfd: RawFd) -> io::Result<()> {
    let e = opcode::Accept::new(types::Fd(lfd), std::ptr::null_mut(), std::ptr::null_mut())
        .build()
        .user_data(OP_ACCEPT);
    // SAFETY: no buffer: the peer address is not asked for.
    unsafe { push(ring, &e) }
}

fn adopt(
    ring: &mut IoUring,
    sock: TcpStream,
    ups: &mut Vec<Option<Up>>,
    free: &mut Vec<usize>,
) -> io::Result<()> {
    sock.set_nodelay(true)?;
    let i = free.pop().unwrap_or_else(|| {
        ups.push(None);
        ups.len() - 1
    });
    let up = ups[i].insert(Up {
        io: Io::new(sock),
        wbuf: BytesMut::with_capacity(GROWTH),
        session: Session::default(),
        waker: Waker::from(Arc::new(ListWake { id: i, down: false })),
        open: true,
    });
    up.io.recv(ring, ud(i, OP_RECV))
}

/// Drops a connection that is done once nothing of it is in flight (its
/// buffers may not go before); a recv still waiting is ended by shutting
/// the socket down.
fn finish(ups: &mut [Option<Up>], free: &mut Vec<usize>, i: usize) {
    let Some(up) = ups[i].as_mut() else { return };
    let done = !up.open
        || (up.session.closing
            && up.wbuf.is_empty()
            && up.io.sending.is_empty()
            && !up.session.has_inflight());
    if !done {
        return;
    }
    up.open = false;
    if up.io.idle() {
        ups[i] = None;
        free.push(i);
    } else if up.io.recv_inflight {
        let _ = up.io.sock.shutdown(Shutdown::Both);
    }
}
