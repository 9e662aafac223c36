//! What a run counts: requests, errors by kind (expected during faults),
//! and mismatches (replies that no fault explains), with the first few
//! mismatches kept in full for the report.

use std::collections::BTreeMap;
use std::fmt;

use protocol::{Command, Request, Response};

use crate::model::describe;
use crate::ops::Protocol;
use crate::value;

/// How many mismatches are kept in full.
pub const MAX_SAMPLES: usize = 20;

/// A reply that contradicts the request it answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The client that saw it.
    pub client: u32,
    /// The client's protocol.
    pub protocol: Protocol,
    /// The client's request number (0 when no request was outstanding).
    pub seq: u64,
    /// The request, described.
    pub request: String,
    /// The reply frame, described.
    pub reply: String,
    /// Why it is wrong.
    pub why: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "client {} ({}) request {} [{}] got [{}]: {}",
            self.client, self.protocol, self.seq, self.request, self.reply, self.why
        )
    }
}

/// The counts of one client, or of a whole run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Clients that ran.
    pub clients: u64,
    /// Wire requests sent (quiet and noreply ones included).
    pub requests: u64,
    /// Replies checked against a trusted model (exact checks).
    pub exact_checks: u64,
    /// Errors by kind: `SERVER_ERROR ...` lines by text, binary statuses,
    /// client timeouts, connection errors.
    pub errors: BTreeMap<String, u64>,
    /// Misses during a fault for items the model holds: moxi reads a
    /// failed server's keys as misses for ascii gets (and an ascii hop
    /// inside a topology does so for every read, and a binary TOUCH).
    pub fault_misses: u64,
    /// incr/decr refused by memcached as non-numeric on a counter of 2^63
    /// or more (a memcached 1.6.18 bug, see
    /// [`crate::check::may_be_refused_as_non_numeric`]).
    pub quirks: u64,
    /// Mismatches seen.
    pub mismatches: u64,
    /// The first [`MAX_SAMPLES`] mismatches.
    pub samples: Vec<Mismatch>,
}

impl Report {
    /// Counts one error of `kind`.
    pub fn error(&mut self, kind: impl Into<String>) {
        *self.errors.entry(kind.into()).or_default() += 1;
    }

    /// Counts a mismatch (keeping the first ones).
    pub fn mismatch(&mut self, m: Mismatch) {
        self.mismatches += 1;
        if self.samples.len() < MAX_SAMPLES {
            self.samples.push(m);
        }
    }

    /// All errors.
    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: Report) {
        self.clients += other.clients;
        self.requests += other.requests;
        self.exact_checks += other.exact_checks;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        self.fault_misses += other.fault_misses;
        self.quirks += other.quirks;
        self.mismatches += other.mismatches;
        let room = MAX_SAMPLES.saturating_sub(self.samples.len());
        self.samples.extend(other.samples.into_iter().take(room));
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "clients: {}", self.clients)?;
        writeln!(f, "requests: {}", self.requests)?;
        writeln!(f, "exact checks: {}", self.exact_checks)?;
        writeln!(f, "errors: {}", self.error_total())?;
        for (kind, n) in &self.errors {
            writeln!(f, "  {n:>8}  {kind}")?;
        }
        writeln!(
            f,
            "fault misses (failed reads answered as misses): {}",
            self.fault_misses
        )?;
        writeln!(
            f,
            "memcached refusals of counters >= 2^63 (its bug): {}",
            self.quirks
        )?;
        writeln!(f, "mismatches: {}", self.mismatches)?;
        for m in &self.samples {
            writeln!(f, "  {m}")?;
        }
        Ok(())
    }
}

/// A request in a line (data shortened).
pub fn describe_request(req: &Request) -> String {
    let key = |k: &protocol::Key| String::from_utf8_lossy(k.as_bytes()).into_owned();
    let mut s = match &req.command {
        Command::Get(g) => {
            let keys: Vec<String> = g.keys.iter().map(key).collect();
            let k = if g.with_key { "K" } else { "" };
            format!("{:?}{k} {}", g.kind, keys.join(" "))
        }
        Command::Store(st) => format!(
            "{:?} {} flags={:#x} cas={} data={:?}",
            st.mode,
            key(&st.key),
            st.flags,
            st.cas,
            value::show(&st.value)
        ),
        Command::Arith(a) => format!(
            "{} {} delta={} initial={} exptime={:#x}",
            if a.incr { "incr" } else { "decr" },
            key(&a.key),
            a.delta,
            a.initial,
            a.exptime
        ),
        Command::Delete { key: k, .. } => format!("delete {}", key(k)),
        Command::Touch { key: k, exptime } => format!("touch {} {exptime}", key(k)),
        other => format!("{other:?}"),
    };
    if req.quiet {
        s.push_str(" (quiet)");
    }
    if req.opaque != 0 {
        s.push_str(&format!(" opaque={:#x}", req.opaque));
    }
    s
}

/// A reply frame in a line (data shortened, its writers named).
pub fn describe_response(resp: &Response) -> String {
    match resp {
        Response::Value(v) => format!(
            "VALUE {} flags={:#x} cas={} data={}",
            String::from_utf8_lossy(v.key.as_bytes()),
            v.flags,
            v.cas,
            describe(&v.data)
        ),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(seq: u64) -> Mismatch {
        Mismatch {
            client: 1,
            protocol: Protocol::Ascii,
            seq,
            request: "get k".into(),
            reply: "End".into(),
            why: "miss".into(),
        }
    }

    #[test]
    fn merging_keeps_counts_and_the_first_samples() {
        let mut a = Report::default();
        a.error("client timeout");
        for i in 0..15 {
            a.mismatch(m(i));
        }
        let mut b = Report::default();
        b.error("client timeout");
        b.error("SERVER_ERROR proxy downstream timeout 127.0.0.1");
        for i in 15..30 {
            b.mismatch(m(i));
        }
        a.merge(b);
        assert_eq!(a.error_total(), 3);
        assert_eq!(a.errors["client timeout"], 2);
        assert_eq!(a.mismatches, 30);
        assert_eq!(a.samples.len(), MAX_SAMPLES);
        let text = a.to_string();
        assert!(text.contains("mismatches: 30"), "{text}");
        assert!(text.contains("client 1 (ascii) request 0 [get k] got [End]: miss"));
    }
}
