//! Requests queued on one connection and the matching of reply frames to
//! them, in order (and by opaque for binary).

use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use protocol::{Key, List, Response, Status};

use super::{DownRequest, Slot, State};
use crate::downstream::wire::{encode_ascii, encode_binary, with_wire_exptimes, Expect};
use crate::error::DownError;
use crate::topology::DownstreamProtocol;

/// One request on the connection, awaiting its reply frames.
pub(super) struct Pending {
    expect: Expect,
    frames: List<Response>,
    /// The keys of a multi-get: a GETKQ run's in opaque order; an ascii
    /// get's, the only keys its VALUE lines may name.
    keys: Option<Arc<[Key]>>,
    /// Where the next ascii VALUE's key is looked for first in `keys`
    /// (memcached answers in request order).
    next_key: usize,
    pub(super) slot: Rc<Slot>,
    /// When it times out (`None`: never).
    pub(super) deadline: Option<Instant>,
    /// Failed by its deadline; its reply, when it comes, is dropped.
    pub(super) expired: bool,
}

impl Pending {
    pub(super) fn new(
        expect: Expect,
        keys: Option<Arc<[Key]>>,
        slot: Rc<Slot>,
        deadline: Option<Instant>,
    ) -> Pending {
        Pending {
            expect,
            frames: List::new(),
            keys,
            next_key: 0,
            slot,
            deadline,
            expired: false,
        }
    }
}

/// Encodes `req` onto `wbuf`: what its reply looks like, and a binary
/// multi-get's keys. `None` (and `wbuf` unchanged) when the request has no
/// form in `protocol`.
pub(super) fn enqueue(
    req: DownRequest,
    protocol: DownstreamProtocol,
    opaque: &mut u32,
    wbuf: &mut BytesMut,
) -> Option<(Expect, Option<Arc<[Key]>>)> {
    let mark = wbuf.len();
    let req = with_wire_exptimes(req, protocol);
    let keys = match (&req, protocol) {
        (DownRequest::MultiGet { keys, .. }, _) => Some(keys.clone()),
        _ => None,
    };
    let expect = match protocol {
        DownstreamProtocol::Ascii => encode_ascii(&req, wbuf),
        DownstreamProtocol::Binary => encode_binary(req, opaque, wbuf),
    };
    match expect {
        Some(expect) => Some((expect, keys)),
        None => {
            wbuf.truncate(mark);
            None
        }
    }
}

/// A NOT_MY_VBUCKET inside a GETKQ run, renamed with the key whose GETKQ
/// (by opaque) it answers; any other frame unchanged.
fn name_refusal(keys: &[Key], first: u32, opaque: Option<u32>, frame: Response) -> Response {
    let Response::Status {
        status: Status::NotMyVbucket,
        ..
    } = frame
    else {
        return frame;
    };
    let index = opaque.map(|o| o.wrapping_sub(first) as usize);
    match index.and_then(|i| keys.get(i)) {
        Some(key) => Response::Status {
            status: Status::NotMyVbucket,
            message: key.0.clone(),
        },
        None => frame,
    }
}

/// Whether an ascii reply frame can answer the request at the head. ascii
/// replies carry no opaque: a server that answers twice, or answers
/// something else, would otherwise have every later reply on the
/// connection taken as the answer to the wrong request (another client's).
/// A get takes VALUE lines of its own keys, END, STAT (stats) or an error
/// line; any other request takes neither VALUE, END nor STAT.
fn ascii_fits(head: &mut Pending, frame: &Response) -> bool {
    match (head.expect, frame) {
        (Expect::UntilEnd, Response::Value(v)) => {
            let Some(keys) = head.keys.as_deref() else {
                return true;
            };
            let from = head.next_key.min(keys.len());
            let found = keys[from..]
                .iter()
                .position(|k| *k == v.key)
                .map(|i| from + i)
                .or_else(|| keys[..from].iter().position(|k| *k == v.key));
            found.inspect(|i| head.next_key = i + 1).is_some()
        }
        (
            Expect::UntilEnd,
            Response::Stored { .. }
            | Response::NotStored
            | Response::Exists
            | Response::NotFound
            | Response::Deleted
            | Response::Touched { .. }
            | Response::Numeric { .. },
        ) => false,
        (Expect::Single { .. }, Response::Value(_) | Response::End | Response::Stat { .. }) => {
            false
        }
        _ => true,
    }
}

/// Hands one reply frame to the request at the head of the queue. False
/// when the frame cannot belong to it (the connection is out of step).
pub(super) fn deliver(st: &mut State, opaque: Option<u32>, frame: Response) -> bool {
    let Some(head) = st.pending.front_mut() else {
        return false;
    };
    if opaque.is_none() && !ascii_fits(head, &frame) {
        return false;
    }
    let done = match head.expect {
        Expect::Single { opaque: want } => {
            if opaque.is_some_and(|o| o != want) {
                return false;
            }
            head.frames.push(frame);
            true
        }
        Expect::UntilEnd => {
            let end = !matches!(frame, Response::Value(_) | Response::Stat { .. });
            if !matches!(frame, Response::End) {
                head.frames.push(frame);
            }
            end
        }
        Expect::Run { first, last } => {
            // Only the run's own opaques (an extra reply to an earlier
            // request would otherwise pass as one of its hits).
            let in_run = |o: u32| o.wrapping_sub(first) <= last.wrapping_sub(first);
            if !opaque.is_some_and(in_run) {
                return false;
            }
            if opaque == Some(last) {
                true
            } else {
                head.frames.push(name_refusal(
                    head.keys.as_deref().unwrap_or(&[]),
                    first,
                    opaque,
                    frame,
                ));
                false
            }
        }
    };
    if done {
        if let Some(p) = st.pending.pop_front() {
            if !p.expired {
                p.slot.fill(Ok(p.frames));
            }
        }
    }
    true
}

/// Fails every request whose deadline is at or before `now` (they are at
/// the front: deadlines follow sending order, give or take a reload's new
/// timeout). True when any did: the connection is then retired.
pub(super) fn expire(st: &mut State, now: Instant) -> bool {
    let mut any = false;
    for p in st.pending.iter_mut() {
        if !p.expired && p.deadline.is_some_and(|d| d <= now) {
            p.expired = true;
            p.slot.fill(Err(DownError::Timeout));
            any = true;
        }
    }
    any
}

/// The earliest deadline of a request still waiting.
pub(super) fn next_deadline(st: &State) -> Option<Instant> {
    st.pending
        .iter()
        .filter(|p| !p.expired)
        .filter_map(|p| p.deadline)
        .min()
}
