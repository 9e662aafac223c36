//! Spare connection buffers, kept per worker thread.
//!
//! A connection holds a read or a write buffer only while bytes are in it.
//! Once it has answered everything it read and written every reply, it
//! gives its buffers back here, and takes one again when its socket is next
//! readable (memcached keeps a per-thread cache of read buffers the same
//! way). Ten thousand connections that were each used once and are now
//! idle then cost what ten thousand unused ones do, and a busy connection
//! swaps buffers with the spares instead of allocating new ones.

use std::cell::RefCell;

use bytes::BytesMut;

/// Room of a new buffer: enough for a batch of small requests. A
/// connection whose reads fill it grows it by [`GROWTH`]; a small first
/// buffer keeps a burst of thousands of clients with one request each in
/// flight from costing 16 KiB apiece.
pub const CHUNK: usize = 2 * 1024;

/// Room added when a buffer fills up.
pub const GROWTH: usize = 16 * 1024;

/// A buffer that grew past this for a large message is freed, not kept.
pub const KEPT_MAX: usize = 64 * 1024;

/// Spares kept per worker thread; more are freed.
const SPARES: usize = 64;

thread_local! {
    static SPARE: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer with at least [`CHUNK`] of room: a spare, or a new one.
pub fn take() -> BytesMut {
    SPARE
        .with(|s| s.borrow_mut().pop())
        .unwrap_or_else(|| BytesMut::with_capacity(CHUNK))
}

/// Gives `buf` up if it is empty, leaving an unallocated buffer in its
/// place. It becomes a spare unless its memory is still shared (a request
/// decoded from it holds part of it) or it grew past [`KEPT_MAX`]; then it
/// is freed, once its last part is.
pub fn give_back(buf: &mut BytesMut) {
    if !buf.is_empty() || buf.capacity() == 0 {
        return;
    }
    let mut spare = std::mem::take(buf);
    if spare.try_reclaim(CHUNK) && spare.capacity() <= KEPT_MAX {
        SPARE.with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < SPARES {
                s.push(spare);
            }
        });
    }
}

/// [`give_back`] for a write buffer (never shared): only when it has at
/// least [`CHUNK`] of room. A smaller one, sized to small replies, stays
/// with the connection: it costs less to hold than to allocate again.
pub fn give_back_roomy(buf: &mut BytesMut) {
    if buf.is_empty() && buf.try_reclaim(CHUNK) {
        give_back(buf);
    }
}

/// Spares held by this thread.
#[cfg(test)]
fn spares() -> usize {
    SPARE.with(|s| s.borrow().len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Buf;

    #[test]
    fn an_empty_buffer_becomes_a_spare_and_is_taken_again() {
        let before = spares();
        let mut buf = take();
        buf.extend_from_slice(b"get k\r\n");
        give_back(&mut buf);
        assert_eq!(spares(), before, "a buffer with bytes in it is kept");
        let _request = buf.split_to(7).freeze();
        drop(_request);
        give_back(&mut buf);
        assert_eq!(buf.capacity(), 0, "the connection holds nothing");
        assert_eq!(spares(), before + 1);
        let again = take();
        assert!(again.capacity() >= CHUNK && again.is_empty());
        assert_eq!(spares(), before);
    }

    #[test]
    fn a_shared_or_grown_buffer_is_freed_not_kept() {
        let before = spares();
        let mut buf = take();
        buf.extend_from_slice(b"set k 0 0 1\r\nx\r\n");
        let held = buf.split().freeze();
        give_back(&mut buf);
        assert_eq!((buf.capacity(), spares()), (0, before), "still shared");
        drop(held);
        let mut big = BytesMut::with_capacity(KEPT_MAX * 2);
        give_back(&mut big);
        assert_eq!((big.capacity(), spares()), (0, before), "too large");
    }

    #[test]
    fn a_small_write_buffer_stays_and_a_roomy_one_is_spared() {
        let before = spares();
        let mut small = BytesMut::with_capacity(64);
        small.extend_from_slice(b"END\r\n");
        small.advance(5);
        give_back_roomy(&mut small);
        assert!(small.capacity() > 0, "kept");
        assert_eq!(spares(), before);
        let mut roomy = BytesMut::with_capacity(CHUNK);
        roomy.extend_from_slice(b"END\r\n");
        roomy.advance(5);
        give_back_roomy(&mut roomy);
        assert_eq!((roomy.capacity(), spares()), (0, before + 1));
        drop(take());
    }
}
