//! The hash algorithms themselves, as libhashkit (libmemcached) and twemproxy
//! compute them on x86-64 (vectors: `hashes.json`).
//!
//! Several of them read key bytes as C `char`, which is signed on x86-64: a
//! byte >= 0x80 enters the arithmetic sign-extended. [`sx32`] and [`sx64`]
//! reproduce that; an unsigned-byte version differs on such keys.

use md5::{Digest, Md5};

/// `(uint32_t)(signed char)b`: the byte as libhashkit's arithmetic sees it.
fn sx32(b: u8) -> u32 {
    // Sign extension is the point here.
    b as i8 as i32 as u32
}

/// `(uint64_t)(signed char)b`, for the 64-bit FNV state.
fn sx64(b: u8) -> u64 {
    b as i8 as i64 as u64
}

/// A little-endian word from up to four bytes, zero-padded.
fn le_word(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .rev()
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
}

/// Bob Jenkins' one-at-a-time hash, libmemcached's default key hash.
pub(crate) fn one_at_a_time(key: &[u8]) -> u32 {
    let mut h: u32 = 0;
    for &b in key {
        h = h.wrapping_add(sx32(b));
        h = h.wrapping_add(h << 10);
        h ^= h >> 6;
    }
    h = h.wrapping_add(h << 3);
    h ^= h >> 11;
    h.wrapping_add(h << 15)
}

/// The MD5 digest of `data`.
pub(crate) fn md5_digest(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

/// MD5 word `j` (0..4) of a digest: bytes `4j..4j+4` read little-endian.
pub(crate) fn md5_word(digest: &[u8; 16], j: usize) -> u32 {
    le_word(&digest[4 * j..4 * j + 4])
}

/// libhashkit `md5`: MD5 word 0 of the key.
pub(crate) fn md5(key: &[u8]) -> u32 {
    md5_word(&md5_digest(key), 0)
}

/// Standard CRC-32/IEEE (zlib's `crc32`); twemproxy's `crc32a`.
pub(crate) fn crc32_ieee(key: &[u8]) -> u32 {
    crc32fast::hash(key)
}

/// libhashkit / libvbucket / twemproxy `crc32`: the top half of CRC-32,
/// masked to 15 bits.
pub(crate) fn crc15(key: &[u8]) -> u32 {
    (crc32_ieee(key) >> 16) & 0x7fff
}

const FNV32_BASIS: u32 = 0x811C_9DC5;
const FNV32_PRIME: u32 = 0x0100_0193;
const FNV64_BASIS: u64 = 0xCBF2_9CE4_8422_2325;
const FNV64_PRIME: u64 = 0x0000_0100_0000_01B3;

/// FNV-1, 32 bit: multiply, then XOR.
pub(crate) fn fnv1_32(key: &[u8]) -> u32 {
    key.iter()
        .fold(FNV32_BASIS, |h, &b| h.wrapping_mul(FNV32_PRIME) ^ sx32(b))
}

/// FNV-1a, 32 bit: XOR, then multiply.
pub(crate) fn fnv1a_32(key: &[u8]) -> u32 {
    key.iter()
        .fold(FNV32_BASIS, |h, &b| (h ^ sx32(b)).wrapping_mul(FNV32_PRIME))
}

/// FNV-1 with a 64-bit state, truncated to the low 32 bits.
pub(crate) fn fnv1_64(key: &[u8]) -> u32 {
    let h = key
        .iter()
        .fold(FNV64_BASIS, |h, &b| h.wrapping_mul(FNV64_PRIME) ^ sx64(b));
    // Truncation to the low half is what libhashkit returns.
    h as u32
}

/// libhashkit's and twemproxy's "fnv1a_64": not real FNV-1a/64 but a 32-bit
/// state seeded and multiplied with the low halves of the 64-bit constants.
pub(crate) fn fnv1a_64(key: &[u8]) -> u32 {
    let basis = FNV64_BASIS as u32;
    let prime = FNV64_PRIME as u32;
    key.iter()
        .fold(basis, |h, &b| (h ^ sx32(b)).wrapping_mul(prime))
}

/// MurmurHash2 (32 bit) with libhashkit's seed `0xdeadbeef * len`.
pub(crate) fn murmur2(key: &[u8]) -> u32 {
    const M: u32 = 0x5BD1_E995;
    let len = key.len() as u32;
    let mut h = 0xDEAD_BEEFu32.wrapping_mul(len) ^ len;
    let mut blocks = key.chunks_exact(4);
    for block in &mut blocks {
        let mut k = le_word(block).wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        h ^= le_word(tail);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^ (h >> 15)
}

/// lookup3's `mix` step.
fn jenkins_mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c) ^ c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a) ^ a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b) ^ b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c) ^ c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a) ^ a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b) ^ b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

/// lookup3's `final` step; returns c.
fn jenkins_final(mut a: u32, mut b: u32, mut c: u32) -> u32 {
    c = (c ^ b).wrapping_sub(b.rotate_left(14));
    a = (a ^ c).wrapping_sub(c.rotate_left(11));
    b = (b ^ a).wrapping_sub(a.rotate_left(25));
    c = (c ^ b).wrapping_sub(b.rotate_left(16));
    a = (a ^ c).wrapping_sub(c.rotate_left(4));
    b = (b ^ a).wrapping_sub(a.rotate_left(14));
    (c ^ b).wrapping_sub(b.rotate_left(24))
}

/// Bob Jenkins' lookup3 `hashlittle` with initval 13.
pub(crate) fn jenkins(key: &[u8]) -> u32 {
    let init = 0xDEAD_BEEFu32
        .wrapping_add(key.len() as u32)
        .wrapping_add(13);
    let (mut a, mut b, mut c) = (init, init, init);
    let mut rest = key;
    // The last 1..=12 bytes go through `final`, so a key whose length is a
    // multiple of 12 keeps its last block for it.
    while rest.len() > 12 {
        a = a.wrapping_add(le_word(&rest[0..4]));
        b = b.wrapping_add(le_word(&rest[4..8]));
        c = c.wrapping_add(le_word(&rest[8..12]));
        jenkins_mix(&mut a, &mut b, &mut c);
        rest = &rest[12..];
    }
    if rest.is_empty() {
        return c;
    }
    // Zero padding is equivalent to lookup3's partial-word switch.
    let mut tail = [0u8; 12];
    tail[..rest.len()].copy_from_slice(rest);
    a = a.wrapping_add(le_word(&tail[0..4]));
    b = b.wrapping_add(le_word(&tail[4..8]));
    c = c.wrapping_add(le_word(&tail[8..12]));
    jenkins_final(a, b, c)
}

/// MurmurHash3_x86_32 with libhashkit's seed `0xdeadbeef * len`.
pub(crate) fn murmur3(key: &[u8]) -> u32 {
    murmur3_x86_32(key, 0xDEAD_BEEFu32.wrapping_mul(key.len() as u32))
}

/// MurmurHash3_x86_32 (Austin Appleby's reference) with `seed`; memcached
/// hashes with seed 0.
pub fn murmur3_x86_32(key: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xCC9E_2D51;
    const C2: u32 = 0x1B87_3593;
    let scramble = |k: u32| k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    let len = key.len() as u32;
    let mut h = seed;
    let mut blocks = key.chunks_exact(4);
    for block in &mut blocks {
        h ^= scramble(le_word(block));
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xE654_6B64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        h ^= scramble(le_word(tail));
    }
    h ^= len;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^ (h >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_extension() {
        assert_eq!(sx32(0x7f), 0x7f);
        assert_eq!(sx32(0x80), 0xFFFF_FF80);
        assert_eq!(sx64(0xff), u64::MAX);
    }

    #[test]
    fn crc_check_values() {
        // The CRC-32/IEEE check value.
        assert_eq!(crc32_ieee(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc15(b"123456789"), (0xCBF4_3926 >> 16) & 0x7fff);
    }

    #[test]
    fn empty_keys() {
        assert_eq!(one_at_a_time(b""), 0);
        assert_eq!(fnv1_32(b""), FNV32_BASIS);
        assert_eq!(jenkins(b""), 0xDEAD_BEEFu32.wrapping_add(13));
    }
}
