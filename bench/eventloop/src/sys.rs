//! The only `unsafe` of the mio loop: reading a socket into a `BytesMut`'s
//! spare room without zeroing it first (tokio's `read_buf` does the same
//! inside tokio). Zeroing 16 KiB before every read would cost more than
//! the read's user-space work and blur the comparison.

use std::io;
use std::os::fd::AsFd;

use bytes::{BufMut, BytesMut};

/// One `recv` into `buf`'s spare capacity (which must not be empty).
pub fn recv_into(sock: &impl AsFd, buf: &mut BytesMut) -> io::Result<usize> {
    let spare = buf.spare_capacity_mut();
    let n = socket2::SockRef::from(sock).recv(spare)?;
    // SAFETY: `recv` initialised the first `n` bytes of the spare capacity
    // (the kernel wrote them; socket2 returns how many), and `n` is at most
    // the spare length it was given.
    unsafe { buf.advance_mut(n) };
    Ok(n)
}
