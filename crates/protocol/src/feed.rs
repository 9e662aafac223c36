//! Drivers shared by the codecs' fuzz entry points and tests: input fed to
//! a decoder in pieces, with the buffering bounds checked at every step.

use bytes::BytesMut;

/// For the fuzz entry points: a decoder may grow its read buffer for one
/// frame that passed its limits, never to a length the input merely
/// declared. `fed` is what was appended so far, `bound` the most a decoder
/// may hold; the factor covers `BytesMut`'s doubling growth.
pub(crate) fn assert_capacity_bounded(buf: &BytesMut, fed: usize, bound: usize) {
    let cap = buf.capacity();
    let limit = fed
        .saturating_add(bound)
        .saturating_mul(4)
        .saturating_add(1024);
    assert!(
        cap <= limit,
        "read buffer grew to {cap} bytes after {fed} bytes of input"
    );
}

/// Feeds `pieces` one after another to a request decoder (`decode`),
/// which may hold at most `bound` bytes while asking for more. Returns the
/// outcomes in order, stopping after the first error (a close), and the
/// bytes left buffered (0 after a close: what stays unread then depends on
/// the reads).
pub(crate) fn feed_requests<'a, T, E>(
    pieces: impl IntoIterator<Item = &'a [u8]>,
    bound: usize,
    mut decode: impl FnMut(&mut BytesMut) -> Result<Option<T>, E>,
) -> (Vec<Result<T, E>>, usize) {
    let mut buf = BytesMut::new();
    let mut outcomes = Vec::new();
    let mut fed = 0;
    for piece in pieces {
        buf.extend_from_slice(piece);
        fed += piece.len();
        loop {
            let decoded = decode(&mut buf);
            assert_capacity_bounded(&buf, fed, bound);
            match decoded {
                Ok(Some(decoded)) => outcomes.push(Ok(decoded)),
                Ok(None) => {
                    assert!(buf.len() <= bound, "unbounded buffering");
                    break;
                }
                Err(close) => {
                    outcomes.push(Err(close));
                    return (outcomes, 0);
                }
            }
        }
    }
    (outcomes, buf.len())
}

/// Feeds `pieces` to a response decoder, which must consume something for
/// every reply, nothing on an error, and hold under `bound` bytes while
/// asking for more. Returns the outcomes, stopping after the first error.
pub(crate) fn feed_responses<'a, T, E>(
    pieces: impl IntoIterator<Item = &'a [u8]>,
    bound: usize,
    mut decode: impl FnMut(&mut BytesMut) -> Result<Option<T>, E>,
) -> Vec<Result<T, E>> {
    let mut buf = BytesMut::new();
    let mut outcomes = Vec::new();
    let mut fed = 0;
    for piece in pieces {
        buf.extend_from_slice(piece);
        fed += piece.len();
        loop {
            let before = buf.len();
            let decoded = decode(&mut buf);
            assert_capacity_bounded(&buf, fed, bound);
            match decoded {
                Ok(Some(r)) => {
                    assert!(buf.len() < before, "a reply consumed nothing");
                    outcomes.push(Ok(r));
                }
                Ok(None) => {
                    assert!(buf.len() < bound, "unbounded buffering");
                    break;
                }
                Err(e) => {
                    assert_eq!(buf.len(), before, "an error consumed bytes");
                    outcomes.push(Err(e));
                    return outcomes;
                }
            }
        }
    }
    outcomes
}

/// Runs `run` on `input` whole, split in two at every byte boundary and
/// byte by byte (up to 4 KiB); every run must give the same result, which
/// is returned.
#[cfg(test)]
pub(crate) fn same_when_split<R: PartialEq + std::fmt::Debug>(
    input: &[u8],
    run: impl Fn(&[&[u8]]) -> R,
) -> R {
    let whole = run(&[input]);
    let head = String::from_utf8_lossy(&input[..input.len().min(80)]).into_owned();
    for split in 1..input.len() {
        let (a, b) = input.split_at(split);
        assert_eq!(run(&[a, b]), whole, "split at {split} of {head:?}");
    }
    if input.len() <= 4096 {
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(run(&bytes), whole, "byte by byte: {head:?}");
    }
    whole
}

/// For the fuzz entry points: `run` over `data` whole and cut into pieces
/// of 1 to `modulo` bytes (the size chosen by the first byte) must give the
/// same outcome, which is returned.
pub(crate) fn same_in_pieces<R: PartialEq + std::fmt::Debug>(
    data: &[u8],
    modulo: u8,
    run: impl Fn(&[&[u8]]) -> R,
) -> R {
    let whole = run(&[data]);
    let piece = 1 + usize::from(data.first().copied().unwrap_or(0) % modulo);
    let pieces: Vec<&[u8]> = data.chunks(piece).collect();
    assert_eq!(whole, run(&pieces), "outcome depends on read boundaries");
    whole
}

/// `wire`, an encoding of `want`, decodes with `decode` to exactly `want`
/// and nothing is left over.
pub(crate) fn assert_decodes_to<T, E>(
    mut wire: BytesMut,
    want: Result<Option<T>, E>,
    decode: impl FnOnce(&mut BytesMut) -> Result<Option<T>, E>,
) where
    T: PartialEq + std::fmt::Debug,
    E: PartialEq + std::fmt::Debug,
{
    let copy = wire.clone();
    assert_eq!(decode(&mut wire), want, "re-encoded as {copy:?}");
    assert!(wire.is_empty(), "encoding {copy:?} left {wire:?}");
}
