//! Today's design: a current-thread tokio runtime with a `LocalSet`, one
//! task per client connection, a reader task and a writer task per
//! downstream connection (as `crates/proxy/src/downstream/io.rs`), the
//! session a `select!` over write / answer / read (as
//! `crates/proxy/src/session/mod.rs`), and the worker blocking on the
//! join handle of the accept task (as `crates/server/src/runtime.rs`).

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{spawn_local, LocalSet};

use crate::core::{Down, Downs, Session};

/// Serves `listener` forever, forwarding to `servers`.
pub fn run(listener: std::net::TcpListener, servers: &[SocketAddr]) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = LocalSet::new();
    let servers = servers.to_vec();
    let accept = local.spawn_local(async move {
        let listener = TcpListener::from_std(listener)?;
        let mut downs = Vec::new();
        for a in &servers {
            downs.push(connect(*a).await?);
        }
        let downs: Rc<Downs> = downs.into();
        loop {
            let (s, _) = listener.accept().await?;
            s.set_nodelay(true)?;
            spawn_local(session(s, downs.clone()));
        }
    });
    match local.block_on(&runtime, accept) {
        Ok(r) => r,
        Err(e) => Err(io::Error::other(e)),
    }
}

async fn connect(addr: SocketAddr) -> io::Result<Rc<RefCell<Down>>> {
    let s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let (rd, wr) = s.into_split();
    let down = Rc::new(RefCell::new(Down::default()));
    spawn_local(read_task(rd, down.clone()));
    spawn_local(write_task(wr, down.clone()));
    Ok(down)
}

async fn read_task(mut rd: OwnedReadHalf, down: Rc<RefCell<Down>>) {
    let mut rbuf = BytesMut::with_capacity(16 * 1024);
    loop {
        match rd.read_buf(&mut rbuf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if down.borrow_mut().deliver(&mut rbuf).is_err() {
            break;
        }
        if rbuf.capacity() - rbuf.len() < 1024 {
            rbuf.reserve(16 * 1024);
        }
    }
    down.borrow_mut().fail_all();
}

async fn write_task(mut wr: OwnedWriteHalf, down: Rc<RefCell<Down>>) {
    // Writes what is queued, in place; sleeps (its waker in `Down::writer`)
    // when nothing is.
    let _ = poll_fn(|cx| loop {
        let mut d = down.borrow_mut();
        if d.wbuf.is_empty() {
            d.writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        match Pin::new(&mut wr).poll_write(cx, &d.wbuf) {
            Poll::Ready(Ok(0) | Err(_)) => return Poll::Ready(()),
            Poll::Ready(Ok(n)) => d.wbuf.advance(n),
            Poll::Pending => return Poll::Pending,
        }
    })
    .await;
    down.borrow_mut().fail_all();
}

async fn session(stream: TcpStream, downs: Rc<Downs>) {
    let (mut rd, mut wr) = stream.into_split();
    let mut rbuf = BytesMut::with_capacity(16 * 1024);
    let mut wbuf = BytesMut::with_capacity(16 * 1024);
    let mut s = Session::default();
    loop {
        let inflight = s.has_inflight();
        let reading = !s.closing;
        tokio::select! {
            biased;
            r = wr.write(&wbuf), if !wbuf.is_empty() => match r {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    wbuf.advance(n);
                    if wbuf.is_empty() && s.closing && !s.has_inflight() {
                        return;
                    }
                }
            },
            () = poll_fn(|cx| if s.front_ready(cx.waker()) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }), if inflight => {
                s.take_ready(&mut wbuf, None);
            }
            r = rd.read_buf(&mut rbuf), if reading => match r {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    s.decode_all(&mut rbuf, &downs);
                    if rbuf.capacity() - rbuf.len() < 1024 {
                        rbuf.reserve(16 * 1024);
                    }
                }
            },
            else => {
                let _ = wr.shutdown().await;
                return;
            }
        }
    }
}
