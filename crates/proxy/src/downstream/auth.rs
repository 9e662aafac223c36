//! What a new binary downstream connection says before its first request
//! (behaviour inventory 5.7): SASL_AUTH `PLAIN` with `\0user\0password`
//! when a user is known, then a bucket select (opcode 0x2a, the bucket name
//! as key) when `-Z bucket` is set. Each round trip is bounded by
//! `auth_timeout`; anything but status 0 is a failure, which the caller
//! treats as a connect error (a memcached without SASL fails too, as with
//! moxi).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use protocol::binary::{self, Header, Packet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::stats::{bump, ProxyStats};
use crate::topology::DownAuth;

/// Picks one counter of a set.
type Pick = fn(&ProxyStats) -> &AtomicU64;

/// moxi's bucket-select opcode (not in memcached's protocol_binary.h).
pub const BUCKET_SELECT: u8 = 0x2a;
/// The SASL_AUTH opcode.
const SASL_AUTH: u8 = 0x21;
/// Largest reply body read during the handshake.
const MAX_REPLY: usize = 64 * 1024;

/// Why the handshake failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// The server refused (any status but 0), or answered nonsense.
    #[error("refused with status {0:#06x}")]
    Refused(u16),
    /// The connection failed or closed.
    #[error("connection lost")]
    Io,
    /// No reply within `auth_timeout`.
    #[error("timed out")]
    Timeout,
}

/// Runs SASL PLAIN (if `auth.user` is set) and bucket select (if
/// `auth.bucket` is set) on `stream`, each bounded by `timeout` (zero: no
/// bound). Counts moxi's `tot_downstream_auth*`, `tot_downstream_bucket*`
/// and `tot_auth_timeout`, process-wide and in `server` (the server's own
/// counters).
pub async fn handshake(
    stream: &mut TcpStream,
    auth: &DownAuth,
    timeout: Duration,
    server: &ProxyStats,
) -> Result<(), AuthFailure> {
    let count = |pick: Pick| {
        bump(pick);
        pick(server).fetch_add(1, Ordering::Relaxed);
    };
    if !auth.user.is_empty() {
        count(|s| &s.tot_downstream_auth);
        let mut data = Vec::with_capacity(2 + auth.user.len() + auth.password.len());
        data.push(0);
        data.extend_from_slice(auth.user.as_bytes());
        data.push(0);
        data.extend_from_slice(auth.password.as_bytes());
        let frame = request(SASL_AUTH, Bytes::from_static(b"PLAIN"), Bytes::from(data));
        let failed: Pick = |s| &s.tot_downstream_auth_failed;
        round_trip(stream, frame, timeout).await.inspect_err(|e| {
            count(failed);
            if *e == AuthFailure::Timeout {
                count(|s| &s.tot_auth_timeout);
            }
        })?;
    }
    if !auth.bucket.is_empty() {
        count(|s| &s.tot_downstream_bucket);
        let name = Bytes::copy_from_slice(auth.bucket.as_bytes());
        let frame = request(BUCKET_SELECT, name, Bytes::new());
        round_trip(stream, frame, timeout).await.inspect_err(|e| {
            count(|s| &s.tot_downstream_bucket_failed);
            if *e == AuthFailure::Timeout {
                count(|s| &s.tot_auth_timeout);
            }
        })?;
    }
    Ok(())
}

fn request(opcode: u8, key: Bytes, value: Bytes) -> BytesMut {
    let packet = Packet {
        header: Header {
            magic: binary::REQUEST_MAGIC,
            opcode,
            ..Header::default()
        },
        extras: Bytes::new(),
        key,
        value,
    };
    let mut out = BytesMut::new();
    binary::encode_packet(&packet, &mut out);
    out
}

async fn round_trip(
    stream: &mut TcpStream,
    frame: BytesMut,
    timeout: Duration,
) -> Result<(), AuthFailure> {
    let exchange = async {
        stream
            .write_all(&frame)
            .await
            .map_err(|_| AuthFailure::Io)?;
        let mut buf = BytesMut::with_capacity(256);
        loop {
            match binary::decode_packet(&mut buf, binary::RESPONSE_MAGIC, MAX_REPLY) {
                Ok(Some(p)) if p.header.vbucket_or_status == 0 => return Ok(()),
                Ok(Some(p)) => return Err(AuthFailure::Refused(p.header.vbucket_or_status)),
                Ok(None) => {}
                Err(_) => return Err(AuthFailure::Refused(u16::MAX)),
            }
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return Err(AuthFailure::Io),
                Ok(_) => {}
            }
        }
    };
    if timeout.is_zero() {
        exchange.await
    } else {
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(AuthFailure::Timeout))
    }
}
