//! One mock connection: reading requests (ascii lines with their data
//! blocks, binary frames), parsed here rather than by the codecs under test,
//! and writing replies whole, dribbled, or not at all.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::lock;
use crate::frames::{HEADER_LEN, REQUEST_MAGIC};

/// ascii commands followed by a data block whose length is token 4.
pub(super) const STORAGE_COMMANDS: &[&[u8]] =
    &[b"set", b"add", b"replace", b"append", b"prepend", b"cas"];

/// One parsed request, as the mock received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// An ascii command line (without its line ending) and, for storage
    /// commands, the data block (without its `\r\n`).
    Ascii {
        /// The command line.
        line: Vec<u8>,
        /// The data block of set/add/replace/append/prepend/cas.
        data: Option<Vec<u8>>,
    },
    /// A binary request frame.
    Binary(BinaryRequest),
}

/// A binary request frame's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryRequest {
    /// Opcode.
    pub opcode: u8,
    /// vBucket id.
    pub vbucket: u16,
    /// Opaque, to echo in the reply.
    pub opaque: u32,
    /// CAS.
    pub cas: u64,
    /// Extras.
    pub extras: Vec<u8>,
    /// Key.
    pub key: Vec<u8>,
    /// Value.
    pub value: Vec<u8>,
}

impl Received {
    /// The ascii command line, if this is an ascii request.
    pub fn line(&self) -> Option<&[u8]> {
        match self {
            Received::Ascii { line, .. } => Some(line),
            Received::Binary(_) => None,
        }
    }

    /// The binary frame, if this is a binary request.
    pub fn binary(&self) -> Option<&BinaryRequest> {
        match self {
            Received::Binary(b) => Some(b),
            Received::Ascii { .. } => None,
        }
    }
}

/// The server's handle on a session's socket (to shut it down when the
/// server is dropped); `None` once [`MockConn::reset`] closed it.
pub(super) type SharedStream = Arc<Mutex<Option<TcpStream>>>;

/// One accepted connection, as a script sees it. The connection closes
/// when the script returns.
pub struct MockConn {
    stream: TcpStream,
    server_handle: SharedStream,
    /// Set by [`MockConn::reset`]: drop must not send a FIN first.
    aborted: bool,
    buf: Vec<u8>,
    log: Arc<Mutex<Vec<u8>>>,
    session: usize,
}

impl MockConn {
    pub(super) fn new(
        stream: TcpStream,
        server_handle: SharedStream,
        log: Arc<Mutex<Vec<u8>>>,
        session: usize,
    ) -> MockConn {
        MockConn {
            stream,
            server_handle,
            aborted: false,
            buf: Vec::new(),
            log,
            session,
        }
    }
    /// This connection's position in accept order (0 for the first).
    pub fn session(&self) -> usize {
        self.session
    }

    /// Reads more bytes into the buffer; false on EOF, error or timeout.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                lock(&self.log).extend_from_slice(&chunk[..n]);
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Reads until `n` bytes are buffered; false if the peer went away.
    fn need(&mut self, n: usize) -> bool {
        while self.buf.len() < n {
            if !self.fill() {
                return false;
            }
        }
        true
    }

    /// The next complete request, or `None` once the peer closed (or sent
    /// nothing for [`SESSION_READ_TIMEOUT`](super::SESSION_READ_TIMEOUT)). The first byte decides:
    /// 0x80 is a binary frame, anything else an ascii line.
    pub fn read_request(&mut self) -> Option<Received> {
        if !self.need(1) {
            return None;
        }
        if self.buf[0] == REQUEST_MAGIC {
            self.read_binary().map(Received::Binary)
        } else {
            self.read_ascii()
        }
    }

    fn read_ascii(&mut self) -> Option<Received> {
        let end = loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                break i;
            }
            if !self.fill() {
                return None;
            }
        };
        let mut line: Vec<u8> = self.buf.drain(..=end).collect();
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let data = match data_len(&line) {
            Some(len) => {
                if !self.need(len + 2) {
                    return None;
                }
                let mut block: Vec<u8> = self.buf.drain(..len + 2).collect();
                block.truncate(len);
                Some(block)
            }
            None => None,
        };
        Some(Received::Ascii { line, data })
    }

    fn read_binary(&mut self) -> Option<BinaryRequest> {
        if !self.need(HEADER_LEN) {
            return None;
        }
        let h = &self.buf[..HEADER_LEN];
        let keylen = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let extlen = usize::from(h[4]);
        let body = u32::from_be_bytes([h[8], h[9], h[10], h[11]]) as usize;
        if !self.need(HEADER_LEN + body) {
            return None;
        }
        let frame: Vec<u8> = self.buf.drain(..HEADER_LEN + body).collect();
        let h = &frame[..HEADER_LEN];
        let body = &frame[HEADER_LEN..];
        let extlen = extlen.min(body.len());
        let keylen = keylen.min(body.len() - extlen);
        Some(BinaryRequest {
            opcode: h[1],
            vbucket: u16::from_be_bytes([h[6], h[7]]),
            opaque: u32::from_be_bytes([h[12], h[13], h[14], h[15]]),
            cas: u64::from_be_bytes([h[16], h[17], h[18], h[19], h[20], h[21], h[22], h[23]]),
            extras: body[..extlen].to_vec(),
            key: body[extlen..extlen + keylen].to_vec(),
            value: body[extlen + keylen..].to_vec(),
        })
    }

    /// Writes `bytes` in one go; false if the peer went away.
    pub fn send(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).is_ok()
    }

    /// Writes `bytes` one byte per write, pausing `gap` between writes, so
    /// the reader sees every possible split of the reply.
    pub fn dribble(&mut self, bytes: &[u8], gap: Duration) -> bool {
        for b in bytes {
            if self.stream.write_all(std::slice::from_ref(b)).is_err() {
                return false;
            }
            std::thread::sleep(gap);
        }
        true
    }

    /// Reads and records everything, answering nothing, until the peer
    /// closes or the mock is dropped.
    pub fn stall(&mut self) {
        while self.fill() || self.stalled_by_timeout_only() {}
    }

    /// After a read timeout the connection may still be open: keep stalling
    /// unless the peer closed. (A read timeout shows as an error.)
    fn stalled_by_timeout_only(&self) -> bool {
        let mut probe = [0u8; 1];
        let _ = self.stream.set_nonblocking(true);
        let open =
            matches!(self.stream.peek(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
        let _ = self.stream.set_nonblocking(false);
        open
    }

    /// Closes the connection (both directions) now. Returning from the
    /// script does the same.
    pub fn close(self) {}

    /// Makes the connection end with a TCP reset (RST) instead of a FIN:
    /// `SO_LINGER` 0, and no shutdown when the script returns, which it
    /// should do next (the RST goes out then). Bytes not yet sent are
    /// dropped and the peer's next read or write fails with "connection
    /// reset".
    pub fn reset(&mut self) {
        let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        // The RST goes out when the last handle closes: the server's clone
        // now, this one when the script returns and drops it (without the
        // FIN a shutdown would send first).
        drop(lock(&self.server_handle).take());
        self.aborted = true;
    }
}

impl Drop for MockConn {
    fn drop(&mut self) {
        // The server keeps a clone of the socket, so dropping this handle
        // alone would not close the connection.
        if !self.aborted {
            let _ = self.stream.shutdown(Shutdown::Both);
        }
    }
}

/// The data length of an ascii storage command line, if it is one.
pub(super) fn data_len(line: &[u8]) -> Option<usize> {
    let mut tokens = line.split(|&b| b == b' ').filter(|t| !t.is_empty());
    let cmd = tokens.next()?;
    if !STORAGE_COMMANDS.contains(&cmd) {
        return None;
    }
    let len = tokens.nth(3)?;
    std::str::from_utf8(len).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::data_len;

    #[test]
    fn storage_lines_have_data_lengths() {
        assert_eq!(data_len(b"cas k 0 0 12 99 noreply"), Some(12));
        assert_eq!(data_len(b"set  k 0 0 3"), Some(3));
        assert_eq!(data_len(b"get k"), None);
        assert_eq!(data_len(b"set k 0 0"), None);
    }
}
