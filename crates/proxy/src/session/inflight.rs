//! A client's requests in flight, in request order: reply futures (the
//! general path) and direct-lane requests ([`crate::dispatch::direct`]), which are
//! plain data waiting for their reply slot. Replies come out strictly in
//! request order whatever order the servers answer in.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use futures_util::stream::{FuturesOrdered, StreamExt};

use crate::dispatch::direct::Direct;
use crate::dispatch::Reply;
use crate::downstream::DownResult;

/// The future of a request on the general path.
pub(super) type ReplyFuture = Pin<Box<dyn Future<Output = Reply>>>;

enum Entry {
    /// The next of `general`'s futures.
    General,
    Direct(Direct),
}

/// The answer to the oldest request in flight. (It lives only from the
/// queue to the write buffer; boxing the large variant would cost an
/// allocation per request.)
#[allow(clippy::large_enum_variant)]
pub(super) enum Answer {
    Reply(Reply),
    Direct(Direct, DownResult),
}

impl Answer {
    /// Appends the client's reply to `wbuf`; true when it ends the connection.
    pub(super) fn write(self, wbuf: &mut BytesMut) -> bool {
        match self {
            Answer::Reply(r) => {
                wbuf.extend_from_slice(&r.bytes);
                r.close
            }
            Answer::Direct(d, result) => {
                d.finish(result, wbuf);
                false
            }
        }
    }
}

/// Requests in flight, oldest first.
pub(super) struct InFlight {
    order: VecDeque<Entry>,
    /// The general path's futures, in their order in `order`.
    general: FuturesOrdered<ReplyFuture>,
    /// General replies that finished while a direct request before them
    /// still waited.
    done: VecDeque<Reply>,
}

impl InFlight {
    pub(super) fn new() -> InFlight {
        InFlight {
            order: VecDeque::new(),
            general: FuturesOrdered::new(),
            done: VecDeque::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.order.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// No general-path future is still pending (one that is may not have
    /// sent its request downstream yet).
    pub(super) fn general_idle(&self) -> bool {
        self.general.is_empty()
    }

    pub(super) fn push_future(&mut self, f: ReplyFuture) {
        self.order.push_back(Entry::General);
        self.general.push_back(f);
    }

    pub(super) fn push_direct(&mut self, d: Direct) {
        self.order.push_back(Entry::Direct(d));
    }

    /// The answer to the oldest request, once it is in.
    pub(super) fn next(&mut self) -> impl Future<Output = Answer> + '_ {
        poll_fn(move |cx| self.poll_answer(cx))
    }

    fn poll_answer(&mut self, cx: &mut Context<'_>) -> Poll<Answer> {
        // General futures make progress only when polled, wherever they are.
        while let Poll::Ready(Some(r)) = self.general.poll_next_unpin(cx) {
            self.done.push_back(r);
        }
        // A direct request needs no polling until it is the oldest: its
        // reply lands in its slot meanwhile.
        let answer = match self.order.front_mut() {
            None => return Poll::Pending,
            Some(Entry::General) => match self.done.pop_front() {
                Some(r) => Answer::Reply(r),
                None => return Poll::Pending,
            },
            Some(Entry::Direct(d)) => match d.poll_result(cx) {
                Poll::Ready(result) => match self.order.pop_front() {
                    Some(Entry::Direct(d)) => return Poll::Ready(Answer::Direct(d, result)),
                    _ => return Poll::Pending,
                },
                Poll::Pending => return Poll::Pending,
            },
        };
        self.order.pop_front();
        Poll::Ready(answer)
    }
}
