//! Self-describing keys, values and flags, so that any byte a client reads
//! tells who wrote it.
//!
//! A stored value is a run of segments `<C.K.S.N:fill>` (client, key index,
//! request sequence, fill length, all hex; the fill is a letter pattern
//! derived from the sequence). `append` and `prepend` concatenate segments,
//! so a value read back can always be split into the writes that made it,
//! and a segment written by another client, or for another key, is a
//! cross-talk that no fault explains. Counters hold decimal digits (as
//! memcached stores them, possibly padded with spaces after a `decr`).
//! Flags carry the writing client in their high 20 bits.

use bytes::{BufMut, Bytes, BytesMut};

/// Which write produced a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The writing client.
    pub client: u32,
    /// The client's key index.
    pub key: u8,
    /// The client's request sequence number.
    pub seq: u64,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "client {} key {} request {}",
            self.client, self.key, self.seq
        )
    }
}

/// A value that is not a run of well-formed segments.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed value at byte {at}: {why}")]
pub struct BadValue {
    /// Offset of the first byte that does not parse.
    pub at: usize,
    /// What was wrong.
    pub why: &'static str,
}

/// Longest segment header `<C.K.S.N:` we accept when parsing.
const MAX_HEADER: usize = 64;

/// The key of `client`'s key `index` in run `tag`.
pub fn key_name(tag: u32, client: u32, index: u8) -> Bytes {
    Bytes::from(format!("x{tag:x}:{client:x}:{index}"))
}

/// One segment written by `origin`, with `fill` filler bytes.
pub fn segment(origin: Origin, fill: usize) -> Bytes {
    let head = format!(
        "<{:x}.{:x}.{:x}.{:x}:",
        origin.client, origin.key, origin.seq, fill
    );
    let mut out = BytesMut::with_capacity(head.len() + fill + 1);
    out.put_slice(head.as_bytes());
    out.extend((0..fill).map(|i| filler(origin.seq, i)));
    out.put_u8(b'>');
    out.freeze()
}

fn filler(seq: u64, i: usize) -> u8 {
    b'a' + ((seq as usize).wrapping_add(i) % 26) as u8
}

/// Splits a value into the writes that made it.
pub fn parse(data: &[u8]) -> Result<Vec<Origin>, BadValue> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let (origin, len) = parse_one(&data[at..]).map_err(|why| BadValue { at, why })?;
        out.push(origin);
        at += len;
    }
    Ok(out)
}

/// One segment at the front of `data`: its origin and length.
fn parse_one(data: &[u8]) -> Result<(Origin, usize), &'static str> {
    if data.first() != Some(&b'<') {
        return Err("segment does not start with '<'");
    }
    let window = &data[..data.len().min(MAX_HEADER)];
    let colon = window
        .iter()
        .position(|&b| b == b':')
        .ok_or("no ':' in segment header")?;
    let head = std::str::from_utf8(&data[1..colon]).map_err(|_| "header not text")?;
    let mut fields = head.split('.').map(|f| u64::from_str_radix(f, 16));
    let mut next = || fields.next().and_then(Result::ok).ok_or("bad header field");
    let (client, key, seq, fill) = (next()?, next()?, next()?, next()?);
    let fill = usize::try_from(fill).map_err(|_| "fill too long")?;
    let body = colon + 1;
    let end = body.checked_add(fill).ok_or("fill too long")?;
    if data.len() <= end || data[end] != b'>' {
        return Err("segment shorter than its fill or not closed by '>'");
    }
    if (0..fill).any(|i| data[body + i] != filler(seq, i)) {
        return Err("fill bytes do not match the segment's sequence");
    }
    let origin = Origin {
        client: u32::try_from(client).map_err(|_| "client out of range")?,
        key: u8::try_from(key).map_err(|_| "key out of range")?,
        seq,
    };
    Ok((origin, end + 1))
}

/// Flags for a write by `client` (high 20 bits) with request `seq` (low 12).
pub fn flags(client: u32, seq: u64) -> u32 {
    (client << 12) | (seq & 0xfff) as u32
}

/// The client a flags word names.
pub fn flags_client(flags: u32) -> u32 {
    flags >> 12
}

/// The decimal text a counter is set to.
pub fn counter_text(n: u64) -> Bytes {
    Bytes::from(n.to_string())
}

/// A counter's value: decimal digits, maybe padded with spaces (memcached
/// pads a `decr` result in place rather than shrinking the item).
pub fn parse_counter(data: &[u8]) -> Option<u64> {
    let digits = data.strip_suffix(b" ").map_or(data, |_| {
        let end = data.iter().rposition(|&b| b != b' ').map_or(0, |p| p + 1);
        &data[..end]
    });
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// A short printable rendering of `data` for reports (first 80 bytes).
pub fn show(data: &[u8]) -> String {
    let cut = &data[..data.len().min(80)];
    let mut s = String::from_utf8_lossy(cut).escape_debug().to_string();
    if data.len() > cut.len() {
        s.push_str(&format!("...({} bytes)", data.len()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(client: u32, key: u8, seq: u64) -> Origin {
        Origin { client, key, seq }
    }

    #[test]
    fn segments_round_trip_and_concatenate() {
        let a = segment(o(7, 1, 300), 40);
        let b = segment(o(7, 1, 301), 0);
        assert_eq!(parse(&a).unwrap(), [o(7, 1, 300)]);
        let joined = [b.as_ref(), a.as_ref(), b.as_ref()].concat();
        assert_eq!(
            parse(&joined).unwrap(),
            [o(7, 1, 301), o(7, 1, 300), o(7, 1, 301)]
        );
        assert_eq!(parse(b"").unwrap(), []);
    }

    #[test]
    fn damage_is_caught() {
        let a = segment(o(2000, 3, 0xabc), 20);
        for cut in 1..a.len() {
            assert!(parse(&a[..cut]).is_err(), "cut at {cut}");
        }
        let mut flipped = a.to_vec();
        flipped[a.len() - 5] ^= 1;
        assert!(parse(&flipped).is_err());
        assert!(parse(b"STORED\r\n").is_err());
        assert!(parse(b"<1.2.3.ffffffffffffffff:x>").is_err());
    }

    #[test]
    fn flags_counters_and_keys() {
        assert_eq!(flags_client(flags(1999, 0x1234)), 1999);
        assert_eq!(flags(1, 0x1234) & 0xfff, 0x234);
        assert_eq!(parse_counter(b"42"), Some(42));
        assert_eq!(parse_counter(b"9  "), Some(9));
        assert_eq!(parse_counter(b" 9"), None);
        assert_eq!(parse_counter(b""), None);
        assert_eq!(parse_counter(b"<1.0.1.0:>"), None);
        assert_eq!(key_name(0xab, 17, 2).as_ref(), b"xab:11:2");
        assert_eq!(show(b"a\r\n"), "a\\r\\n");
    }
}
