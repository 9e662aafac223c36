//! Base64 for meta's binary keys (`b` flag), with memcached's exact
//! decoding quirks (memcached `base64.c`): bytes outside the alphabet are
//! skipped, the counted bytes must be a non-zero multiple of four, and
//! decoding stops after the first block holding `=`.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The value of a base64 byte; `=` counts as 0 (memcached's `dtable`).
fn value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        b'=' => Some(0),
        _ => None,
    }
}

/// Decodes `src` as memcached's `base64_decode` does; `None` where it
/// returns 0 (nothing to decode, a partial block, three or four `=`).
pub fn base64_decode(src: &[u8]) -> Option<Vec<u8>> {
    let count = src.iter().filter(|&&b| value(b).is_some()).count();
    if count == 0 || count % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(count / 4 * 3);
    let mut block = [0u8; 4];
    let mut n = 0;
    let mut pad = 0;
    for &b in src {
        let Some(v) = value(b) else { continue };
        if b == b'=' {
            pad += 1;
        }
        block[n] = v;
        n += 1;
        if n == 4 {
            out.push((block[0] << 2) | (block[1] >> 4));
            out.push((block[1] << 4) | (block[2] >> 2));
            out.push((block[2] << 6) | block[3]);
            n = 0;
            if pad > 0 {
                if pad > 2 {
                    return None;
                }
                out.truncate(out.len() - pad);
                break;
            }
        }
    }
    Some(out)
}

/// Standard base64 with `=` padding, as memcached writes a binary key.
pub fn base64_encode(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len().div_ceil(3) * 4);
    for chunk in src.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        out.push(ALPHABET[usize::from(b[0] >> 2)]);
        out.push(ALPHABET[usize::from(((b[0] & 3) << 4) | (b[1] >> 4))]);
        if chunk.len() > 1 {
            out.push(ALPHABET[usize::from(((b[1] & 0x0f) << 2) | (b[2] >> 6))]);
        } else {
            out.push(b'=');
        }
        if chunk.len() > 2 {
            out.push(ALPHABET[usize::from(b[2] & 0x3f)]);
        } else {
            out.push(b'=');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_quirks() {
        for s in [&b"a"[..], b"ab", b"abc", b"abcd", b"\x00\xff\x10 \r\n"] {
            assert_eq!(base64_decode(&base64_encode(s)).as_deref(), Some(s));
        }
        assert_eq!(base64_encode(b"foo"), b"Zm9v");
        assert_eq!(base64_encode(b"fo"), b"Zm8=");
        // Bytes outside the alphabet are skipped; a partial block fails.
        assert_eq!(base64_decode(b"Zm!9v").as_deref(), Some(&b"foo"[..]));
        assert_eq!(base64_decode(b"Zm9"), None);
        assert_eq!(base64_decode(b"!!"), None);
        assert_eq!(base64_decode(b"===="), None);
        // Decoding stops after the first padded block.
        assert_eq!(base64_decode(b"Zm8=Zm9v").as_deref(), Some(&b"fo"[..]));
    }
}
