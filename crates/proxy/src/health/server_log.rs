//! One log line (at info, `-v`) per change of a downstream server's state,
//! with the cause: connect refused, connect timeout, unresolvable, auth
//! failed, request timeout, closed by the server, protocol error (with the
//! offending bytes, escaped and truncated). Repeats of the same cause are
//! not logged again, and lines are rate-limited per server: at most one
//! failure line per [`INTERVAL`]; a line suppressed meanwhile is counted
//! and the count is given in the server's next line. The recovery line
//! ("ok again") follows every failure line that was logged, so the last
//! line logged for a server tells its state; a failure that was never
//! logged is not followed by one.
//!
//! The hot path touches this only through [`ServerLog::failing`], one
//! relaxed atomic load per batch of replies read.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Shortest time between two failure lines about one server.
pub const INTERVAL: Duration = Duration::from_secs(10);

/// Bytes of a bad reply shown in its log line.
pub const SHOWN_BYTES: usize = 64;

/// Why requests to a server fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// connect(): connection refused.
    Refused,
    /// The host name does not resolve.
    Unresolvable(String),
    /// connect() did not finish within `connect_timeout`.
    ConnectTimeout,
    /// connect() failed otherwise.
    Connect(String),
    /// SASL or bucket selection failed.
    Auth(String),
    /// A request got no reply within `downstream_timeout`.
    Timeout,
    /// The server closed the connection (or reset it) with requests on it.
    Closed(String),
    /// A reply that is not valid protocol, or does not answer its request.
    Protocol(String),
}

impl Cause {
    /// Whether a successful connect ends this cause (a connect-level
    /// failure); a request-level one ends only with a reply.
    fn ended_by_connect(&self) -> bool {
        matches!(
            self,
            Cause::Refused
                | Cause::Unresolvable(_)
                | Cause::ConnectTimeout
                | Cause::Connect(_)
                | Cause::Auth(_)
        )
    }

    /// Same kind of failure (the details of a protocol error or a closed
    /// connection vary from one to the next).
    fn same_kind(&self, other: &Cause) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cause::Refused => f.write_str("connect refused"),
            Cause::Unresolvable(e) => write!(f, "unresolvable ({e})"),
            Cause::ConnectTimeout => f.write_str("connect timeout"),
            Cause::Connect(e) => write!(f, "connect failed ({e})"),
            Cause::Auth(e) => write!(f, "authentication failed ({e})"),
            Cause::Timeout => f.write_str("request timeout"),
            Cause::Closed(e) => write!(f, "connection closed by the server ({e})"),
            Cause::Protocol(e) => write!(f, "protocol error: {e}"),
        }
    }
}

/// `bytes` escaped (`\r`, `\n`, `\x00`, ...) and cut to [`SHOWN_BYTES`]
/// (`...` and the full length when cut).
pub fn escaped(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(SHOWN_BYTES)];
    let mut s: String = shown.escape_ascii().to_string();
    if shown.len() < bytes.len() {
        s.push_str(&format!("... ({} bytes)", bytes.len()));
    }
    s
}

/// A line to log about a server.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// Requests fail, for this cause; `suppressed` lines were not logged
    /// since the last one.
    Failing {
        /// Why.
        cause: Cause,
        /// Lines not logged since the last one.
        suppressed: u64,
    },
    /// Requests succeed again.
    Ok {
        /// Lines not logged since the last one.
        suppressed: u64,
    },
}

/// The pure state machine behind [`ServerLog`]: what to log, given the
/// time of each event (tests pass their own instants).
#[derive(Debug, Default)]
pub struct Tracker {
    /// The current failure, if any.
    state: Option<Cause>,
    /// Whether the last line logged was a failure.
    logged_failing: bool,
    /// When the last failure line was logged.
    last_line: Option<Instant>,
    /// Lines not logged since the last one.
    suppressed: u64,
}

impl Tracker {
    /// A request or connect failed at `now` because of `cause`.
    pub fn failure(&mut self, now: Instant, cause: Cause) -> Option<Line> {
        let changed = !self.state.as_ref().is_some_and(|c| c.same_kind(&cause));
        self.state = Some(cause.clone());
        if !changed && self.logged_failing {
            // Still failing for the reason already logged.
            return None;
        }
        let recent = self
            .last_line
            .is_some_and(|t| now.saturating_duration_since(t) < INTERVAL);
        if recent {
            if changed {
                self.suppressed += 1;
            }
            // A change logged while failing that way goes unlogged until
            // the interval has passed.
            self.logged_failing = false;
            return None;
        }
        self.last_line = Some(now);
        self.logged_failing = true;
        let suppressed = std::mem::take(&mut self.suppressed);
        Some(Line::Failing { cause, suppressed })
    }

    /// A connect (`by_connect`) or a reply succeeded.
    pub fn success(&mut self, by_connect: bool) -> Option<Line> {
        let cause = self.state.as_ref()?;
        if by_connect && !cause.ended_by_connect() {
            return None;
        }
        self.state = None;
        if !std::mem::take(&mut self.logged_failing) {
            // The failure was never logged: neither is its end.
            self.suppressed += 1;
            return None;
        }
        let suppressed = std::mem::take(&mut self.suppressed);
        Some(Line::Ok { suppressed })
    }

    /// Whether a failure is current.
    pub fn is_failing(&self) -> bool {
        self.state.is_some()
    }
}

/// The state log of one server (held by its `ServerHealth`).
#[derive(Debug, Default)]
pub struct ServerLog {
    tracker: Mutex<Tracker>,
    /// Mirrors `tracker.is_failing()` for a lock-free check.
    failing: AtomicBool,
}

impl ServerLog {
    /// Whether a failure is current (a reply then ends it).
    #[inline]
    pub fn failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }

    /// The current failure's cause, as the log words it.
    pub fn cause(&self) -> Option<String> {
        let t = self.tracker.lock().unwrap_or_else(|p| p.into_inner());
        t.state.as_ref().map(Cause::to_string)
    }

    /// Records a failure of `addr` and logs it if it is a change.
    pub fn failure(&self, addr: &str, cause: Cause) {
        let line = self.update(|t| t.failure(Instant::now(), cause));
        emit(addr, line);
    }

    /// Records a success (a connect when `by_connect`, else a reply): one
    /// relaxed load unless a failure is current.
    #[inline]
    pub fn success(&self, addr: &str, by_connect: bool) {
        if self.failing() {
            self.recovered(addr, by_connect);
        }
    }

    #[cold]
    #[inline(never)]
    fn recovered(&self, addr: &str, by_connect: bool) {
        let line = self.update(|t| t.success(by_connect));
        emit(addr, line);
    }

    fn update(&self, f: impl FnOnce(&mut Tracker) -> Option<Line>) -> Option<Line> {
        let mut t = self.tracker.lock().unwrap_or_else(|p| p.into_inner());
        let line = f(&mut t);
        self.failing.store(t.is_failing(), Ordering::Relaxed);
        line
    }
}

fn emit(addr: &str, line: Option<Line>) {
    let more = |n: u64| match n {
        0 => String::new(),
        n => format!(" ({n} more state changes not logged)"),
    };
    match line {
        None => {}
        Some(Line::Failing { cause, suppressed }) => log::info!(
            server = addr, cause:% = cause, suppressed = suppressed;
            "downstream {addr}: failing: {cause}{}", more(suppressed)
        ),
        Some(Line::Ok { suppressed }) => log::info!(
            server = addr, suppressed = suppressed;
            "downstream {addr}: ok again{}", more(suppressed)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failing(cause: Cause, suppressed: u64) -> Option<Line> {
        Some(Line::Failing { cause, suppressed })
    }

    #[test]
    fn a_cause_is_logged_once_and_its_end_once() {
        let t0 = Instant::now();
        let mut t = Tracker::default();
        assert_eq!(t.failure(t0, Cause::Refused), failing(Cause::Refused, 0));
        for s in 1..100 {
            let at = t0 + Duration::from_secs(s);
            assert_eq!(t.failure(at, Cause::Refused), None, "a repeat");
        }
        assert_eq!(t.success(true), Some(Line::Ok { suppressed: 0 }));
        assert_eq!(t.success(false), None, "already ok");
    }

    #[test]
    fn flapping_is_limited_to_one_failure_line_per_interval() {
        let t0 = Instant::now();
        let mut t = Tracker::default();
        let mut lines = 0;
        // Down and up every 100 ms for 60 s.
        for i in 0..600u64 {
            let at = t0 + Duration::from_millis(100 * i);
            lines += usize::from(t.failure(at, Cause::Timeout).is_some());
            lines += usize::from(t.success(false).is_some());
        }
        // One failure line and its recovery per 10 s.
        assert_eq!(lines, 12);
        // The next line counts what was not logged.
        let later = t0 + Duration::from_secs(120);
        // Since the last logged pair (at 50 s): 99 failures and 99 ends.
        assert_eq!(
            t.failure(later, Cause::Refused),
            failing(Cause::Refused, 198)
        );
    }

    #[test]
    fn a_change_of_cause_within_the_interval_is_logged_after_it() {
        let t0 = Instant::now();
        let mut t = Tracker::default();
        assert!(t.failure(t0, Cause::Refused).is_some());
        let soon = t0 + Duration::from_secs(1);
        assert_eq!(t.failure(soon, Cause::Timeout), None);
        // Still timing out once the interval passed: now it is told.
        let later = t0 + INTERVAL;
        assert_eq!(t.failure(later, Cause::Timeout), failing(Cause::Timeout, 1));
    }

    #[test]
    fn a_connect_does_not_end_a_request_timeout() {
        let mut t = Tracker::default();
        assert!(t.failure(Instant::now(), Cause::Timeout).is_some());
        assert_eq!(t.success(true), None, "a stopped server still accepts");
        assert!(t.is_failing());
        assert_eq!(t.success(false), Some(Line::Ok { suppressed: 0 }));
    }

    #[test]
    fn bad_bytes_are_escaped_and_cut() {
        assert_eq!(escaped(b"HELLO\r\n\x00"), "HELLO\\r\\n\\x00");
        let long = vec![b'x'; 100];
        let shown = escaped(&long);
        assert!(shown.starts_with(&"x".repeat(SHOWN_BYTES)));
        assert!(shown.ends_with("... (100 bytes)"), "{shown}");
    }
}
