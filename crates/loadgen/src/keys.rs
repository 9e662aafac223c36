//! The key space, the values stored under it, and a small random number
//! generator: everything a request needs that does not depend on the wire.
//!
//! Keys are `ml:` followed by a zero-padded index, all sliced out of one
//! buffer so the key space costs one allocation. Values are deterministic:
//! the value of key `i` is variant `i % VALUE_VARIANTS` of a fixed pattern,
//! so a get can be checked without remembering what was set, and a proxy
//! that returns another key's value is caught (unless both keys share a
//! variant, 1 time in 64).

use bytes::{Bytes, BytesMut};
use protocol::Key;

/// How many distinct values the key space uses (see module docs).
pub const VALUE_VARIANTS: u64 = 64;

/// Prefix of every key this tool writes.
pub const KEY_PREFIX: &str = "ml:";

/// `count` keys `ml:000..`, fixed width, sliced from one buffer.
#[derive(Clone, Debug)]
pub struct Keyspace {
    all: Bytes,
    width: usize,
    count: u64,
}

impl Keyspace {
    /// A key space of `count` keys (at least one).
    pub fn new(count: u64) -> Keyspace {
        let count = count.max(1);
        let digits = (count - 1).to_string().len();
        let width = KEY_PREFIX.len() + digits;
        let len = usize::try_from(count).map_or(usize::MAX, |c| c.saturating_mul(width));
        let mut all = BytesMut::with_capacity(len);
        for i in 0..count {
            all.extend_from_slice(format!("{KEY_PREFIX}{i:0digits$}").as_bytes());
        }
        Keyspace {
            all: all.freeze(),
            width,
            count,
        }
    }

    /// Number of keys.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Always false: a key space holds at least one key.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The key of index `i` (taken modulo the key space).
    pub fn key(&self, i: u64) -> Key {
        let i = usize::try_from(i % self.count).unwrap_or(0);
        Key(self.all.slice(i * self.width..(i + 1) * self.width))
    }

    /// The index a key names, if it is one of ours.
    pub fn index_of(&self, key: &[u8]) -> Option<u64> {
        let digits = key.strip_prefix(KEY_PREFIX.as_bytes())?;
        if digits.len() + KEY_PREFIX.len() != self.width || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let i = std::str::from_utf8(digits).ok()?.parse::<u64>().ok()?;
        (i < self.count).then_some(i)
    }
}

/// The [`VALUE_VARIANTS`] values of one size.
#[derive(Clone, Debug)]
pub struct Values {
    variants: Vec<Bytes>,
}

impl Values {
    /// Values of `size` bytes: printable, different for each variant.
    pub fn new(size: usize) -> Values {
        let variants = (0..VALUE_VARIANTS)
            .map(|v| {
                (0..size)
                    .map(|j| b'a' + ((v as usize * 7 + j) % 26) as u8)
                    .collect::<Vec<u8>>()
                    .into()
            })
            .collect();
        Values { variants }
    }

    /// The value of key index `i` (a reference-counted clone).
    pub fn of(&self, i: u64) -> Bytes {
        self.variants[(i % VALUE_VARIANTS) as usize].clone()
    }

    /// True when `data` is the value of key index `i`.
    pub fn matches(&self, i: u64, data: &[u8]) -> bool {
        self.variants[(i % VALUE_VARIANTS) as usize] == data
    }
}

/// SplitMix64: fast, seedable, good enough to pick keys and operations.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fixed_width_and_round_trip() {
        let ks = Keyspace::new(1000);
        assert_eq!(ks.key(0).as_bytes(), b"ml:000");
        assert_eq!(ks.key(999).as_bytes(), b"ml:999");
        assert_eq!(ks.key(1000).as_bytes(), b"ml:000");
        for i in [0, 7, 999] {
            assert_eq!(ks.index_of(ks.key(i).as_bytes()), Some(i));
        }
        assert_eq!(ks.index_of(b"ml:1000"), None);
        assert_eq!(ks.index_of(b"xx:001"), None);
        assert_eq!(ks.index_of(b"ml:0a1"), None);
        assert_eq!(Keyspace::new(1).key(5).as_bytes(), b"ml:0");
    }

    #[test]
    fn values_differ_between_variants() {
        let v = Values::new(16);
        assert_eq!(v.of(3).len(), 16);
        assert!(v.matches(3, &v.of(3 + VALUE_VARIANTS)));
        assert!(!v.matches(3, &v.of(4)));
        assert!(!v.matches(3, b"short"));
    }

    #[test]
    fn rng_stays_in_range() {
        let mut r = Rng::new(1);
        for _ in 0..10_000 {
            assert!(r.below(10) < 10);
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
        }
    }
}
