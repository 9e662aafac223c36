//! moxi's timing histograms (`stats proxy timings`): microseconds in 20
//! bins of 100 µs from 0, then 20 bins from 2000 µs whose widths double
//! (100, 200, 400, ...); anything beyond the last bin is not shown, as in
//! moxi. Rows print as `START+WIDTH=COUNT PCT% ****`, aligned, from the
//! first non-empty bin to the last, with the cumulative percentage and a
//! bar of up to 24 stars.
//!
//! Recorded only with `-Z time_stats=1` (the counters are shared atomics,
//! not per worker: a small cost moxi also made optional).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::stats::metrics::COMMANDS;

/// Number of bins.
pub const BINS: usize = 40;

/// `(start, width)` of bin `i`, in microseconds.
pub fn bin(i: usize) -> (u64, u64) {
    if i < 20 {
        return (100 * i as u64, 100);
    }
    let mut start = 2000;
    let mut width = 100;
    for _ in 20..i {
        start += width;
        width *= 2;
    }
    (start, width)
}

/// The bin of a duration in microseconds, if it is inside the bins.
fn bin_of(us: u64) -> Option<usize> {
    if us < 2000 {
        return Some((us / 100) as usize);
    }
    (20..BINS).find(|&i| {
        let (start, width) = bin(i);
        us < start + width
    })
}

/// One histogram.
#[derive(Debug)]
pub struct Histogram {
    bins: [AtomicU64; BINS],
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            bins: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl Histogram {
    /// Counts one duration.
    pub fn record(&self, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        if let Some(i) = bin_of(us) {
            self.bins[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counts per bin.
    pub fn counts(&self) -> [u64; BINS] {
        std::array::from_fn(|i| self.bins[i].load(Ordering::Relaxed))
    }

    /// Zeroes every bin.
    pub fn reset(&self) {
        for b in &self.bins {
            b.store(0, Ordering::Relaxed);
        }
    }
}

/// Per-command histograms of one pool (time from a request decoded to its
/// reply ready, moxi's "reserved" time).
#[derive(Debug)]
pub struct Timings {
    per_command: [Histogram; COMMANDS.len()],
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            per_command: std::array::from_fn(|_| Histogram::default()),
        }
    }
}

impl Timings {
    /// Counts one request of command index `cmd`.
    pub fn record(&self, cmd: usize, took: Duration) {
        if let Some(h) = self.per_command.get(cmd) {
            h.record(took);
        }
    }

    /// The counts of every command, by name.
    pub fn by_command(&self) -> Vec<(&'static str, [u64; BINS])> {
        COMMANDS
            .iter()
            .zip(&self.per_command)
            .map(|(c, h)| (*c, h.counts()))
            .collect()
    }

    /// All commands together.
    pub fn all(&self) -> [u64; BINS] {
        let mut sum = [0u64; BINS];
        for h in &self.per_command {
            for (s, c) in sum.iter_mut().zip(h.counts()) {
                *s += c;
            }
        }
        sum
    }

    /// Zeroes every histogram.
    pub fn reset(&self) {
        for h in &self.per_command {
            h.reset();
        }
    }
}

/// moxi's rows for `counts`; none when every bin is empty.
pub fn rows(counts: &[u64; BINS]) -> Vec<String> {
    let used: Vec<usize> = (0..BINS).filter(|&i| counts[i] > 0).collect();
    let (Some(&first), Some(&last)) = (used.first(), used.last()) else {
        return Vec::new();
    };
    let total: u64 = counts.iter().sum();
    let max = counts.iter().copied().max().unwrap_or(1).max(1);
    let mut run = 0;
    // (start, "+width", "=count ", pct, bar), padded so that `+`, `=` and
    // `%` line up, as moxi does.
    let parts: Vec<[String; 5]> = (first..=last)
        .map(|i| {
            let (start, width) = bin(i);
            let count = counts[i];
            run += count;
            let pct = 100.0 * run as f64 / total as f64;
            [
                start.to_string(),
                format!("+{width}"),
                format!("={count} "),
                format!("{pct:.2}"),
                "*".repeat((24 * count / max) as usize),
            ]
        })
        .collect();
    let widest = |f: &dyn Fn(&[String; 5]) -> usize| parts.iter().map(f).max().unwrap_or(0);
    let w0 = widest(&|p| p[0].len());
    let w1 = widest(&|p| p[1].len());
    let w2 = widest(&|p| p[2].len() + p[3].len());
    parts
        .iter()
        .map(|[a, b, c, d, bar]| {
            let pad = " ".repeat(w2 - c.len() - d.len());
            format!("{a:>w0$}{b:<w1$}{c}{pad}{d}% {bar}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_follow_moxi() {
        assert_eq!(bin(0), (0, 100));
        assert_eq!(bin(19), (1900, 100));
        assert_eq!(bin(20), (2000, 100));
        assert_eq!(bin(21), (2100, 200));
        assert_eq!(bin(22), (2300, 400));
        assert_eq!(bin_of(0), Some(0));
        assert_eq!(bin_of(199), Some(1));
        assert_eq!(bin_of(2150), Some(21));
        assert_eq!(bin_of(u64::MAX), None);
    }

    #[test]
    fn rows_are_aligned_and_cumulative() {
        let h = Histogram::default();
        for us in [50, 60, 150, 2500, 2500, 2500] {
            h.record(Duration::from_micros(us));
        }
        let rows = rows(&h.counts());
        assert_eq!(rows[0], "   0+100=2  33.33% ****************");
        assert_eq!(rows[1], " 100+100=1  50.00% ********");
        assert_eq!(rows[2], " 200+100=0  50.00% ");
        assert_eq!(rows[22], "2300+400=3 100.00% ************************");
        assert_eq!(rows.len(), 23, "every bin from the first used to the last");
        assert!(super::rows(&[0; BINS]).is_empty());
    }
}
