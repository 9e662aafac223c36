//! Items as callers see them ([`Item`], the outcome enums) and as a shard
//! keeps them ([`Entry`]), plus memcached's per-item memory charge.

use bytes::Bytes;

/// `sizeof(item)` in memcached 1.6.18 on a 64-bit build: the per-item header.
pub const ITEM_HEADER_LEN: usize = 48;

/// A hit: what a retrieval returns. `data` shares the stored buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// Client flags.
    pub flags: u32,
    /// CAS unique (0 when CAS is disabled).
    pub cas: u64,
    /// The value.
    pub data: Bytes,
}

/// Result of [`crate::Engine::store`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreOutcome {
    /// `STORED`, with the new CAS unique (0 when CAS is disabled).
    Stored {
        /// New CAS unique.
        cas: u64,
    },
    /// `NOT_STORED`: add on a live key, replace/append/prepend on a missing one.
    NotStored,
    /// `EXISTS`: CAS mismatch.
    Exists,
    /// `NOT_FOUND`: CAS store on a missing key.
    NotFound,
    /// `SERVER_ERROR object too large for cache`.
    TooLarge,
    /// `SERVER_ERROR out of memory storing object` (no eviction allowed or
    /// nothing left to evict).
    OutOfMemory,
}

/// Result of [`crate::Engine::arith`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithOutcome {
    /// The new value and the item's new CAS unique.
    Value {
        /// New numeric value.
        value: u64,
        /// New CAS unique (0 when CAS is disabled).
        cas: u64,
    },
    /// `NOT_FOUND`.
    NotFound,
    /// `CLIENT_ERROR cannot increment or decrement non-numeric value`.
    NonNumeric,
    /// Binary CAS mismatch (`Key exists`).
    Exists,
    /// The grown or created number found no memory (memcached answers
    /// `SERVER_ERROR out of memory`).
    OutOfMemory,
}

/// Result of [`crate::Engine::delete`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// `DELETED`.
    Deleted,
    /// `NOT_FOUND`.
    NotFound,
    /// Binary CAS mismatch.
    Exists,
}

/// Bytes memcached charges for an item (`ITEM_ntotal`, items.c
/// `item_make_header` + `do_item_alloc`): the 48-byte header, the key and its
/// NUL, 4 bytes of client flags when they are non-zero, the value with its
/// `\r\n`, and 8 bytes of CAS when CAS is enabled. Slab-class rounding is not
/// modelled. With `-I 1m`, key `foo` and flags 0 the largest value is
/// 1048514 bytes, as in memcached.
pub fn item_size(nkey: usize, flags: u32, nvalue: usize, cas_enabled: bool) -> usize {
    let suffix = if flags == 0 { 0 } else { 4 };
    let cas = if cas_enabled { 8 } else { 0 };
    ITEM_HEADER_LEN + nkey + 1 + suffix + nvalue + 2 + cas
}

/// A stored item inside a shard.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// The value.
    pub(crate) data: Bytes,
    /// Client flags.
    pub(crate) flags: u32,
    /// Relative expiry; 0 never.
    pub(crate) exptime: u64,
    /// Relative time it was linked or last updated (memcached `it->time`),
    /// compared against the flush watermark.
    pub(crate) time: u64,
    /// CAS unique; 0 when CAS is disabled.
    pub(crate) cas: u64,
    /// Bytes charged ([`item_size`]).
    pub(crate) size: usize,
    /// Recency stamp (engine nanoseconds) for cross-shard LRU.
    pub(crate) access: u64,
    /// Read at least once since linked (memcached `ITEM_FETCHED`).
    pub(crate) fetched: bool,
}

impl Entry {
    /// The caller-facing copy (a `Bytes` clone, no data copy).
    pub(crate) fn to_item(&self) -> Item {
        Item {
            flags: self.flags,
            cas: self.cas,
            data: self.data.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_formula_matches_memcached_stats_bytes() {
        // memcached 1.6.18 reports `bytes 80` for key "k", flags 0, 20-byte value.
        assert_eq!(item_size(1, 0, 20, true), 80);
        // Key "foo" with -I 1m: 1048514 is the largest value that fits.
        assert_eq!(item_size(3, 0, 1_048_514, true), 1_048_576);
        assert_eq!(item_size(3, 1, 1_048_510, true), 1_048_576);
        assert_eq!(item_size(3, 0, 0, false), 54);
    }
}
