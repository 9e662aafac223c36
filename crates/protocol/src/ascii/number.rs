//! Number tokens read the way memcached 1.6.18 reads them: C `strtoul`,
//! `strtoull` and `strtol` in base 10 behind its `safe_strto*` checks, on a
//! 64-bit `long`. This is what makes `set k 4294967297 0 1` store flags 1 and
//! `incr k -18446744073709551615` add 1, exactly as memcached does.

/// C `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Sign and magnitude of a base-10 C number, or `None` when C would report
/// no digits, `ERANGE` on the magnitude, or the `safe_strto*` check fails on
/// what follows the digits (only whitespace may follow).
struct CNumber {
    negative: bool,
    magnitude: u64,
}

fn parse_c(tok: &[u8]) -> Option<CNumber> {
    let mut i = tok.iter().take_while(|&&b| is_c_space(b)).count();
    let mut negative = false;
    if let Some(&sign @ (b'+' | b'-')) = tok.get(i) {
        negative = sign == b'-';
        i += 1;
    }
    let digits = tok[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let mut magnitude: u64 = 0;
    for &d in &tok[i..i + digits] {
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(d - b'0'))?;
    }
    match tok.get(i + digits) {
        None => Some(CNumber {
            negative,
            magnitude,
        }),
        Some(&b) if is_c_space(b) => Some(CNumber {
            negative,
            magnitude,
        }),
        Some(_) => None,
    }
}

/// `strtoull` result: a negative number wraps modulo 2^64.
fn unsigned_value(tok: &[u8]) -> Option<u64> {
    let n = parse_c(tok)?;
    let v = if n.negative {
        n.magnitude.wrapping_neg()
    } else {
        n.magnitude
    };
    // safe_strtoul(l): refuse a '-' only when the result looks negative.
    if (v as i64) < 0 && tok.contains(&b'-') {
        return None;
    }
    Some(v)
}

/// memcached `safe_strtoull`: a 64-bit unsigned number (delta, CAS unique).
pub(crate) fn safe_strtoull(tok: &[u8]) -> Option<u64> {
    unsigned_value(tok)
}

/// memcached `safe_strtoul` into a `uint32_t`: parsed as 64 bits, then
/// truncated (flags, verbosity level).
pub(crate) fn safe_strtoul(tok: &[u8]) -> Option<u32> {
    unsigned_value(tok).map(|v| v as u32)
}

/// memcached `safe_strtoul` into a `uint32_t`, for servers that read
/// numeric arguments of their own commands (`stats cachedump <id> <limit>`).
pub fn parse_u32(tok: &[u8]) -> Option<u32> {
    safe_strtoul(tok)
}

/// memcached `safe_strtol` into an `int32_t`: parsed as a 64-bit `long`
/// (out of range is an error), then truncated (exptime, `<bytes>`).
pub(crate) fn safe_strtol(tok: &[u8]) -> Option<i32> {
    let n = parse_c(tok)?;
    let v: i64 = if n.negative {
        if n.magnitude > 1u64 << 63 {
            return None;
        }
        (n.magnitude as i64).wrapping_neg()
    } else {
        i64::try_from(n.magnitude).ok()?
    };
    Some(v as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_32_bit_truncates_like_memcached() {
        assert_eq!(safe_strtoul(b"4294967296"), Some(0));
        assert_eq!(safe_strtoul(b"4294967297"), Some(1));
        assert_eq!(safe_strtoul(b"+1"), Some(1));
        assert_eq!(safe_strtoul(b"1\t"), Some(1));
        assert_eq!(safe_strtoul(b"\t7"), Some(7));
        assert_eq!(safe_strtoul(b"-0"), Some(0));
        assert_eq!(safe_strtoul(b"-1"), None);
        assert_eq!(safe_strtoul(b"18446744073709551615"), Some(u32::MAX));
        assert_eq!(safe_strtoul(b"18446744073709551616"), None);
        assert_eq!(safe_strtoul(b"1x"), None);
        assert_eq!(safe_strtoul(b""), None);
        assert_eq!(safe_strtoul(b"-"), None);
        assert_eq!(safe_strtoul(b"0x10"), None);
    }

    #[test]
    fn unsigned_64_bit_wraps_large_negatives() {
        assert_eq!(safe_strtoull(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(safe_strtoull(b"18446744073709551616"), None);
        assert_eq!(safe_strtoull(b"-18446744073709551615"), Some(1));
        assert_eq!(safe_strtoull(b"-9223372036854775808"), None);
        assert_eq!(safe_strtoull(b"-1"), None);
        assert_eq!(safe_strtoull(b"5\r"), Some(5));
    }

    #[test]
    fn signed_32_bit_truncates() {
        assert_eq!(safe_strtol(b"-1"), Some(-1));
        assert_eq!(safe_strtol(b"2147483648"), Some(i32::MIN));
        assert_eq!(safe_strtol(b"4294967301"), Some(5));
        assert_eq!(safe_strtol(b"9223372036854775807"), Some(-1));
        assert_eq!(safe_strtol(b"9223372036854775808"), None);
        assert_eq!(safe_strtol(b"-9223372036854775808"), Some(0));
        assert_eq!(safe_strtol(b"-9223372036854775809"), None);
        assert_eq!(safe_strtol(b"abc"), None);
        assert_eq!(safe_strtol(b"1\x0b"), Some(1));
    }
}
