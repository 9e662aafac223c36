//! A downstream that answers garbage: bound on a killed memcached's port
//! for a while, so moxi meets a server whose replies cannot be parsed
//! (bytes that are neither an ascii reply line nor a binary frame), one
//! that closes at once, and one that says nothing.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often blocked threads look at the stop flag.
const TICK: Duration = Duration::from_millis(50);

/// The garbage server; stops (and frees its port) on drop.
pub struct Garbage {
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Garbage {
    /// Listens on 127.0.0.1:`port`.
    pub fn start(port: u16) -> std::io::Result<Garbage> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let accept = std::thread::Builder::new()
            .name("soak-garbage".into())
            .spawn(move || accept_loop(listener, flag))?;
        Ok(Garbage {
            stop,
            accept: Some(accept),
        })
    }
}

impl Drop for Garbage {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: TcpListener, stop: Arc<AtomicBool>) {
    let mut conns = Vec::new();
    let mut n: u64 = 0;
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                n += 1;
                let flag = stop.clone();
                conns.push(std::thread::spawn(move || serve(stream, n, &flag)));
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(TICK),
            Err(_) => std::thread::sleep(TICK),
        }
    }
    for c in conns {
        let _ = c.join();
    }
}

/// Connection `n`: every third closes at once, every third stays silent,
/// the rest answer each read with garbage.
fn serve(mut stream: TcpStream, n: u64, stop: &AtomicBool) {
    if n.is_multiple_of(3) {
        let _ = stream.shutdown(Shutdown::Both);
        return;
    }
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(TICK));
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) if n % 3 == 1 => {
                if stream.write_all(&garbage(n)).is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// Bytes no memcached client can parse: a NUL first (no ascii reply
/// starts so, and it is not the binary response magic), then text.
pub fn garbage(n: u64) -> Vec<u8> {
    format!("\0GARBAGE {n:x} {}\r\n", "#".repeat((n % 64) as usize)).into_bytes()
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use protocol::{ascii, binary, Limits};

    use super::*;

    #[test]
    fn garbage_decodes_as_neither_protocol() {
        for n in 0..70 {
            let mut a = BytesMut::from(&garbage(n)[..]);
            assert!(ascii::decode_response(&mut a, &Limits::default()).is_err());
            let mut b = BytesMut::from(&[garbage(n), vec![0; 24]].concat()[..]);
            assert!(binary::decode_response(&mut b, &Limits::default()).is_err());
        }
    }

    #[test]
    fn answers_garbage_and_frees_its_port() {
        let port = testkit::free_port();
        let g = Garbage::start(port).unwrap();
        let mut answered = 0;
        for _ in 0..3 {
            let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            let _ = s.write_all(b"get a\r\n");
            let mut buf = [0u8; 64];
            if let Ok(n) = s.read(&mut buf) {
                if n > 0 && buf[0] == 0 {
                    answered += 1;
                }
            }
        }
        assert_eq!(answered, 1, "one connection in three answers");
        drop(g);
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    }
}
