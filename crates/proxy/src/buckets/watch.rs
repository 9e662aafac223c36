//! The REST/HTTP configuration watcher: fetches each URL of the `|` list in
//! order, frames streamed configs on `\n\n\n\n` (whatever the reads), hands
//! each one to a callback, and keeps going forever: a response that ends
//! is fetched again after [`WatchOptions::repoll`] (non-streaming URLs are
//! polled this way), a pass over every URL that delivers nothing is retried
//! with exponential backoff, each failure with one clear log line.
//!
//! Differences from moxi (libconflate): HTTP 401 is logged and retried
//! rather than exiting the process (the old config keeps serving); a
//! refused config ends the fetch and moves on to the next URL only when it
//! is the first config of that response (MB-3575's non-JSON first URL),
//! while a streaming response that already delivered a good config stays
//! open and the bad one is skipped; no response head within
//! [`WatchOptions::head_timeout`] counts as a failure. Streaming
//! connections use TCP keepalive, as moxi's did.
//!
//! HTTP parsing is `config`'s sans-io code; this module only moves bytes.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use config::{BodyDecoder, BodyFraming, HttpUrl, ResponseHead, StreamFramer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Largest HTTP response head accepted.
const MAX_HEAD: usize = 64 * 1024;

/// Pacing of the watcher.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchOptions {
    /// Pause before fetching again after a response ended normally (moxi:
    /// 1 s).
    pub repoll: Duration,
    /// First pause after a pass over every URL delivered nothing.
    pub min_backoff: Duration,
    /// Longest pause between such passes (the pause doubles each time).
    pub max_backoff: Duration,
    /// Bound on connecting to a REST server.
    pub connect_timeout: Duration,
    /// Bound on receiving the response head.
    pub head_timeout: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            repoll: Duration::from_secs(1),
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            head_timeout: Duration::from_secs(30),
        }
    }
}

/// What the callback says about a config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Applied.
    Applied,
    /// Refused (invalid JSON, bad map); the callback logged why.
    Refused,
}

/// How a fetch ended.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// The body ended (or the stream closed) normally.
    Normally,
    /// The response's first config was refused.
    Refused,
    /// Connect, HTTP or read failure, with the reason for the log.
    Failed(String),
}

/// Runs forever on the current runtime: fetches `urls` in order and passes
/// every config to `apply`.
pub async fn watch(
    urls: Vec<HttpUrl>,
    credentials: Option<(String, String)>,
    options: WatchOptions,
    mut apply: impl FnMut(Bytes) -> Verdict,
) {
    let mut backoff = options.min_backoff;
    let mut ever_applied = false;
    loop {
        let mut progressed = false;
        let mut failures = Vec::new();
        for url in &urls {
            let creds = credentials.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
            let (ended, applied) = fetch(url, creds, &options, &mut apply).await;
            ever_applied |= applied;
            match ended {
                Ended::Normally => progressed = true,
                Ended::Refused => failures.push(format!("{} (config refused)", url.as_str())),
                Ended::Failed(why) if applied => {
                    // A stream that delivered configs and then dropped is
                    // reconnected promptly, not backed off.
                    log::warn!("REST stream ended: {why}, from: {}", url.as_str());
                    progressed = true;
                }
                Ended::Failed(why) => failures.push(format!("{} ({why})", url.as_str())),
            }
            if progressed {
                break;
            }
        }
        if progressed {
            backoff = options.min_backoff;
            tokio::time::sleep(options.repoll).await;
            continue;
        }
        let (level, meanwhile) = if ever_applied {
            (
                log::Level::Error,
                "; serving with the last config meanwhile",
            )
        } else {
            (log::Level::Warn, "")
        };
        log::log!(
            level,
            "could not contact REST server(s): {}; perhaps they are unavailable or still initializing; retrying in {:?}{meanwhile}",
            failures.join(" | "),
            backoff
        );
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(options.max_backoff);
    }
}

/// Connects with a bound and TCP keepalive (a streaming response may be
/// silent for hours; keepalive notices a peer that vanished).
async fn connect(url: &HttpUrl, limit: Duration) -> Result<TcpStream, String> {
    let attempt = async {
        let host = url.host().trim_start_matches('[').trim_end_matches(']');
        let mut last = String::from("no address");
        for addr in tokio::net::lookup_host((host, url.port()))
            .await
            .map_err(|e| format!("resolve: {e}"))?
        {
            let socket = if addr.is_ipv4() {
                TcpSocket::new_v4()
            } else {
                TcpSocket::new_v6()
            };
            let socket = socket.map_err(|e| format!("socket: {e}"))?;
            let _ = socket.set_keepalive(true);
            match socket.connect(addr).await {
                Ok(s) => return Ok(s),
                Err(e) => last = format!("connect: {e}"),
            }
        }
        Err(last)
    };
    tokio::time::timeout(limit, attempt)
        .await
        .unwrap_or_else(|_| Err("connect: timed out".into()))
}

/// Reads until a final (non-1xx) response head is in `buf`; the body's
/// first bytes stay in `buf`.
async fn read_head(stream: &mut TcpStream, buf: &mut BytesMut) -> Result<ResponseHead, String> {
    loop {
        match ResponseHead::parse(buf, MAX_HEAD) {
            Ok(Some((head, used))) => {
                bytes::Buf::advance(buf, used);
                if head.is_informational() {
                    continue;
                }
                return Ok(head);
            }
            Ok(None) => {}
            Err(e) => return Err(format!("bad HTTP response: {e}")),
        }
        match stream.read_buf(buf).await {
            Ok(0) => return Err("closed before the response head".into()),
            Ok(_) => {}
            Err(e) => return Err(format!("read: {e}")),
        }
    }
}

/// One GET: returns how it ended and whether any config was applied.
async fn fetch(
    url: &HttpUrl,
    creds: Option<(&str, &str)>,
    options: &WatchOptions,
    apply: &mut impl FnMut(Bytes) -> Verdict,
) -> (Ended, bool) {
    let mut stream = match connect(url, options.connect_timeout).await {
        Ok(s) => s,
        Err(e) => return (Ended::Failed(e), false),
    };
    if let Err(e) = stream.write_all(&url.get_request(creds)).await {
        return (Ended::Failed(format!("write: {e}")), false);
    }
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let head = tokio::time::timeout(options.head_timeout, read_head(&mut stream, &mut buf)).await;
    let head = match head {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => return (Ended::Failed(e), false),
        Err(_) => return (Ended::Failed("no response head in time".into()), false),
    };
    if head.status == 401 {
        return (
            Ended::Failed("HTTP 401: Authentication failure".into()),
            false,
        );
    }
    if head.status != 200 {
        let why = format!("HTTP {} {}", head.status, head.reason);
        return (Ended::Failed(why), false);
    }
    body(&mut stream, buf, head.body, apply).await
}

/// Reads the body, framing and applying configs as they complete.
async fn body(
    stream: &mut TcpStream,
    mut buf: BytesMut,
    framing: BodyFraming,
    apply: &mut impl FnMut(Bytes) -> Verdict,
) -> (Ended, bool) {
    let until_close = matches!(framing, BodyFraming::UntilClose);
    let mut decoder = BodyDecoder::new(framing);
    let mut framer = StreamFramer::new();
    let mut seen = Seen::default();
    loop {
        // Configs completed before a broken chunk still count, whatever
        // the reads were.
        let mut data = Vec::new();
        let pushed = decoder.push_into(&buf, &mut data);
        buf.clear();
        for config in framer.push(&data) {
            if let Some(end) = seen.offer(config, apply) {
                return (end, seen.applied);
            }
        }
        if let Err(e) = pushed {
            return (Ended::Failed(format!("bad HTTP body: {e}")), seen.applied);
        }
        if decoder.is_done() {
            break;
        }
        match stream.read_buf(&mut buf).await {
            Ok(0) if until_close => break,
            Ok(0) => return (Ended::Failed("stream closed".into()), seen.applied),
            Ok(_) => {}
            Err(e) => return (Ended::Failed(format!("read: {e}")), seen.applied),
        }
    }
    if let Some(config) = framer.finish() {
        if let Some(end) = seen.offer(config, apply) {
            return (end, seen.applied);
        }
    }
    (Ended::Normally, seen.applied)
}

/// What one response delivered so far.
#[derive(Default)]
struct Seen {
    applied: bool,
    any: bool,
}

impl Seen {
    /// Hands a framed config to `apply`; `Some` when the fetch must end
    /// (the response's first config was refused).
    fn offer(
        &mut self,
        config: Result<Bytes, config::StreamError>,
        apply: &mut impl FnMut(Bytes) -> Verdict,
    ) -> Option<Ended> {
        let first = !std::mem::replace(&mut self.any, true);
        let verdict = match config {
            Ok(c) => apply(c),
            Err(e) => {
                log::error!("REST config refused: {e}");
                Verdict::Refused
            }
        };
        match verdict {
            Verdict::Applied => {
                self.applied = true;
                None
            }
            Verdict::Refused if first => Some(Ended::Refused),
            Verdict::Refused => None,
        }
    }
}

/// A watcher thread feeding a gateway; dropping it stops the watcher.
pub struct Watcher {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts a thread that watches `urls` and applies every config to
/// `gateway` with `behaviors`, logging what each config did.
pub fn spawn(
    gateway: std::sync::Arc<crate::buckets::Gateway>,
    urls: Vec<HttpUrl>,
    credentials: Option<(String, String)>,
    behaviors: config::Behaviors,
    options: WatchOptions,
) -> std::io::Result<Watcher> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let apply = move |body: Bytes| match gateway.apply_body(&body, &behaviors) {
        Ok(applied) => {
            for (name, why) in &applied.refused {
                log::error!("bucket {name} refused: {why}");
            }
            log::info!(
                "config applied: buckets {:?}, removed {:?}",
                applied.buckets,
                applied.removed
            );
            Verdict::Applied
        }
        Err(e) => {
            let text = String::from_utf8_lossy(&body);
            let shown: String = text.chars().take(200).collect();
            log::error!("config refused ({e}), keeping the current one: {shown}");
            Verdict::Refused
        }
    };
    let thread = std::thread::Builder::new()
        .name("rest-config".into())
        .spawn(move || {
            runtime.block_on(async move {
                tokio::select! {
                    _ = watch(urls, credentials, options, apply) => {}
                    _ = stopped => {}
                }
            });
        })?;
    Ok(Watcher {
        stop: Some(stop),
        thread: Some(thread),
    })
}
