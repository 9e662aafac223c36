//! The bytes of a downstream request, and what its reply looks like: the
//! encoders behind [`crate::downstream`]'s writer.

use bytes::BytesMut;
use protocol::{ascii, binary, Command, Get, GetKind, Request, REALTIME_MAXDELTA};

use crate::downstream::DownRequest;
use crate::topology::DownstreamProtocol;

/// How the reply to one request ends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Expect {
    /// One frame.
    Single {
        /// The request's opaque.
        opaque: u32,
    },
    /// Frames until `End` (ascii get and stats, binary stats).
    UntilEnd,
    /// A binary GETKQ run: frames until the reply whose opaque is `last`
    /// (the NOOP); the GETKQs had opaques `first..last`.
    Run {
        /// The first GETKQ's opaque.
        first: u32,
        /// The NOOP's opaque.
        last: u32,
    },
}

/// Rewrites exptimes the downstream protocol cannot carry as they are.
/// ascii → binary: memcached's text protocol treats a negative exptime as
/// `REALTIME_MAXDELTA + 1`, an absolute time in 1970, i.e. already expired
/// (`EXPTIME_TO_POSITIVE_TIME`, proto_text.c); binary has no negative
/// exptimes, so a binary server is sent that value. binary → ascii: an
/// ascii server truncates an exptime above `i32::MAX` to a negative int32
/// and expires the item at once; the nearest it can take is `i32::MAX`.
/// A `flush_all` delay is like an exptime, except that memcached's ascii
/// `flush_all -1` flushes at once, as a delay of 0 does (proto_text.c).
pub(crate) fn with_wire_exptimes(req: DownRequest, protocol: DownstreamProtocol) -> DownRequest {
    let fix = |exptime: i64| match protocol {
        DownstreamProtocol::Binary if exptime < 0 => REALTIME_MAXDELTA + 1,
        DownstreamProtocol::Ascii => exptime.min(i64::from(i32::MAX)),
        DownstreamProtocol::Binary => exptime,
    };
    match req {
        DownRequest::One(mut r) => {
            match &mut r.command {
                Command::Store(s) => s.exptime = fix(s.exptime),
                Command::Get(g) => g.exptime = fix(g.exptime),
                Command::Touch { exptime, .. } => *exptime = fix(*exptime),
                Command::FlushAll { delay } => *delay = fix((*delay).max(0)),
                _ => {}
            }
            DownRequest::One(r)
        }
        DownRequest::MultiGet {
            kind,
            exptime,
            keys,
            vbuckets,
        } => DownRequest::MultiGet {
            kind,
            exptime: fix(exptime),
            keys,
            vbuckets,
        },
    }
}

pub(crate) fn encode_ascii(req: &DownRequest, wbuf: &mut BytesMut) -> Option<Expect> {
    match req {
        DownRequest::One(r) => {
            let mut r = r.clone();
            r.quiet = false;
            ascii::encode_request(&r, wbuf).ok()?;
            Some(match r.command {
                Command::Get(_) | Command::Stats { .. } => Expect::UntilEnd,
                _ => Expect::Single { opaque: 0 },
            })
        }
        DownRequest::MultiGet {
            kind,
            exptime,
            keys,
            ..
        } => {
            let get = Get {
                kind: *kind,
                keys: keys.to_vec().into(),
                exptime: *exptime,
                with_key: true,
            };
            ascii::encode_request(&Request::new(Command::Get(get)), wbuf).ok()?;
            Some(Expect::UntilEnd)
        }
    }
}

pub(crate) fn encode_binary(
    req: DownRequest,
    opaque: &mut u32,
    wbuf: &mut BytesMut,
) -> Option<Expect> {
    // The opaque the first frame written here gets.
    let first = opaque.wrapping_add(1);
    let mut next = || {
        *opaque = opaque.wrapping_add(1);
        *opaque
    };
    match req {
        DownRequest::One(mut r) => {
            r.quiet = false;
            r.opaque = next();
            binary::encode_request(&r, wbuf).ok()?;
            Some(match r.command {
                Command::Stats { .. } => Expect::UntilEnd,
                _ => Expect::Single { opaque: r.opaque },
            })
        }
        DownRequest::MultiGet {
            kind,
            exptime,
            keys,
            vbuckets,
        } => {
            let kind = if kind.touches() {
                GetKind::Gat
            } else {
                GetKind::Get
            };
            // One request, re-keyed for each GETKQ (no list per key).
            let mut r = Request {
                command: Command::Get(Get {
                    kind,
                    keys: protocol::Keys::new(),
                    exptime,
                    with_key: true,
                }),
                quiet: true,
                opaque: 0,
                vbucket: 0,
            };
            for (i, key) in keys.iter().enumerate() {
                if let Command::Get(get) = &mut r.command {
                    get.keys.clear();
                    get.keys.push(key.clone());
                }
                r.opaque = next();
                r.vbucket = vbuckets.get(i).copied().unwrap_or(0);
                binary::encode_request(&r, wbuf).ok()?;
            }
            let noop = Request {
                command: Command::Noop,
                quiet: false,
                opaque: next(),
                vbucket: 0,
            };
            binary::encode_request(&noop, wbuf).ok()?;
            Some(Expect::Run {
                first,
                last: noop.opaque,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Request;

    fn flushed_with(delay: i64, protocol: DownstreamProtocol) -> i64 {
        let req = DownRequest::One(Request::new(Command::FlushAll { delay }));
        match with_wire_exptimes(req, protocol) {
            DownRequest::One(Request {
                command: Command::FlushAll { delay },
                ..
            }) => delay,
            _ => unreachable!("a flush_all stays a flush_all"),
        }
    }

    #[test]
    fn a_negative_flush_delay_flushes_now_on_either_protocol() {
        for protocol in [DownstreamProtocol::Ascii, DownstreamProtocol::Binary] {
            assert_eq!(flushed_with(-1, protocol), 0);
            assert_eq!(flushed_with(0, protocol), 0);
            assert_eq!(flushed_with(10, protocol), 10);
        }
        let far = i64::from(u32::MAX);
        assert_eq!(flushed_with(far, DownstreamProtocol::Binary), far);
        assert_eq!(
            flushed_with(far, DownstreamProtocol::Ascii),
            i64::from(i32::MAX)
        );
    }
}
