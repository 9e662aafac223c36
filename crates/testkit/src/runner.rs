//! Running a [`Conversation`] against a server.
//!
//! A conversation without `{cas}` is sent in one go ([`try_transcript`]). One
//! with `{cas}` is sent step by step: before each `{cas}` step the runner
//! sends a sync request — ascii `version\r\n`, binary `noop` with opaque
//! [`SYNC_OPAQUE`] — reads until its reply, takes the CAS of the latest reply
//! carrying one (ascii `VALUE ... <cas>` from gets/gats, binary a frame with
//! a non-zero CAS), fills it in and carries on. The sync replies stay in the
//! transcript, identically for every server.

use crate::corpus::Conversation;
use crate::frames::{self, RequestFrame};
use crate::normalize::ascii_records;
use crate::script::Step;
use crate::transcript::{try_transcript, TranscriptError, DEFAULT_TIMEOUT};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

/// Opaque of the binary sync `noop` (ASCII "sync").
pub const SYNC_OPAQUE: u32 = 0x7379_6e63;

const OPCODE_NOOP: u8 = 0x0a;

/// Runs a conversation on a fresh connection and returns the raw transcript.
/// Panics (failing the test) on connection errors and timeouts.
pub fn run_conversation(addr: SocketAddr, conv: &Conversation) -> Vec<u8> {
    try_run_conversation(addr, conv, DEFAULT_TIMEOUT)
        .unwrap_or_else(|e| panic!("conversation {} with {addr} failed: {e}", conv.name))
}

/// Like [`run_conversation`], with an explicit per-read time limit.
pub fn try_run_conversation(
    addr: SocketAddr,
    conv: &Conversation,
    timeout: Duration,
) -> Result<Vec<u8>, TranscriptError> {
    if let Some(input) = conv.static_input() {
        return try_transcript(addr, &input, timeout);
    }
    let mut out = Vec::new();
    interactive(addr, conv, timeout, &mut out).map_err(|error| TranscriptError {
        error,
        partial: out.clone(),
    })?;
    Ok(out)
}

fn interactive(
    addr: SocketAddr,
    conv: &Conversation,
    timeout: Duration,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut syncs = 0;
    for step in &conv.steps {
        let bytes = match step {
            Step::Send(bytes) => bytes.clone(),
            Step::SendWithCas(template) => {
                syncs += 1;
                stream.write_all(&sync_request(conv.binary))?;
                read_until(&mut stream, out, |buf| sync_seen(buf, conv.binary, syncs))?;
                let cas = latest_cas(out, conv.binary).ok_or_else(|| {
                    io::Error::other("no reply carrying a CAS before a {cas} step")
                })?;
                template.fill(cas)
            }
        };
        if stream.write_all(&bytes).is_err() {
            break; // The server closed; the rest of the transcript tells.
        }
    }
    let _ = stream.shutdown(Shutdown::Write);
    read_until(&mut stream, out, |_| false)
}

fn sync_request(binary: bool) -> Vec<u8> {
    if binary {
        let mut noop = RequestFrame::new(OPCODE_NOOP);
        noop.opaque = SYNC_OPAQUE;
        noop.to_bytes()
    } else {
        b"version\r\n".to_vec()
    }
}

/// True once `want` sync replies are in `buf`.
fn sync_seen(buf: &[u8], binary: bool, want: usize) -> bool {
    let seen = if binary {
        binary_frames(buf)
            .iter()
            .filter(|(op, opaque, _)| *op == OPCODE_NOOP && *opaque == SYNC_OPAQUE)
            .count()
    } else {
        ascii_records(buf)
            .iter()
            .filter(|r| {
                r.data.is_none() && r.line.starts_with(b"VERSION ") && r.line.ends_with(b"\n")
            })
            .count()
    };
    seen >= want
}

/// (opcode, opaque, cas) of each complete frame.
fn binary_frames(mut buf: &[u8]) -> Vec<(u8, u32, u64)> {
    let mut out = Vec::new();
    while let Some((f, used)) = frames::parse_response(buf) {
        out.push((f.opcode, f.opaque, f.cas));
        buf = &buf[used..];
    }
    out
}

fn latest_cas(buf: &[u8], binary: bool) -> Option<u64> {
    if binary {
        return binary_frames(buf)
            .iter()
            .rev()
            .find(|(_, _, cas)| *cas != 0)
            .map(|&(_, _, cas)| cas);
    }
    ascii_records(buf).iter().rev().find_map(|r| {
        r.data?;
        let line = std::str::from_utf8(r.line).ok()?;
        let tokens: Vec<&str> = line.trim_end().split(' ').collect();
        match tokens.as_slice() {
            ["VALUE", _, _, _, cas] => cas.parse().ok(),
            _ => None,
        }
    })
}

/// Reads into `out` until `done(out)` or EOF; a reset counts as EOF.
fn read_until(
    stream: &mut TcpStream,
    out: &mut Vec<u8>,
    done: impl Fn(&[u8]) -> bool,
) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    while !done(out) {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_latest_ascii_cas_and_syncs() {
        let buf = b"VALUE a 0 1 5\r\nx\r\nEND\r\nVALUE b 0 13 9\r\nVERSION 1.0\r\n\r\nEND\r\n";
        assert_eq!(latest_cas(buf, false), Some(9));
        assert!(!sync_seen(buf, false, 1));
        let mut more = buf.to_vec();
        more.extend_from_slice(b"VERSION 1.6.18\r\n");
        assert!(sync_seen(&more, false, 1));
    }
}
