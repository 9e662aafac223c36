//! incr / decr (memcached `do_add_delta` and the binary create path of
//! `complete_incr_bin`).
//!
//! - The value must read as an unsigned decimal the way memcached's
//!   `safe_strtoull` reads it (see [`parse_counter`]); an empty value is
//!   non-numeric.
//! - incr wraps modulo 2^64; decr stops at 0.
//! - When the new number has no more digits than the old value has bytes,
//!   the value is rewritten in place and padded with spaces to its old
//!   length ("10" decr 1 → "9 "); otherwise a fresh item holds just the
//!   digits. Both keep flags and exptime and get a new CAS.

use crate::engine::Engine;
use crate::expiry::Now;
use crate::item::{ArithOutcome, Entry};
use crate::memory::{Budget, Step};
use crate::shard::Shard;

/// One incr/decr request.
struct Delta<'a> {
    key: &'a [u8],
    incr: bool,
    delta: u64,
    /// Binary only: value and relative exptime to create a missing key with.
    create: Option<(u64, u64)>,
    cas: u64,
    now: Now,
    tick: u64,
}

impl Engine {
    /// Adds (`incr`) or subtracts `delta`. `create` (binary) gives the initial
    /// value and raw exptime used when the key is missing; a created item
    /// has flags 0 and is not counted as a miss. A non-zero `cas` must match.
    pub fn arith(
        &self,
        key: &[u8],
        incr: bool,
        delta: u64,
        create: Option<(u64, i64)>,
        cas: u64,
    ) -> ArithOutcome {
        let now = self.now();
        let create = create.map(|(initial, exptime)| (initial, self.realtime(exptime, now.rel)));
        let d = Delta {
            key,
            incr,
            delta,
            create,
            cas,
            now,
            tick: self.tick(),
        };
        self.with_budget(
            self.shard_of(key),
            |shard, budget| self.arith_locked(shard, budget, &d),
            |_| ArithOutcome::OutOfMemory,
        )
    }

    fn arith_locked(
        &self,
        shard: &mut Shard,
        budget: &mut Budget<'_>,
        d: &Delta<'_>,
    ) -> Step<ArithOutcome> {
        let Some(e) = shard.lookup(d.key, &d.now, None) else {
            return self.arith_missing(shard, budget, d);
        };
        if e.data().is_empty() {
            return Step::Done(ArithOutcome::NonNumeric);
        }
        if d.cas != 0 && d.cas != e.cas() {
            return Step::Done(ArithOutcome::Exists);
        }
        let Some(old) = parse_counter(e.data()) else {
            return Step::Done(ArithOutcome::NonNumeric);
        };
        let value = if d.incr {
            old.wrapping_add(d.delta)
        } else {
            old.saturating_sub(d.delta)
        };
        let digits = value.to_string();
        let cas;
        if digits.len() <= e.data().len() {
            // memcached rewrites the value in place, padded with spaces.
            let data = e.data_mut();
            data.fill(b' ');
            data[..digits.len()].copy_from_slice(digits.as_bytes());
            cas = self.next_cas();
            e.set_cas(cas);
            shard.refresh(d.key, d.now.rel, d.tick);
        } else {
            let (flags, exptime, old_size) =
                (e.flags(), e.exptime(), e.size(self.config().cas_enabled));
            let size = self.item_size(d.key.len(), flags, digits.len());
            let need = size.saturating_sub(old_size);
            if !budget.take(need) {
                return Step::Need(need);
            }
            cas = self.next_cas();
            shard.link(counter_entry(d, &digits, flags, exptime, cas), d.tick);
        }
        if d.incr {
            shard.stats.incr_hits += 1;
        } else {
            shard.stats.decr_hits += 1;
        }
        Step::Done(ArithOutcome::Value { value, cas })
    }

    fn arith_missing(
        &self,
        shard: &mut Shard,
        budget: &mut Budget<'_>,
        d: &Delta<'_>,
    ) -> Step<ArithOutcome> {
        let Some((initial, exptime)) = d.create else {
            if d.incr {
                shard.stats.incr_misses += 1;
            } else {
                shard.stats.decr_misses += 1;
            }
            return Step::Done(ArithOutcome::NotFound);
        };
        let digits = initial.to_string();
        let size = self.item_size(d.key.len(), 0, digits.len());
        if !budget.take(size) {
            return Step::Need(size);
        }
        let cas = self.next_cas();
        shard.link(counter_entry(d, &digits, 0, exptime, cas), d.tick);
        Step::Done(ArithOutcome::Value {
            value: initial,
            cas,
        })
    }
}

fn counter_entry(d: &Delta<'_>, digits: &str, flags: u32, exptime: u64, cas: u64) -> Entry {
    Entry::new(d.key, &[digits.as_bytes()], flags, exptime, d.now.rel, cas)
}

/// C `isspace` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Reads a stored value as memcached's `safe_strtoull` does (the value is a
/// C string that ends at a NUL or at the item's trailing `\r\n`):
/// leading whitespace is skipped, one `+` or `-` is allowed, at least one
/// digit must follow, the number must fit in 64 bits, and it must end at
/// whitespace or at the end. A negative number wraps like `strtoull` and is
/// refused only when the result has its top bit set ("-1" is refused,
/// "-0" reads 0). A value of only whitespace is refused (memcached would read
/// past the item there).
pub(crate) fn parse_counter(data: &[u8]) -> Option<u64> {
    let s = &data[..data.iter().position(|&b| b == 0).unwrap_or(data.len())];
    let mut i = s.iter().position(|&b| !is_c_space(b))?;
    let negative = s[i] == b'-';
    if negative || s[i] == b'+' {
        i += 1;
    }
    let start = i;
    let mut magnitude: u64 = 0;
    while let Some(&b) = s.get(i).filter(|b| b.is_ascii_digit()) {
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(b - b'0'))?;
        i += 1;
    }
    if i == start || s.get(i).is_some_and(|&b| !is_c_space(b)) {
        return None;
    }
    let value = if negative {
        magnitude.wrapping_neg()
    } else {
        magnitude
    };
    if value > i64::MAX as u64 && s.contains(&b'-') {
        return None;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::parse_counter;

    /// Each case was checked against memcached 1.6.18 (`set` then `incr k 0`).
    #[test]
    fn parses_like_memcached() {
        let ok: &[(&[u8], u64)] = &[
            (b"12", 12),
            (b" 12", 12),
            (b"12 ", 12),
            (b"\t12", 12),
            (b"12\t", 12),
            (b"+5", 5),
            (b"-0", 0),
            (b"1 2", 1),
            (b"12\0ab", 12),
            (b"00", 0),
            (b"00000000000000000000000005", 5),
            (b"11111111111111111111", 11_111_111_111_111_111_111),
            (b"18446744073709551615", u64::MAX),
            (b"9223372036854775808", 9_223_372_036_854_775_808),
            (b"-18446744073709551615", 1),
        ];
        for (input, want) in ok {
            assert_eq!(
                parse_counter(input),
                Some(*want),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        let bad: &[&[u8]] = &[
            b"12abc",
            b"-1",
            b"",
            b" ",
            b"abc",
            b"+",
            b"-",
            b"111111111111111111111",
            b"18446744073709551616",
            b"-9223372036854775808",
            b"9223372036854775808 -",
            b"\x0012",
        ];
        for input in bad {
            assert_eq!(
                parse_counter(input),
                None,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }
}
