//! `stats detail on|off|dump`: per-prefix counts of gets, hits, sets and
//! deletes, as memcached's `stats_prefix.c` keeps them (a key's prefix is
//! what comes before its first `:`; keys without one are not counted).

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Mutex;

/// memcached's `PREFIX_HASH_SIZE`: the dump walks these buckets in order.
const BUCKETS: usize = 256;

/// memcached's default `prefix_delimiter` (`-D` sets another).
pub const DEFAULT_DELIMITER: u8 = b':';

/// One prefix's counters (memcached `PREFIX_STATS`).
#[derive(Debug, Default)]
struct Prefix {
    name: Vec<u8>,
    gets: u64,
    hits: u64,
    sets: u64,
    deletes: u64,
}

/// The per-prefix counters and whether they are being kept.
#[derive(Debug)]
pub struct Detail {
    enabled: AtomicBool,
    delimiter: AtomicU8,
    /// Each bucket newest first, as memcached links them.
    buckets: Mutex<Vec<Vec<Prefix>>>,
}

impl Default for Detail {
    fn default() -> Self {
        Detail {
            enabled: AtomicBool::new(false),
            delimiter: AtomicU8::new(DEFAULT_DELIMITER),
            buckets: Mutex::new((0..BUCKETS).map(|_| Vec::new()).collect()),
        }
    }
}

impl Detail {
    /// memcached `-D <char>`: another delimiter, and counting from the start.
    pub fn start_with_delimiter(&self, delimiter: u8) {
        self.delimiter.store(delimiter, Ordering::Relaxed);
        self.set_enabled(true);
    }

    /// The prefix delimiter (`stats settings` `stat_key_prefix`).
    pub fn delimiter(&self) -> u8 {
        self.delimiter.load(Ordering::Relaxed)
    }

    /// `stats detail on` / `off`.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    /// True after `stats detail on`.
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Counts a get of `key` (memcached counts each key of a multi-get).
    pub fn record_get(&self, key: &[u8], hit: bool) {
        self.record(key, |p| {
            p.gets += 1;
            p.hits += u64::from(hit);
        });
    }

    /// Counts a storage command for `key`, stored or not.
    pub fn record_set(&self, key: &[u8]) {
        self.record(key, |p| p.sets += 1);
    }

    /// Counts a delete of `key`, found or not.
    pub fn record_delete(&self, key: &[u8]) {
        self.record(key, |p| p.deletes += 1);
    }

    fn record(&self, key: &[u8], count: impl FnOnce(&mut Prefix)) {
        if !self.enabled() {
            return;
        }
        // memcached reads the key as a C string when it looks for the delimiter.
        let key = key.split(|&b| b == 0).next().unwrap_or(&[]);
        let delimiter = self.delimiter();
        let Some(end) = key.iter().position(|&b| b == delimiter) else {
            return;
        };
        let name = &key[..end];
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = &mut buckets[murmur3_32(name) as usize % BUCKETS];
        let i = match bucket.iter().position(|p| p.name == name) {
            Some(i) => i,
            None => {
                bucket.insert(
                    0,
                    Prefix {
                        name: name.to_vec(),
                        ..Prefix::default()
                    },
                );
                0
            }
        };
        count(&mut bucket[i]);
    }

    /// `stats detail dump`: one `PREFIX` line per prefix, then `END`.
    pub fn dump(&self, out: &mut Vec<u8>) {
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        for p in buckets.iter().flatten() {
            out.extend_from_slice(b"PREFIX ");
            out.extend_from_slice(&p.name);
            out.extend_from_slice(
                format!(
                    " get {} hit {} set {} del {}\r\n",
                    p.gets, p.hits, p.sets, p.deletes
                )
                .as_bytes(),
            );
        }
        out.extend_from_slice(b"END\r\n");
    }

    /// `stats reset` forgets every prefix (memcached `stats_prefix_clear`).
    pub fn clear(&self) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets.iter_mut().for_each(Vec::clear);
    }
}

/// memcached's default `hash_algorithm` (murmur3, seed 0) places prefixes
/// in buckets, and so orders the dump.
fn murmur3_32(key: &[u8]) -> u32 {
    routing::murmur3_x86_32(key, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_matches_the_reference_vectors() {
        // SMHasher's MurmurHash3_x86_32 with seed 0.
        assert_eq!(murmur3_32(b""), 0);
        assert_eq!(murmur3_32(b"hello"), 0x248b_fa47);
        assert_eq!(
            murmur3_32(b"The quick brown fox jumps over the lazy dog"),
            0x2e4f_f723
        );
    }

    #[test]
    fn only_prefixed_keys_count_and_only_when_on() {
        let d = Detail::default();
        d.record_set(b"a:1");
        d.set_enabled(true);
        d.record_set(b"a:1");
        d.record_get(b"a:1", true);
        d.record_get(b"a:2", false);
        d.record_delete(b"a:3");
        d.record_get(b"plain", true);
        let mut out = Vec::new();
        d.dump(&mut out);
        assert_eq!(out, b"PREFIX a get 2 hit 1 set 1 del 1\r\nEND\r\n");
        d.clear();
        out.clear();
        d.dump(&mut out);
        assert_eq!(out, b"END\r\n");
    }

    #[test]
    fn another_delimiter_counts_from_the_start() {
        let d = Detail::default();
        d.start_with_delimiter(b'/');
        d.record_set(b"a:1");
        d.record_set(b"b/1");
        let mut out = Vec::new();
        d.dump(&mut out);
        assert_eq!(out, b"PREFIX b get 0 hit 0 set 1 del 0\r\nEND\r\n");
    }
}
