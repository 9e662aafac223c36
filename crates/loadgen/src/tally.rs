//! What a run counts: latencies, errors, and the first problem seen (to
//! print, so an error count comes with a reason).

use std::fmt::Display;
use std::time::Duration;

use crate::summary::{Latencies, Summary};

/// Counts of one thread, connection or run.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Latencies of the requests answered (right or wrong) in time.
    pub latencies: Latencies,
    /// Requests answered wrongly, unanswered, or lost with their connection.
    pub errors: u64,
    /// The first problem, for the report.
    pub first_problem: Option<String>,
}

impl Tally {
    /// Counts `n` errors for one reason.
    pub fn errors(&mut self, n: u64, why: impl Display) {
        if n == 0 {
            return;
        }
        self.errors += n;
        if self.first_problem.is_none() {
            self.first_problem = Some(why.to_string());
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Tally) {
        self.latencies.merge(&other.latencies);
        self.errors += other.errors;
        if self.first_problem.is_none() {
            self.first_problem.clone_from(&other.first_problem);
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
        a.errors(0, "not an error");
        assert!(a.first_problem.is_none());
        a.errors(2, "first");
        let mut b = Tally::default();
        b.errors(1, "second");
        b.latencies.record(Duration::from_micros(5));
        a.merge(&b);
        assert_eq!(a.errors, 3);
        assert_eq!(a.first_problem.as_deref(), Some("first"));
        assert_eq!(a.latencies.len(), 1);
    }
}
