//! The one error type of this crate: invalid routing inputs, found when a
//! locator or vBucket map is built, never during a lookup.

use thiserror::Error;

/// Why a routing structure could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RoutingError {
    /// The hash name is not one libmemcached, twemproxy or libvbucket knows.
    #[error("unknown hash function {0:?}")]
    UnknownHash(String),
    /// The hash exists elsewhere (hsieh, crc16) but is not implemented here.
    #[error("unsupported hash function {0:?}")]
    UnsupportedHash(String),
    /// A locator needs at least one server.
    #[error("no servers")]
    NoServers,
    /// The weights add up to more than `u32::MAX`, which the C libraries
    /// cannot represent either.
    #[error("total server weight overflows 32 bits")]
    WeightOverflow,
    /// A parallel list (such as twemproxy server names) has the wrong length.
    #[error("expected {expected} entries, got {got}")]
    LengthMismatch {
        /// Entries required (the number of servers).
        expected: usize,
        /// Entries given.
        got: usize,
    },
    /// A hash tag must be exactly two bytes.
    #[error("hash tag must be exactly two bytes, got {0}")]
    BadHashTag(usize),
    /// The number of vBuckets must be a power of two between 1 and 65536.
    #[error("vBucket count {0} is not a power of two in 1..=65536")]
    BadVbucketCount(usize),
    /// A vBucket entry has the wrong number of servers (masters + replicas).
    #[error("vBucket {vbucket}: expected {expected} server slots, got {got}")]
    BadVbucketEntry {
        /// The vBucket id.
        vbucket: usize,
        /// `num_replicas + 1`.
        expected: usize,
        /// Slots present.
        got: usize,
    },
    /// A vBucket entry names a server outside `-1..servers.len()`.
    #[error("vBucket {vbucket}: server index {index} out of range")]
    BadServerIndex {
        /// The vBucket id.
        vbucket: usize,
        /// The offending index.
        index: i32,
    },
    /// More than four replicas (libvbucket's limit).
    #[error("{0} replicas; at most 4 are allowed")]
    TooManyReplicas(usize),
}
