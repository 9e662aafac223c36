//! The open-loop timetable: request `k` of a sender is due at
//! `start + offset + k / rate`, whatever happened to earlier requests. Its
//! latency is measured from that intended time, so a stalled server is
//! charged for every request it delayed (no coordinated omission).

use std::time::Duration;

/// A fixed-rate timetable, in offsets from the run's start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    interval_ns: f64,
    phase_ns: f64,
}

impl Schedule {
    /// `rate` requests per second (> 0), the first one `phase` after start.
    pub fn new(rate: f64, phase: Duration) -> Schedule {
        Schedule {
            interval_ns: 1e9 / rate.max(1e-9),
            phase_ns: phase.as_nanos() as f64,
        }
    }

    /// Time between two requests.
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval_ns as u64)
    }

    /// When request `k` is due, from the start.
    pub fn intended(&self, k: u64) -> Duration {
        Duration::from_nanos((self.phase_ns + k as f64 * self.interval_ns).round() as u64)
    }

    /// How many requests are due at `elapsed` (those with
    /// `intended(k) <= elapsed`).
    pub fn due_by(&self, elapsed: Duration) -> u64 {
        let t = elapsed.as_nanos() as f64 - self.phase_ns;
        if t < 0.0 {
            return 0;
        }
        let mut n = (t / self.interval_ns).floor() as u64 + 1;
        // Float rounding: make the count agree exactly with `intended`.
        while n > 0 && self.intended(n - 1) > elapsed {
            n -= 1;
        }
        while self.intended(n) <= elapsed {
            n += 1;
        }
        n
    }

    /// How many requests a run of `duration` holds.
    pub fn count_within(&self, duration: Duration) -> u64 {
        let n = self.due_by(duration);
        // A request due exactly at the end belongs to the next run.
        if n > 0 && self.intended(n - 1) == duration {
            n - 1
        } else {
            n
        }
    }
}

/// Splits a total `rate` over `senders` senders of `conns[i]` connections
/// each: each sender gets the share of its connections, and a phase so that
/// the senders' timetables interleave instead of firing together.
pub fn split(rate: f64, conns: &[usize]) -> Vec<Schedule> {
    let total: usize = conns.iter().sum();
    let senders = conns.len().max(1) as f64;
    conns
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let share = rate * c as f64 / total.max(1) as f64;
            let phase = Duration::from_secs_f64(i as f64 / senders / rate.max(1e-9));
            Schedule::new(share, phase)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn intended_times_are_a_fixed_timetable() {
        let s = Schedule::new(1000.0, Duration::ZERO);
        assert_eq!(s.interval(), MS);
        assert_eq!(s.intended(0), Duration::ZERO);
        assert_eq!(s.intended(1), MS);
        assert_eq!(s.intended(2500), Duration::from_millis(2500));
        let p = Schedule::new(3.0, Duration::from_millis(100));
        assert_eq!(p.intended(0), Duration::from_millis(100));
        assert_eq!(p.intended(3), Duration::from_millis(1100));
    }

    #[test]
    fn due_by_counts_requests_whose_time_has_come() {
        let s = Schedule::new(1000.0, Duration::ZERO);
        assert_eq!(s.due_by(Duration::ZERO), 1);
        assert_eq!(s.due_by(Duration::from_micros(999)), 1);
        assert_eq!(s.due_by(MS), 2);
        assert_eq!(s.due_by(Duration::from_millis(10)), 11);
        let p = Schedule::new(1000.0, Duration::from_millis(5));
        assert_eq!(p.due_by(Duration::from_millis(4)), 0);
        assert_eq!(p.due_by(Duration::from_millis(5)), 1);
        for rate in [1.0, 7.0, 333.0, 12_345.0] {
            let s = Schedule::new(rate, Duration::from_micros(17));
            for k in [0u64, 1, 2, 99, 1000] {
                assert_eq!(s.due_by(s.intended(k)), k + 1, "rate {rate} k {k}");
            }
        }
    }

    #[test]
    fn a_run_holds_rate_times_duration() {
        let s = Schedule::new(1000.0, Duration::ZERO);
        assert_eq!(s.count_within(Duration::from_secs(1)), 1000);
        let s = Schedule::new(250.0, Duration::ZERO);
        assert_eq!(s.count_within(Duration::from_secs(2)), 500);
    }

    #[test]
    fn split_shares_the_rate_by_connections_and_staggers() {
        let parts = split(900.0, &[2, 1]);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].interval(), Duration::from_nanos(1_666_666));
        assert_eq!(parts[1].interval(), Duration::from_nanos(3_333_333));
        assert_eq!(parts[0].intended(0), Duration::ZERO);
        assert!(parts[1].intended(0) > Duration::ZERO);
        let total: u64 = parts
            .iter()
            .map(|s| s.count_within(Duration::from_secs(1)))
            .sum();
        assert_eq!(total, 900);
    }
}
