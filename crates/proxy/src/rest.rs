//! The REST/HTTP configuration watcher: fetches each URL of the `|` list in
//! order, frames streamed configs on `\n\n\n\n` (whatever the reads), hands
//! each one to a callback, and keeps going forever: a stream that ends is
//! polled again a second later, a failed pass over every URL is retried with
//! backoff, each failure with one clear log line.
//!
//! HTTP parsing is `config`'s sans-io code; this module only moves bytes.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use config::{BodyDecoder, BodyFraming, HttpUrl, ResponseHead, StreamFramer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest HTTP response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Pause before polling again after a response ended normally (moxi: 1 s).
pub const REPOLL: Duration = Duration::from_secs(1);
/// Longest pause between passes when every URL fails.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What the callback says about a config.
pub enum Verdict {
    /// Applied.
    Applied,
    /// Refused (invalid JSON, bad map): the next URL is tried, as moxi does.
    Refused,
}

/// How a fetch ended.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// The body ended (or the stream closed) after at least one config.
    Normally,
    /// A config was refused.
    Refused,
    /// Connect, HTTP or read failure, with the reason for the log.
    Failed(String),
}

/// Runs forever on the current runtime: fetches `urls` in order and passes
/// every config to `apply`.
pub async fn watch(
    urls: Vec<HttpUrl>,
    credentials: Option<(String, String)>,
    mut apply: impl FnMut(Bytes) -> Verdict,
) {
    let mut backoff = REPOLL;
    let mut ever_applied = false;
    loop {
        let mut any_ok = false;
        for url in &urls {
            let creds = credentials.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
            match fetch(url, creds, &mut apply).await {
                (Ended::Normally, applied) => {
                    any_ok = true;
                    ever_applied |= applied;
                    break;
                }
                (Ended::Refused, applied) => {
                    ever_applied |= applied;
                    log::error!("parse JSON failed, from REST server: {}", url.as_str());
                }
                (Ended::Failed(why), applied) => {
                    ever_applied |= applied;
                    log::warn!("REST fetch failed: {why} from: {}", url.as_str());
                }
            }
        }
        if any_ok {
            backoff = REPOLL;
        } else {
            let list: Vec<&str> = urls.iter().map(|u| u.as_str()).collect();
            let level = if ever_applied {
                log::Level::Error
            } else {
                log::Level::Warn
            };
            log::log!(
                level,
                "could not contact REST server(s): {}; perhaps they are unavailable or still initializing; retrying in {:?}",
                list.join("|"),
                backoff
            );
        }
        tokio::time::sleep(backoff).await;
        if !any_ok {
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

/// One GET: returns how it ended and whether any config was applied.
async fn fetch(
    url: &HttpUrl,
    creds: Option<(&str, &str)>,
    apply: &mut impl FnMut(Bytes) -> Verdict,
) -> (Ended, bool) {
    let mut applied = false;
    let mut stream = match TcpStream::connect((url.host(), url.port())).await {
        Ok(s) => s,
        Err(e) => return (Ended::Failed(format!("connect: {e}")), false),
    };
    if let Err(e) = stream.write_all(&url.get_request(creds)).await {
        return (Ended::Failed(format!("write: {e}")), false);
    }
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let (head, used) = loop {
        match ResponseHead::parse(&buf, MAX_HEAD) {
            Ok(Some(h)) => break h,
            Ok(None) => {}
            Err(e) => return (Ended::Failed(format!("bad HTTP response: {e}")), false),
        }
        match stream.read_buf(&mut buf).await {
            Ok(0) => {
                return (
                    Ended::Failed("closed before the response head".into()),
                    false,
                )
            }
            Ok(_) => {}
            Err(e) => return (Ended::Failed(format!("read: {e}")), false),
        }
    };
    if head.status == 401 {
        log::error!("Authentication failure");
        return (Ended::Failed("HTTP 401".into()), false);
    }
    if head.status != 200 {
        return (
            Ended::Failed(format!("HTTP {} {}", head.status, head.reason)),
            false,
        );
    }
    bytes::Buf::advance(&mut buf, used);
    let until_close = matches!(head.body, BodyFraming::UntilClose);
    let mut body = BodyDecoder::new(head.body);
    let mut framer = StreamFramer::new();
    loop {
        let data = match body.push(&buf) {
            Ok(d) => d,
            Err(e) => return (Ended::Failed(format!("bad HTTP body: {e}")), applied),
        };
        buf.clear();
        for config in framer.push(&data) {
            match config {
                Ok(c) => match apply(c) {
                    Verdict::Applied => applied = true,
                    Verdict::Refused => return (Ended::Refused, applied),
                },
                Err(e) => log::error!("REST config refused: {e}"),
            }
        }
        if body.is_done() {
            break;
        }
        match stream.read_buf(&mut buf).await {
            Ok(0) if until_close => break,
            Ok(0) => return (Ended::Failed("stream closed".into()), applied),
            Ok(_) => {}
            Err(e) => return (Ended::Failed(format!("read: {e}")), applied),
        }
    }
    match framer.finish() {
        Some(Ok(c)) => match apply(c) {
            Verdict::Applied => applied = true,
            Verdict::Refused => return (Ended::Refused, applied),
        },
        Some(Err(e)) => log::error!("REST config refused: {e}"),
        None => {}
    }
    (Ended::Normally, applied)
}
