//! Items as callers see them ([`Item`], the outcome enums) and as a shard
//! keeps them ([`Entry`]), plus memcached's per-item memory charge.

use bytes::Bytes;

/// `sizeof(item)` in memcached 1.6.18 on a 64-bit build: the per-item header.
pub const ITEM_HEADER_LEN: usize = 48;

/// A hit: what a retrieval returns, with its own copy of the value.
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

/// A stored item inside a shard: one allocation holding a header, the key
/// and the value (memcached's item layout, without the slab chunk's
/// rounding). The value is copied in on store and out on a hit, so an item
/// never keeps a connection's read buffer alive and is charged what it
/// holds.
///
/// Header: CAS (8 bytes), client flags (4), relative exptime (4), relative
/// time of the last link or update (4; memcached `it->time`), key length
/// (2), flag bits (1).
pub(crate) struct Entry {
    buf: Box<[u8]>,
}

const CAS: usize = 0;
const FLAGS: usize = 8;
const EXPTIME: usize = 12;
const TIME: usize = 16;
const KEY_LEN: usize = 20;
const BITS: usize = 22;
const HEADER: usize = 23;
/// Read at least once since linked (memcached `ITEM_FETCHED`).
const FETCHED: u8 = 1;

impl Entry {
    /// An unfetched entry for `key` whose value is `parts` joined.
    /// Relative times past `u32::MAX` seconds (136 years) are kept as that.
    pub(crate) fn new(
        key: &[u8],
        parts: &[&[u8]],
        flags: u32,
        exptime: u64,
        time: u64,
        cas: u64,
    ) -> Entry {
        let len = HEADER + key.len() + parts.iter().map(|p| p.len()).sum::<usize>();
        let mut buf = Vec::with_capacity(len);
        buf.extend_from_slice(&cas.to_le_bytes());
        buf.extend_from_slice(&flags.to_le_bytes());
        buf.extend_from_slice(&rel32(exptime).to_le_bytes());
        buf.extend_from_slice(&rel32(time).to_le_bytes());
        // Keys are at most 250 bytes (checked by every caller's protocol).
        let key_len = u16::try_from(key.len()).unwrap_or(u16::MAX);
        buf.extend_from_slice(&key_len.to_le_bytes());
        buf.push(0);
        buf.extend_from_slice(&key[..usize::from(key_len)]);
        for part in parts {
            buf.extend_from_slice(part);
        }
        Entry {
            buf: buf.into_boxed_slice(),
        }
    }

    /// A placeholder for a freed slot (no allocation).
    pub(crate) fn empty() -> Entry {
        Entry {
            buf: Box::default(),
        }
    }

    fn key_len(&self) -> usize {
        usize::from(u16::from_le_bytes([
            self.buf[KEY_LEN],
            self.buf[KEY_LEN + 1],
        ]))
    }

    fn u32_at(&self, at: usize) -> u32 {
        let mut b = [0; 4];
        b.copy_from_slice(&self.buf[at..at + 4]);
        u32::from_le_bytes(b)
    }

    fn set_u32_at(&mut self, at: usize, v: u32) {
        self.buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn key(&self) -> &[u8] {
        if self.buf.is_empty() {
            return &[];
        }
        &self.buf[HEADER..HEADER + self.key_len()]
    }

    pub(crate) fn data(&self) -> &[u8] {
        if self.buf.is_empty() {
            return &[];
        }
        &self.buf[HEADER + self.key_len()..]
    }

    /// The value, to rewrite in place (incr/decr that keeps the length).
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        let at = HEADER + self.key_len();
        &mut self.buf[at..]
    }

    pub(crate) fn cas(&self) -> u64 {
        let mut b = [0; 8];
        b.copy_from_slice(&self.buf[CAS..CAS + 8]);
        u64::from_le_bytes(b)
    }

    pub(crate) fn set_cas(&mut self, cas: u64) {
        self.buf[CAS..CAS + 8].copy_from_slice(&cas.to_le_bytes());
    }

    pub(crate) fn flags(&self) -> u32 {
        self.u32_at(FLAGS)
    }

    /// Relative expiry; 0 never.
    pub(crate) fn exptime(&self) -> u64 {
        u64::from(self.u32_at(EXPTIME))
    }

    pub(crate) fn set_exptime(&mut self, exptime: u64) {
        self.set_u32_at(EXPTIME, rel32(exptime));
    }

    /// Relative time it was linked or last updated, compared against the
    /// flush watermark.
    pub(crate) fn time(&self) -> u64 {
        u64::from(self.u32_at(TIME))
    }

    pub(crate) fn set_time(&mut self, time: u64) {
        self.set_u32_at(TIME, rel32(time));
    }

    pub(crate) fn fetched(&self) -> bool {
        self.buf[BITS] & FETCHED != 0
    }

    pub(crate) fn set_fetched(&mut self) {
        self.buf[BITS] |= FETCHED;
    }

    /// Marked stale by a meta invalidation (memcached `ITEM_STALE`).
    pub(crate) const STALE: u8 = 2;
    /// A meta win token was handed out (memcached `ITEM_TOKEN_SENT`).
    pub(crate) const TOKEN_SENT: u8 = 4;
    /// Stored by `ms` with a base64 key (memcached `ITEM_KEY_BINARY`):
    /// meta replies show the key base64-encoded.
    pub(crate) const KEY_BINARY: u8 = 8;

    /// One of the meta bits ([`Entry::STALE`], [`Entry::TOKEN_SENT`],
    /// [`Entry::KEY_BINARY`]).
    pub(crate) fn bit(&self, bit: u8) -> bool {
        self.buf[BITS] & bit != 0
    }

    pub(crate) fn set_bit(&mut self, bit: u8, on: bool) {
        if on {
            self.buf[BITS] |= bit;
        } else {
            self.buf[BITS] &= !bit;
        }
    }

    /// Bytes charged ([`item_size`]).
    pub(crate) fn size(&self, cas_enabled: bool) -> usize {
        item_size(self.key_len(), self.flags(), self.data().len(), cas_enabled)
    }

    /// The caller-facing copy of the item.
    pub(crate) fn to_item(&self) -> Item {
        Item {
            flags: self.flags(),
            cas: self.cas(),
            data: Bytes::copy_from_slice(self.data()),
        }
    }
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("key", &String::from_utf8_lossy(self.key()))
            .field("len", &self.data().len())
            .finish_non_exhaustive()
    }
}

fn rel32(t: u64) -> u32 {
    u32::try_from(t).unwrap_or(u32::MAX)
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

    #[test]
    fn entry_keeps_every_field_in_one_allocation() {
        let mut e = Entry::new(b"key", &[b"ab", b"cd"], 0xdead_beef, 30, 12, 99);
        assert_eq!(e.key(), b"key");
        assert_eq!(e.data(), b"abcd");
        assert_eq!(
            (e.flags(), e.exptime(), e.time(), e.cas()),
            (0xdead_beef, 30, 12, 99)
        );
        assert!(!e.fetched());
        e.set_fetched();
        e.set_exptime(u64::MAX);
        e.set_time(7);
        e.set_cas(100);
        e.data_mut().copy_from_slice(b"wxyz");
        assert!(e.fetched());
        assert_eq!(
            (e.exptime(), e.time(), e.cas()),
            (u64::from(u32::MAX), 7, 100)
        );
        assert_eq!(e.to_item().data, Bytes::from_static(b"wxyz"));
        assert_eq!(e.size(true), item_size(3, 0xdead_beef, 4, true));
        let empty = Entry::empty();
        assert_eq!((empty.key(), empty.data()), (&b""[..], &b""[..]));
    }
}
