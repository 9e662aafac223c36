//! What a run counts: latencies, and errors by [`ErrorClass`], each class
//! with its first occurrence (to print, so a count comes with a reason).

use std::collections::BTreeMap;
use std::fmt::Display;
use std::io;
use std::time::Duration;

use crate::summary::{Latencies, Summary};
use crate::verify::Problem;

/// What kind of thing went wrong, as the summary reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorClass {
    /// The target refused the connection (nothing listens there). Counted
    /// per connection.
    Refused,
    /// Another connect failure (unreachable, reset). Counted per connection.
    ConnectFailed,
    /// No connect or no reply in time.
    Timeout,
    /// The connection closed or failed mid-run: its outstanding requests.
    ConnectionLost,
    /// `ERROR`, `CLIENT_ERROR`, `SERVER_ERROR` or a binary error status.
    ErrorReply,
    /// A hit with another value, or a key that was not asked.
    WrongValue,
    /// Keys of the prefilled key space that a get did not return.
    Miss,
    /// A reply that is not memcached's protocol, or that no request asked.
    BadReply,
    /// A load thread failed (moxi-load's own fault).
    Internal,
}

impl ErrorClass {
    /// The name the summary prints.
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::Refused => "connection refused",
            ErrorClass::ConnectFailed => "connect failed",
            ErrorClass::Timeout => "timeout",
            ErrorClass::ConnectionLost => "connection lost",
            ErrorClass::ErrorReply => "error reply",
            ErrorClass::WrongValue => "wrong value",
            ErrorClass::Miss => "miss",
            ErrorClass::BadReply => "bad reply",
            ErrorClass::Internal => "internal",
        }
    }

    /// The class of a failed connect.
    pub fn of_connect(e: &io::Error) -> ErrorClass {
        match e.kind() {
            io::ErrorKind::ConnectionRefused => ErrorClass::Refused,
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ErrorClass::Timeout,
            _ => ErrorClass::ConnectFailed,
        }
    }

    /// The class of a failed read or write on an open connection.
    pub fn of_io(e: &io::Error) -> ErrorClass {
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ErrorClass::Timeout,
            _ => ErrorClass::ConnectionLost,
        }
    }
}

impl From<&Problem> for ErrorClass {
    fn from(p: &Problem) -> ErrorClass {
        match p {
            Problem::Miss { .. } => ErrorClass::Miss,
            Problem::WrongValue(_) | Problem::UnexpectedKey(_) => ErrorClass::WrongValue,
            Problem::ErrorReply(_) => ErrorClass::ErrorReply,
            Problem::Unexpected(_) => ErrorClass::BadReply,
        }
    }
}

/// The errors of one class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassCount {
    /// How many.
    pub count: u64,
    /// The first one, in words.
    pub first: String,
}

/// Counts of one thread, connection or run.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Latencies of the requests answered (right or wrong) in time.
    pub latencies: Latencies,
    /// Errors of every class: requests answered wrongly, unanswered or lost
    /// with their connection, and connections that failed.
    pub errors: u64,
    /// The first problem of any class, for a one-line report.
    pub first_problem: Option<String>,
    /// Errors by class.
    pub classes: BTreeMap<ErrorClass, ClassCount>,
}

impl Tally {
    /// Counts `n` errors of `class` for one reason.
    pub fn errors(&mut self, n: u64, class: ErrorClass, why: impl Display) {
        if n == 0 {
            return;
        }
        self.errors += n;
        let c = self.classes.entry(class).or_insert_with(|| ClassCount {
            count: 0,
            first: why.to_string(),
        });
        c.count += n;
        if self.first_problem.is_none() {
            self.first_problem = Some(c.first.clone());
        }
    }

    /// Counts one wrong reply.
    pub fn problem(&mut self, p: &Problem) {
        self.errors(1, p.into(), p);
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Tally) {
        self.latencies.merge(&other.latencies);
        self.errors += other.errors;
        if self.first_problem.is_none() {
            self.first_problem.clone_from(&other.first_problem);
        }
        for (class, c) in &other.classes {
            self.classes
                .entry(*class)
                .and_modify(|mine| mine.count += c.count)
                .or_insert_with(|| c.clone());
        }
    }

    /// The summary over `elapsed`.
    pub fn summarize(&self, elapsed: Duration) -> Summary {
        self.latencies.summarize(elapsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_problem_wins() {
        let mut a = Tally::default();
        a.errors(0, ErrorClass::Internal, "not an error");
        assert!(a.first_problem.is_none());
        a.errors(2, ErrorClass::Timeout, "first");
        let mut b = Tally::default();
        b.errors(1, ErrorClass::Timeout, "second");
        b.errors(1, ErrorClass::Refused, "refused");
        b.latencies.record(Duration::from_micros(5));
        a.merge(&b);
        assert_eq!(a.errors, 4);
        assert_eq!(a.first_problem.as_deref(), Some("first"));
        assert_eq!(a.latencies.len(), 1);
        let timeout = &a.classes[&ErrorClass::Timeout];
        assert_eq!((timeout.count, timeout.first.as_str()), (3, "first"));
        assert_eq!(a.classes[&ErrorClass::Refused].count, 1);
    }

    #[test]
    fn classes_of_io_errors_and_problems() {
        use io::ErrorKind::{ConnectionRefused, ConnectionReset, HostUnreachable, TimedOut};
        let connect = |k| ErrorClass::of_connect(&io::Error::from(k));
        let classes = [ConnectionRefused, TimedOut, HostUnreachable].map(connect);
        use ErrorClass::{ConnectFailed, Refused, Timeout};
        assert_eq!(classes, [Refused, Timeout, ConnectFailed]);
        let lost = ErrorClass::of_io(&io::Error::from(ConnectionReset));
        assert_eq!(lost, ErrorClass::ConnectionLost);
        let wrong = Problem::WrongValue(3);
        assert_eq!(ErrorClass::from(&wrong), ErrorClass::WrongValue);
        let reply = Problem::ErrorReply("SERVER_ERROR x".into());
        assert_eq!(ErrorClass::from(&reply), ErrorClass::ErrorReply);
        let mut t = Tally::default();
        t.problem(&Problem::Miss {
            missing: 1,
            asked: 2,
        });
        assert_eq!(t.classes[&ErrorClass::Miss].first, "1 of 2 keys missing");
    }
}
