//! Recording a conversation: send all input, half-close, read until EOF.
//!
//! memcached 1.6.18 answers everything it has read before it acts on EOF
//! (checked with 5000 pipelined set+get pairs in one write), so EOF is the
//! end marker and no sentinel command is needed. A server under test must
//! behave the same way.
//!
//! Input is written by a helper thread while this thread reads, so a large
//! pipelined input cannot deadlock against large replies. A server that
//! closes early (after `quit`, a bad binary magic, a protocol error) makes
//! the writer fail with `EPIPE`/`ECONNRESET`; that is expected and ignored,
//! and a reset seen while reading ends the transcript like EOF.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Per-read and total time limit used by [`transcript`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a transcript could not be completed.
#[derive(Debug)]
pub struct TranscriptError {
    /// What went wrong.
    pub error: io::Error,
    /// The bytes received before the failure.
    pub partial: Vec<u8>,
}

impl std::fmt::Display for TranscriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} after receiving {} bytes",
            self.error,
            self.partial.len()
        )
    }
}

impl std::error::Error for TranscriptError {}

/// Sends `input` to `addr` in one go, shuts the write half, and returns
/// every byte received until the server closes.
///
/// Panics (failing the test) if the connection cannot be made or the server
/// neither answers nor closes within [`DEFAULT_TIMEOUT`].
pub fn transcript(addr: SocketAddr, input: &[u8]) -> Vec<u8> {
    try_transcript(addr, input, DEFAULT_TIMEOUT)
        .unwrap_or_else(|e| panic!("transcript with {addr} failed: {e}"))
}

/// Like [`transcript`], with an explicit time limit and errors returned.
///
/// `timeout` bounds each read and the whole exchange.
pub fn try_transcript(
    addr: SocketAddr,
    input: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, TranscriptError> {
    let fail = |error| TranscriptError {
        error,
        partial: Vec::new(),
    };
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(fail)?;
    stream.set_read_timeout(Some(timeout)).map_err(fail)?;
    stream.set_write_timeout(Some(timeout)).map_err(fail)?;
    let mut writer_half = stream.try_clone().map_err(fail)?;
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        // Errors are expected when the server closes early; the reader sees
        // the close. Half-closing tells the server the conversation is over.
        let _ = writer_half.write_all(&input);
        let _ = writer_half.shutdown(Shutdown::Write);
    });
    let result = read_to_close(&mut stream, timeout);
    // Unblocks the writer if the server stopped reading without closing.
    let _ = stream.shutdown(Shutdown::Both);
    let _ = writer.join();
    result
}

fn read_to_close(stream: &mut TcpStream, timeout: Duration) -> Result<Vec<u8>, TranscriptError> {
    let start = Instant::now();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if start.elapsed() > timeout {
            return Err(TranscriptError {
                error: io::Error::new(io::ErrorKind::TimedOut, "server did not close in time"),
                partial: out,
            });
        }
        match stream.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(out),
            Err(e) => {
                let error = if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) {
                    io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no reply and no close within {timeout:?}"),
                    )
                } else {
                    e
                };
                return Err(TranscriptError {
                    error,
                    partial: out,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// An echo server that answers after reading to EOF.
    fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let mut all = Vec::new();
                let _ = s.read_to_end(&mut all);
                let _ = s.write_all(&all);
            }
        });
        addr
    }

    #[test]
    fn reads_until_close() {
        let addr = echo_server();
        let input = vec![7u8; 300_000];
        assert_eq!(transcript(addr, &input), input);
    }

    #[test]
    fn silent_server_times_out_with_error() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let hold = std::thread::spawn(move || {
            let conn = listener.accept();
            std::thread::sleep(Duration::from_millis(500));
            drop(conn);
        });
        let err = try_transcript(addr, b"x", Duration::from_millis(100))
            .expect_err("server never closes in time");
        assert_eq!(err.error.kind(), io::ErrorKind::TimedOut);
        hold.join().expect("holder thread");
    }
}
