//! Key hash functions: the libhashkit set that libmemcached (and so moxi)
//! offers, plus twemproxy's `crc32a`. Proven by `hashes.json`.

mod algo;

use std::fmt;
use std::str::FromStr;

use crate::error::RoutingError;

pub use algo::murmur3_x86_32;
pub(crate) use algo::{md5_digest, md5_word};

/// A key hash function, bit-exact with libhashkit / twemproxy on x86-64.
// The FNV variants keep libhashkit's spelling (`fnv1a_64`) to stay greppable.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashFn {
    /// Jenkins one-at-a-time; libmemcached's `default`.
    OneAtATime,
    /// MD5 word 0 (digest bytes 0..4, little-endian).
    Md5,
    /// `(crc32 >> 16) & 0x7fff`: libmemcached `crc`, twemproxy `crc32`,
    /// libvbucket's vBucket hash. Only 15 bits.
    Crc,
    /// The full CRC-32/IEEE; twemproxy `crc32a`.
    Crc32a,
    /// FNV-1, 32-bit.
    Fnv1_32,
    /// FNV-1a, 32-bit.
    Fnv1a_32,
    /// FNV-1 with a 64-bit state, low 32 bits of the result.
    Fnv1_64,
    /// libhashkit's "fnv1a_64", which really is a 32-bit hash.
    Fnv1a_64,
    /// MurmurHash2, seed `0xdeadbeef * len`.
    Murmur,
    /// lookup3 `hashlittle`, initval 13.
    Jenkins,
    /// MurmurHash3_x86_32, seed `0xdeadbeef * len`.
    Murmur3,
}

impl HashFn {
    /// Every supported function, in libhashkit's enum order.
    pub const ALL: [HashFn; 11] = [
        HashFn::OneAtATime,
        HashFn::Md5,
        HashFn::Crc,
        HashFn::Fnv1_64,
        HashFn::Fnv1a_64,
        HashFn::Fnv1_32,
        HashFn::Fnv1a_32,
        HashFn::Murmur,
        HashFn::Jenkins,
        HashFn::Murmur3,
        HashFn::Crc32a,
    ];

    /// Hashes `key`.
    pub fn hash(self, key: &[u8]) -> u32 {
        match self {
            HashFn::OneAtATime => algo::one_at_a_time(key),
            HashFn::Md5 => algo::md5(key),
            HashFn::Crc => algo::crc15(key),
            HashFn::Crc32a => algo::crc32_ieee(key),
            HashFn::Fnv1_32 => algo::fnv1_32(key),
            HashFn::Fnv1a_32 => algo::fnv1a_32(key),
            HashFn::Fnv1_64 => algo::fnv1_64(key),
            HashFn::Fnv1a_64 => algo::fnv1a_64(key),
            HashFn::Murmur => algo::murmur2(key),
            HashFn::Jenkins => algo::jenkins(key),
            HashFn::Murmur3 => algo::murmur3(key),
        }
    }

    /// The canonical lower-case name (twemproxy's spelling where it has one).
    pub fn as_str(self) -> &'static str {
        match self {
            HashFn::OneAtATime => "one_at_a_time",
            HashFn::Md5 => "md5",
            HashFn::Crc => "crc32",
            HashFn::Crc32a => "crc32a",
            HashFn::Fnv1_32 => "fnv1_32",
            HashFn::Fnv1a_32 => "fnv1a_32",
            HashFn::Fnv1_64 => "fnv1_64",
            HashFn::Fnv1a_64 => "fnv1a_64",
            HashFn::Murmur => "murmur",
            HashFn::Jenkins => "jenkins",
            HashFn::Murmur3 => "murmur3",
        }
    }
}

impl fmt::Display for HashFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HashFn {
    type Err = RoutingError;

    /// Parses a name as twemproxy (`one_at_a_time`, `crc32`, `crc32a`, …),
    /// libmemcached (`default`, `crc`, `MEMCACHED_HASH_FNV1A_64`, …) or
    /// libvbucket's `hashAlgorithm` (`CRC`) spell it; case-insensitive.
    /// `hsieh` and `crc16` are recognised as unsupported.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let name = lower.strip_prefix("memcached_hash_").unwrap_or(&lower);
        let f = match name {
            "default" | "one_at_a_time" | "one-at-a-time" | "oaat" => HashFn::OneAtATime,
            "md5" => HashFn::Md5,
            "crc" | "crc32" => HashFn::Crc,
            "crc32a" => HashFn::Crc32a,
            "fnv1_32" => HashFn::Fnv1_32,
            "fnv1a_32" => HashFn::Fnv1a_32,
            "fnv1_64" => HashFn::Fnv1_64,
            "fnv1a_64" => HashFn::Fnv1a_64,
            "murmur" | "murmur2" => HashFn::Murmur,
            "jenkins" => HashFn::Jenkins,
            "murmur3" => HashFn::Murmur3,
            "hsieh" | "crc16" => return Err(RoutingError::UnsupportedHash(s.to_owned())),
            _ => return Err(RoutingError::UnknownHash(s.to_owned())),
        };
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in HashFn::ALL {
            assert_eq!(f.as_str().parse::<HashFn>().unwrap(), f);
            assert_eq!(f.to_string(), f.as_str());
        }
    }

    #[test]
    fn libmemcached_and_libvbucket_spellings() {
        assert_eq!("DEFAULT".parse::<HashFn>().unwrap(), HashFn::OneAtATime);
        assert_eq!("CRC".parse::<HashFn>().unwrap(), HashFn::Crc);
        assert_eq!(
            "MEMCACHED_HASH_FNV1A_64".parse::<HashFn>().unwrap(),
            HashFn::Fnv1a_64
        );
        assert!(matches!(
            "hsieh".parse::<HashFn>(),
            Err(RoutingError::UnsupportedHash(_))
        ));
        assert!(matches!(
            "crc16".parse::<HashFn>(),
            Err(RoutingError::UnsupportedHash(_))
        ));
        assert!(matches!(
            "sha1".parse::<HashFn>(),
            Err(RoutingError::UnknownHash(_))
        ));
    }

    #[test]
    fn known_values() {
        // From hashes.json: key "a".
        assert_eq!(HashFn::OneAtATime.hash(b"a"), 3_392_050_242);
        assert_eq!(HashFn::Crc32a.hash(b"123456789"), 0xCBF4_3926);
    }
}
