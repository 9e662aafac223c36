//! Latency histograms (HDR, nanoseconds) and their summary: p50, p99,
//! p99.9, max, plus throughput.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Highest latency a histogram tracks; larger samples are clamped to it.
pub const MAX_TRACKED: Duration = Duration::from_secs(60);

/// A latency histogram in nanoseconds, 3 significant digits.
#[derive(Clone, Debug)]
pub struct Latencies(Histogram<u64>);

impl Default for Latencies {
    fn default() -> Self {
        Latencies::new()
    }
}

impl Latencies {
    /// An empty histogram (1 ns .. [`MAX_TRACKED`]).
    pub fn new() -> Latencies {
        let high = MAX_TRACKED.as_nanos() as u64;
        // Fixed, valid bounds: construction cannot fail.
        let h = Histogram::new_with_bounds(1, high, 3).unwrap_or_else(|_| {
            Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits is valid"))
        });
        Latencies(h)
    }

    /// Records one sample.
    pub fn record(&mut self, latency: Duration) {
        let ns = latency.as_nanos().clamp(1, MAX_TRACKED.as_nanos()) as u64;
        self.0.saturating_record(ns);
    }

    /// Adds all of `other`'s samples.
    pub fn merge(&mut self, other: &Latencies) {
        // Same bounds on both sides: adding cannot fail.
        let _ = self.0.add(&other.0);
    }

    /// Number of samples.
    pub fn len(&self) -> u64 {
        self.0.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The summary of these samples over `elapsed` (throughput = samples /
    /// elapsed).
    pub fn summarize(&self, elapsed: Duration) -> Summary {
        let us = |ns: u64| ns as f64 / 1000.0;
        let secs = elapsed.as_secs_f64();
        Summary {
            requests: self.0.len(),
            throughput: if secs > 0.0 {
                self.0.len() as f64 / secs
            } else {
                0.0
            },
            p50_us: us(self.0.value_at_quantile(0.50)),
            p99_us: us(self.0.value_at_quantile(0.99)),
            p999_us: us(self.0.value_at_quantile(0.999)),
            max_us: us(self.0.max()),
        }
    }
}

/// Throughput and latency percentiles of one run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Summary {
    /// Requests completed (measured).
    pub requests: u64,
    /// Requests per second.
    pub throughput: f64,
    /// Median latency, microseconds.
    pub p50_us: f64,
    /// 99th percentile, microseconds.
    pub p99_us: f64,
    /// 99.9th percentile, microseconds.
    pub p999_us: f64,
    /// Largest latency, microseconds.
    pub max_us: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= b * 0.002
    }

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut h = Latencies::new();
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us));
        }
        let s = h.summarize(Duration::from_secs(2));
        assert_eq!(s.requests, 1000);
        assert!(close(s.throughput, 500.0));
        assert!(close(s.p50_us, 500.0), "{s:?}");
        assert!(close(s.p99_us, 990.0), "{s:?}");
        assert!(close(s.p999_us, 999.0), "{s:?}");
        assert!(close(s.max_us, 1000.0), "{s:?}");
    }

    #[test]
    fn merge_adds_and_empty_is_zero() {
        let mut a = Latencies::new();
        let mut b = Latencies::new();
        a.record(Duration::from_micros(10));
        b.record(Duration::from_micros(30));
        b.record(Duration::from_secs(3600));
        a.merge(&b);
        assert_eq!(a.len(), 3);
        assert!(close(a.summarize(Duration::from_secs(1)).max_us, 60e6));
        let e = Latencies::new().summarize(Duration::ZERO);
        assert!(Latencies::new().is_empty());
        assert_eq!(e.throughput, 0.0);
        assert_eq!(e.p99_us, 0.0);
    }
}
