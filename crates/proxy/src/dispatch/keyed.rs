//! Requests routed by key: one key to its server, and ascii multi-gets
//! split per server and merged in the request's key order.
//!
//! In vBucket pools every binary request carries its key's vBucket id, and
//! a NOT_MY_VBUCKET reply (status 0x0007) moves the vBucket in the
//! topology's map (the forward map's master if there is one, else the next
//! server) and re-sends, up to twice the number of servers (behaviour
//! inventory 5.6). A multi-get re-sends only the keys refused; the others'
//! hits are kept, so each hit is returned once.

use std::sync::Arc;

use foldhash::{HashMap, HashMapExt};
use futures_util::future::join_all;
use protocol::{Command, Get, GetKind, Key, Request, Response, Status, StoreMode, Value};

use crate::dispatch::{normalize, send};
use crate::downstream::{DownRequest, DownResult};
use crate::error::{failure_reply, ClientProtocol, DownError, Failure};
use crate::topology::{DownstreamProtocol, Topology};

/// The outcome of [`send_for_key`]: the server last asked (`None` when the
/// key has no server) and its reply.
pub struct Sent {
    /// Index of the server that answered (or failed).
    pub server: Option<usize>,
    /// Its reply frames, or why there are none.
    pub result: DownResult,
}

fn is_not_my_vbucket(frames: &[Response]) -> bool {
    matches!(
        frames.first(),
        Some(Response::Status {
            status: Status::NotMyVbucket,
            ..
        })
    )
}

/// Sends `down` (one key's request) to the key's server with the key's
/// vBucket id, re-sending after NOT_MY_VBUCKET as moxi does.
pub async fn send_for_key(
    topo: &Topology,
    key: &[u8],
    affinity: usize,
    mut down: DownRequest,
) -> Sent {
    let mut retries = 0;
    loop {
        let Some(target) = topo.locate(key) else {
            return Sent {
                server: None,
                result: Err(DownError::new(Failure::Connect)),
            };
        };
        let server = Some(target.server);
        let Some(vb) = target.vbucket else {
            // Hashed pools never retry here: no copy kept.
            let result = send(topo, target.server, affinity, down).await;
            return Sent { server, result };
        };
        match &mut down {
            DownRequest::One(r) => r.vbucket = vb,
            DownRequest::MultiGet { vbuckets, .. } => *vbuckets = vec![vb],
        }
        let result = send(topo, target.server, affinity, down.clone()).await;
        let refused = matches!(&result, Ok(frames) if is_not_my_vbucket(frames));
        if refused && retries < topo.vbucket_retry_limit() {
            retries += 1;
            topo.not_my_vbucket(vb, target.server);
            topo.bump(|s| &s.tot_retry);
            topo.bump(|s| &s.tot_retry_vbucket);
            continue;
        }
        return Sent { server, result };
    }
}

/// The key a keyed command names.
pub fn command_key(cmd: &Command) -> Option<&Key> {
    match cmd {
        Command::Store(s) => Some(&s.key),
        Command::Arith(a) => Some(&a.key),
        Command::Delete { key, .. } | Command::Touch { key, .. } => Some(key),
        Command::Get(g) => g.keys.first(),
        _ => None,
    }
}

/// Store, arith, delete, touch: forwarded to the key's server.
pub async fn forward_command(
    topo: &Topology,
    req: &Request,
    client: ClientProtocol,
    affinity: usize,
) -> Response {
    let Some(key) = command_key(&req.command) else {
        return Response::Error(protocol::ErrorKind::UnknownCommand);
    };
    if topo.protocol == DownstreamProtocol::Ascii && client == ClientProtocol::Binary {
        return match topo.locate(key.as_bytes()) {
            Some(t) => crate::translate::binary_to_ascii(topo, t.server, affinity, req, key).await,
            None => failure_reply(&DownError::new(Failure::Connect), client),
        };
    }
    if is_cas_unique_zero(topo, &req.command) {
        return cas_unique_zero(topo, key, affinity, client).await;
    }
    let mut down = req.clone();
    down.quiet = false;
    // b2b TOUCH: memcached's reply carries the item's flags, which the
    // model's `Touched` cannot hold. GAT returns them (with the value, which
    // is dropped), so the client gets memcached's exact TOUCH reply.
    let b2b_touch = match (&req.command, client) {
        (Command::Touch { key, exptime }, ClientProtocol::Binary) => {
            down.command = Command::Get(Get {
                kind: GetKind::Gat,
                keys: key.clone().into(),
                exptime: *exptime,
                with_key: false,
            });
            true
        }
        _ => false,
    };
    let sent = send_for_key(topo, key.as_bytes(), affinity, DownRequest::One(down)).await;
    if b2b_touch {
        if let Ok(frames) = &sent.result {
            if let Some(Response::Value(v)) = frames.first() {
                return Response::Value(Value {
                    key: key.clone(),
                    flags: v.flags,
                    cas: v.cas,
                    data: bytes::Bytes::new(),
                });
            }
        }
    }
    let at = sent.server.map(|s| (topo, s));
    one_reply(&req.command, sent.result, at, client)
}

/// True for an ascii `cas` with CAS unique 0 to a binary server. Binary
/// reads CAS 0 as "no CAS" and would store unconditionally; memcached
/// compares it with the item's CAS, which is never 0, so it stores nothing
/// (`do_store_item`, memcached.c). A server run with `-C` (no CAS) would
/// store it; that server's items all have CAS 0, and we answer EXISTS.
pub fn is_cas_unique_zero(topo: &Topology, cmd: &Command) -> bool {
    let cas_zero = matches!(cmd, Command::Store(s) if s.mode == StoreMode::Cas && s.cas == 0);
    cas_zero && topo.protocol == DownstreamProtocol::Binary
}

/// memcached's answer to `cas` with CAS unique 0, read with a GET that
/// changes nothing: EXISTS when the item is there, NOT_FOUND when not.
async fn cas_unique_zero(
    topo: &Topology,
    key: &Key,
    affinity: usize,
    client: ClientProtocol,
) -> Response {
    let get = Command::Get(Get {
        kind: GetKind::Get,
        keys: key.clone().into(),
        exptime: 0,
        with_key: false,
    });
    let down = DownRequest::One(Request::new(get.clone()));
    let sent = send_for_key(topo, key.as_bytes(), affinity, down).await;
    let at = sent.server.map(|s| (topo, s));
    match one_reply(&get, sent.result, at, client) {
        Response::Value(_) => Response::Exists,
        Response::End => Response::NotFound,
        // A failure's reply (moxi's SERVER_ERROR line, or a binary status).
        other => other,
    }
}

/// The client's reply to a keyed command from the `result` of the server
/// `at` (topology and index; `None` when the key had no server): normalised
/// to the command, or moxi's failure line naming the server.
pub fn one_reply(
    cmd: &Command,
    result: DownResult,
    at: Option<(&Topology, usize)>,
    client: ClientProtocol,
) -> Response {
    match result {
        Ok(frames) => match frames.into_iter().next() {
            Some(f) => normalize(cmd, f),
            None => {
                let mut e = DownError::new(Failure::Protocol);
                if let Some((topo, server)) = at {
                    e = e.at(|| topo.name(server));
                }
                failure_reply(&e, client)
            }
        },
        Err(e) => failure_reply(&e, client),
    }
}

/// A binary GET-family request: one key.
pub async fn binary_get(topo: &Topology, get: &Get, affinity: usize) -> Vec<Response> {
    let Some(key) = get.keys.first() else {
        return vec![Response::End];
    };
    let down = match topo.protocol {
        DownstreamProtocol::Binary => DownRequest::One(Request::new(Command::Get(get.clone()))),
        // b2a: ascii gets/gats, because binary replies always carry the CAS.
        DownstreamProtocol::Ascii => DownRequest::MultiGet {
            kind: if get.kind.touches() {
                GetKind::Gats
            } else {
                GetKind::Gets
            },
            exptime: get.exptime,
            keys: std::sync::Arc::from([key.clone()]),
            vbuckets: Vec::new(),
        },
    };
    let sent = send_for_key(topo, key.as_bytes(), affinity, down).await;
    match sent.result {
        Ok(frames) => {
            let hit = frames.into_iter().find_map(|f| match f {
                Response::Value(mut v) => {
                    v.key = key.clone();
                    Some(Response::Value(v))
                }
                Response::End => None,
                other => Some(other),
            });
            vec![hit.unwrap_or(Response::End)]
        }
        // moxi turns failures into misses for ascii `get` only; binary
        // clients get the error status (EBUSY for a timeout), quiet or not.
        Err(e) => vec![failure_reply(&e, ClientProtocol::Binary)],
    }
}

/// One round of a multi-get: for each server (by index), the distinct keys
/// it is asked for (numbers into [`Distinct::keys`]) and their vBuckets.
type Groups = Vec<(Vec<u32>, Vec<u16>)>;

/// A multi-get's distinct keys: each key once, in first-seen order, and
/// for each key of the request the number of its distinct key.
struct Distinct<'a> {
    keys: Vec<&'a Key>,
    of: Vec<u32>,
}

impl<'a> Distinct<'a> {
    fn new(keys: &'a [Key]) -> Self {
        // foldhash, not SipHash: this map lives for one request, and
        // SipHash over a hundred keys was a tenth of a multi-get's cost.
        let mut first: HashMap<&Key, u32> = HashMap::with_capacity(keys.len());
        let mut distinct = Distinct {
            keys: Vec::with_capacity(keys.len()),
            of: Vec::with_capacity(keys.len()),
        };
        for key in keys {
            let next = distinct.keys.len() as u32;
            let d = *first.entry(key).or_insert(next);
            if d == next {
                distinct.keys.push(key);
            }
            distinct.of.push(d);
        }
        distinct
    }
}

/// A multi-get's first failure, as the ascii line that replaces `END` in
/// vBucket pools.
type FirstFailure = Option<Response>;

fn note(failure: &mut FirstFailure, e: &DownError) {
    if failure.is_none() {
        *failure = Some(failure_reply(e, ClientProtocol::Ascii));
    }
}

/// ascii get/gets/gat/gats: distinct keys grouped per server, one request
/// per server, hits written once per occurrence in the request's key order.
/// A failed server's keys read as misses in hashed pools (moxi); in vBucket
/// pools the failure line replaces the `END` after the hits.
pub async fn multi_get(topo: &Topology, get: &Get, affinity: usize) -> Vec<Response> {
    if let ([key], false) = (&get.keys[..], topo.is_vbucket()) {
        return ascii_one_key_get(topo, get, key, affinity).await;
    }
    let distinct = Distinct::new(&get.keys);
    let mut todo: Vec<u32> = (0..distinct.keys.len() as u32).collect();
    topo.runtime
        .add(get.keys.len() as u64, |s| &s.tot_multiget_keys);
    let repeats = (get.keys.len() - todo.len()) as u64;
    topo.runtime.add(repeats, |s| &s.tot_multiget_keys_dedupe);
    let mut hits: Vec<Option<Value>> = Vec::new();
    hits.resize_with(todo.len(), || None);
    let mut failure: FirstFailure = None;
    let mut retries = 0;
    while !todo.is_empty() {
        let groups = group(topo, &distinct, todo, &mut failure);
        let round = (&distinct, groups, &mut hits[..], &mut failure);
        let refused = fetch(topo, get, affinity, round).await;
        if refused.is_empty() {
            break;
        }
        if retries >= topo.vbucket_retry_limit() {
            // Still refused after every retry: those keys read as misses,
            // and the client sees why.
            failure = failure.or(Some(protocol::binary::status_response(
                Status::NotMyVbucket,
            )));
            break;
        }
        retries += 1;
        topo.bump(|s| &s.tot_retry);
        topo.bump(|s| &s.tot_retry_vbucket);
        todo = refused;
    }
    let mut out: Vec<Response> = Vec::with_capacity(hits.len() + 1);
    for &d in &distinct.of {
        // A key asked once moves its hit out; a repeated one copies it.
        let hit = &mut hits[d as usize];
        let hit = if repeats == 0 {
            hit.take()
        } else {
            hit.clone()
        };
        out.extend(hit.map(Response::Value));
    }
    match failure {
        Some(line) if topo.is_vbucket() => out.push(line),
        _ => out.push(Response::End),
    }
    out
}

/// The common case, a one-key ascii get in a hashed pool, without the
/// grouping and de-duplication tables. Same replies as the general path: a
/// failed server reads as a miss. A binary server is sent one loud GETK (or
/// GATK) rather than a GETKQ run closed by a NOOP: one frame each way.
async fn ascii_one_key_get(
    topo: &Topology,
    get: &Get,
    key: &Key,
    affinity: usize,
) -> Vec<Response> {
    let mut out = Vec::with_capacity(2);
    if let Some(t) = topo.locate(key.as_bytes()) {
        let result = send(topo, t.server, affinity, one_key_get_request(topo, get)).await;
        out.extend(one_key_hit(result, key));
    }
    out.push(Response::End);
    out
}

/// The request for a one-key ascii get (`get.keys` holds the key): one
/// loud GETK (GATK) to a binary server, `get`/`gets`/`gat`/`gats` to an
/// ascii one.
pub fn one_key_get_request(topo: &Topology, get: &Get) -> DownRequest {
    match topo.protocol {
        DownstreamProtocol::Binary => DownRequest::One(Request::new(Command::Get(Get {
            kind: get.kind,
            keys: get.keys.clone(),
            exptime: get.exptime,
            with_key: true,
        }))),
        DownstreamProtocol::Ascii => DownRequest::MultiGet {
            kind: get.kind,
            exptime: get.exptime,
            keys: get.keys[..].into(),
            vbuckets: Vec::new(),
        },
    }
}

/// The hit for `key` in a one-key get's `result`; a failure reads as a
/// miss, as moxi's ascii gets do.
pub fn one_key_hit(result: DownResult, key: &Key) -> Option<Response> {
    result.ok()?.into_iter().find_map(|f| match f {
        Response::Value(v) if v.key == *key => Some(Response::Value(v)),
        _ => None,
    })
}

fn group(
    topo: &Topology,
    distinct: &Distinct<'_>,
    todo: Vec<u32>,
    failure: &mut FirstFailure,
) -> Groups {
    let mut groups: Groups = std::iter::repeat_with(Default::default)
        .take(topo.servers.len())
        .collect();
    for d in todo {
        let placed = topo
            .locate(distinct.keys[d as usize].as_bytes())
            .and_then(|t| Some((groups.get_mut(t.server)?, t.vbucket)));
        match placed {
            Some(((keys, vbuckets), vbucket)) => {
                keys.push(d);
                if let Some(vb) = vbucket {
                    vbuckets.push(vb);
                }
            }
            None => note(failure, &DownError::new(Failure::Connect)),
        }
    }
    groups
}

/// One round of a multi-get: the keys, what to ask each server, where
/// hits go, and the failure to report.
type Round<'r, 'k> = (
    &'r Distinct<'k>,
    Groups,
    &'r mut [Option<Value>],
    &'r mut FirstFailure,
);

/// Sends one round; collects hits and returns the keys refused with
/// NOT_MY_VBUCKET, after moving their vBuckets. A server's failure is
/// noted for the reply and its keys read as misses.
async fn fetch(topo: &Topology, get: &Get, affinity: usize, round: Round<'_, '_>) -> Vec<u32> {
    let (distinct, groups, hits, failure) = round;
    let requests = groups
        .into_iter()
        .enumerate()
        .filter(|(_, (asked, _))| !asked.is_empty())
        .map(|(server, (asked, vbuckets))| {
            let keys: Arc<[Key]> = asked
                .iter()
                .map(|&d| distinct.keys[d as usize].clone())
                .collect();
            let down = DownRequest::MultiGet {
                kind: get.kind,
                exptime: get.exptime,
                keys: keys.clone(),
                vbuckets: vbuckets.clone(),
            };
            async move {
                let result = send(topo, server, affinity, down).await;
                (server, asked, keys, vbuckets, result)
            }
        });
    let mut refused = Vec::new();
    for (server, asked, keys, vbuckets, result) in join_all(requests).await {
        let frames = match result {
            Ok(frames) => frames,
            Err(e) => {
                note(failure, &e);
                continue;
            }
        };
        let mut matcher = Matcher::new(&keys);
        for f in frames {
            match f {
                Response::Value(v) => {
                    if let Some(j) = matcher.find(&v.key) {
                        hits[asked[j] as usize] = Some(v);
                    }
                }
                Response::Status {
                    status: Status::NotMyVbucket,
                    message,
                } => {
                    let key = Key(message);
                    if let Some(j) = keys.iter().position(|k| *k == key) {
                        if let Some(&vb) = vbuckets.get(j) {
                            topo.not_my_vbucket(vb, server);
                            refused.push(asked[j]);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    refused
}

/// Finds each hit's key among the keys asked of one server. Servers answer
/// in the order asked, skipping misses, so a cursor finds each in turn; a
/// server that answers out of order is looked up in a map built then.
struct Matcher<'a> {
    keys: &'a [Key],
    at: usize,
    map: Option<HashMap<&'a Key, usize>>,
}

impl<'a> Matcher<'a> {
    fn new(keys: &'a [Key]) -> Self {
        Matcher {
            keys,
            at: 0,
            map: None,
        }
    }

    fn find(&mut self, key: &Key) -> Option<usize> {
        if self.map.is_none() {
            if let Some(j) = self.keys[self.at..].iter().position(|k| k == key) {
                self.at += j + 1;
                return Some(self.at - 1);
            }
            let map = self.keys.iter().enumerate().map(|(j, k)| (k, j)).collect();
            self.map = Some(map);
        }
        self.map.as_ref()?.get(key).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(names: &[&str]) -> Vec<Key> {
        names
            .iter()
            .map(|n| Key(bytes::Bytes::copy_from_slice(n.as_bytes())))
            .collect()
    }

    #[test]
    fn distinct_numbers_each_key_by_its_first_occurrence() {
        let asked = keys(&["a", "b", "a", "c", "b"]);
        let d = Distinct::new(&asked);
        assert_eq!(
            d.keys,
            asked[..2].iter().chain([&asked[3]]).collect::<Vec<_>>()
        );
        assert_eq!(d.of, [0, 1, 0, 2, 1]);
    }

    #[test]
    fn matcher_finds_hits_in_order_with_misses_skipped() {
        let asked = keys(&["a", "b", "c", "d"]);
        let mut m = Matcher::new(&asked);
        assert_eq!(m.find(&asked[1]), Some(1));
        assert_eq!(m.find(&asked[3]), Some(3));
        assert!(m.map.is_none(), "in-order replies need no map");
    }

    #[test]
    fn matcher_falls_back_to_a_map_for_out_of_order_and_unknown_keys() {
        let asked = keys(&["a", "b", "c"]);
        let mut m = Matcher::new(&asked);
        assert_eq!(m.find(&asked[2]), Some(2));
        assert_eq!(m.find(&asked[0]), Some(0));
        assert_eq!(m.find(&asked[1]), Some(1));
        assert_eq!(m.find(&keys(&["zz"])[0]), None);
    }
}
