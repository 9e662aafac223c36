//! Prometheus metrics of the front cache and `optimize_set`: process-wide
//! totals over every pool, kept beside the per-pool counters that
//! `stats proxy` prints (those `stats proxy reset` zeroes; these never go
//! back, as Prometheus counters must).

use std::sync::atomic::{AtomicU64, Ordering};

/// Process-wide totals over every pool, for Prometheus: counters
/// never go back (unlike the per-pool ones `stats proxy reset` zeroes).
#[derive(Default)]
pub(crate) struct ProcessTotals {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) expires: AtomicU64,
    pub(crate) hit_bytes: AtomicU64,
    pub(crate) adds: AtomicU64,
    pub(crate) add_skips: AtomicU64,
    pub(crate) add_fails: AtomicU64,
    pub(crate) deletes: AtomicU64,
    pub(crate) evictions: AtomicU64,
    pub(crate) entries: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) optimize_sets: AtomicU64,
}

pub(crate) fn totals() -> &'static ProcessTotals {
    static T: std::sync::OnceLock<ProcessTotals> = std::sync::OnceLock::new();
    T.get_or_init(ProcessTotals::default)
}

/// Adds `n` to one total.
pub(crate) fn add(which: impl Fn(&ProcessTotals) -> &AtomicU64, n: u64) {
    which(totals()).fetch_add(n, Ordering::Relaxed);
}

/// Takes `n` from one gauge.
pub(crate) fn sub(which: impl Fn(&ProcessTotals) -> &AtomicU64, n: u64) {
    which(totals()).fetch_sub(n, Ordering::Relaxed);
}

/// Appends the front cache and `optimize_set` metrics, summed over every
/// pool, in Prometheus text format.
pub fn render(out: &mut String) {
    use std::fmt::Write;
    let t = totals();
    let rows: [(&str, &str, &str, u64); 12] = [
        (
            "moxi_frontcache_hits_total",
            "counter",
            "Gets answered from the front cache.",
            t.hits.load(Ordering::Relaxed),
        ),
        (
            "moxi_frontcache_misses_total",
            "counter",
            "Front cache lookups that found nothing live.",
            t.misses.load(Ordering::Relaxed),
        ),
        (
            "moxi_frontcache_expires_total",
            "counter",
            "Front cache lookups that found an expired entry.",
            t.expires.load(Ordering::Relaxed),
        ),
        (
            "moxi_frontcache_hit_bytes_total",
            "counter",
            "Value bytes answered from the front cache.",
            t.hit_bytes.load(Ordering::Relaxed),
        ),
        (
            "moxi_frontcache_adds_total",
            "counter",
            "Entries added to the front cache.",
            t.adds.load(Ordering::Relaxed),
        ),
        (
            "moxi_frontcache_add_skips_total",
            "counter",
            "Front cache adds skipped (entry live, or key invalidated meanwhile).",
            t.add_skips.load(Ordering::Relaxed),
        ),
        (
            "moxi_frontcache_add_fails_total",
            "counter",
            "Front cache adds refused (larger than the byte budget).",
            t.add_fails.load(Ordering::Relaxed),
        ),
        (
            "moxi_frontcache_invalidations_total",
            "counter",
            "Front cache entries dropped by updates and deletes.",
            t.deletes.load(Ordering::Relaxed),
        ),
        (
            "moxi_frontcache_evictions_total",
            "counter",
            "Front cache entries evicted to make room.",
            t.evictions.load(Ordering::Relaxed),
        ),
        (
            "moxi_frontcache_entries",
            "gauge",
            "Entries in the front caches.",
            t.entries.load(Ordering::Relaxed),
        ),
        (
            "moxi_frontcache_bytes",
            "gauge",
            "Bytes of keys and values in the front caches.",
            t.bytes.load(Ordering::Relaxed),
        ),
        (
            "moxi_optimize_sets_total",
            "counter",
            "Sets answered STORED early (optimize_set).",
            t.optimize_sets.load(Ordering::Relaxed),
        ),
    ];
    for (name, kind, help, value) in rows {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        let _ = writeln!(out, "{name} {value}");
    }
}
