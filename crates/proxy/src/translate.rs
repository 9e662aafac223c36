//! b2a translations: a binary client's keyed command sent to an ascii
//! server. Binary replies carry what ascii ones lack (the new CAS after a
//! store, the flags after a touch, create-on-miss for incr), so some
//! commands become two ascii commands pipelined on the same connection.
//! The CAS read back this way is the item's CAS a moment after the store:
//! another client's store in between would be reported instead (ascii
//! cannot do better).
//!
//! What ascii cannot say at all (a CAS on APPEND, PREPEND or INCR/DECR; a
//! key with a space or a control byte) fails to encode and is refused with
//! EINVAL; README, "What translation cannot say", lists every case.

use bytes::Bytes;
use futures_util::future::join;
use protocol::{
    binary, Arith, Command, ErrorKind, GetKind, Key, Request, Response, Status, Store, StoreMode,
    Value,
};

use crate::dispatch::{normalize, send};
use crate::downstream::DownRequest;
use crate::error::{failure_reply, ClientProtocol, DownError, Failure};
use crate::topology::Topology;

/// Binary incr/decr with an initial value, to an ascii server: ascii has no
/// "create if missing", so: incr; on NOT_FOUND, add the initial value; if
/// another client created it meanwhile (NOT_STORED), incr once more. Each
/// step reads the CAS back on the same connection.
pub async fn arith_with_create(
    topo: &Topology,
    server: usize,
    affinity: usize,
    a: &Arith,
    client: ClientProtocol,
) -> Response {
    let plain = Command::Arith(Arith {
        exptime: Arith::NO_CREATE,
        initial: 0,
        ..a.clone()
    });
    match with_cas(topo, server, affinity, plain.clone(), &a.key).await {
        Ok((Response::NotFound, _)) => {}
        Ok((other, cas)) => return binary_status(with_new_cas(other, cas)),
        Err(e) => return failure_reply(&e, client),
    }
    let add = Store {
        mode: StoreMode::Add,
        key: Key(a.key.0.clone()),
        flags: 0,
        exptime: a.exptime,
        value: Bytes::from(a.initial.to_string()),
        cas: 0,
    };
    let result = match with_cas(topo, server, affinity, Command::Store(add), &a.key).await {
        Ok((Response::Stored { .. }, cas)) => Ok((
            Response::Numeric {
                value: a.initial,
                cas: 0,
            },
            cas,
        )),
        Ok((Response::NotStored, _)) => with_cas(topo, server, affinity, plain, &a.key).await,
        other => other,
    };
    match result {
        Ok((r, cas)) => binary_status(with_new_cas(r, cas)),
        Err(e) => failure_reply(&e, client),
    }
}

/// memcached's ascii error lines that have a binary status of their own
/// (the statuses a binary server would have answered with).
fn binary_status(r: Response) -> Response {
    let status = match &r {
        Response::Error(ErrorKind::Server(m)) if &m[..] == b"object too large for cache" => {
            Status::ValueTooLarge
        }
        Response::Error(ErrorKind::Server(m)) if &m[..] == b"out of memory storing object" => {
            Status::OutOfMemory
        }
        Response::Error(ErrorKind::Client(m))
            if &m[..] == b"cannot increment or decrement non-numeric value" =>
        {
            Status::NonNumeric
        }
        _ => return r,
    };
    binary::status_response(status)
}

/// Sends `cmd` and a `gets` of `key` right behind it on the same connection.
async fn with_cas(
    topo: &Topology,
    server: usize,
    affinity: usize,
    cmd: Command,
    key: &Key,
) -> Result<(Response, Option<u64>), DownError> {
    let gets = DownRequest::MultiGet {
        kind: GetKind::Gets,
        exptime: 0,
        keys: std::sync::Arc::from([key.clone()]),
        vbuckets: Vec::new(),
    };
    let (first, read) = join(
        one(topo, server, affinity, cmd),
        send(topo, server, affinity, gets),
    )
    .await;
    let cas = read.ok().and_then(|frames| {
        frames.into_iter().find_map(|f| match f {
            Response::Value(v) => Some(v.cas),
            _ => None,
        })
    });
    Ok((first?, cas))
}

fn with_new_cas(r: Response, cas: Option<u64>) -> Response {
    match r {
        Response::Stored { .. } => Response::Stored {
            cas: cas.unwrap_or(0),
        },
        Response::Numeric { value, .. } => Response::Numeric {
            value,
            cas: cas.unwrap_or(0),
        },
        other => other,
    }
}

async fn one(
    topo: &Topology,
    server: usize,
    affinity: usize,
    cmd: Command,
) -> Result<Response, DownError> {
    let frames = send(topo, server, affinity, DownRequest::One(Request::new(cmd))).await?;
    frames
        .into_iter()
        .next()
        .ok_or(DownError::new(Failure::Protocol))
}

/// A binary client's store, arith, delete or touch, to an ascii server.
pub async fn binary_to_ascii(
    topo: &Topology,
    server: usize,
    affinity: usize,
    req: &Request,
    key: &Key,
) -> Response {
    let client = ClientProtocol::Binary;
    match &req.command {
        Command::Arith(a) if a.creates() => {
            return arith_with_create(topo, server, affinity, a, client).await
        }
        Command::Touch { exptime, .. } => {
            let gats = DownRequest::MultiGet {
                kind: GetKind::Gats,
                exptime: *exptime,
                keys: std::sync::Arc::from([key.clone()]),
                vbuckets: Vec::new(),
            };
            return match send(topo, server, affinity, gats).await {
                Ok(frames) => touched(frames, key),
                Err(e) => failure_reply(&e, client),
            };
        }
        Command::Delete { key, cas } if *cas != 0 => {
            return delete_with_cas(topo, server, affinity, key, *cas).await;
        }
        Command::Delete { .. } => {
            return match one(topo, server, affinity, req.command.clone()).await {
                Ok(r) => r,
                Err(e) => failure_reply(&e, client),
            };
        }
        _ => {}
    }
    let command = match &req.command {
        // memcached checks an ADD's CAS before anything else, so a binary
        // ADD with a CAS acts as `cas` (EXISTS, NOT_FOUND or stored).
        Command::Store(s) if s.mode == StoreMode::Add && s.cas != 0 => Command::Store(Store {
            mode: StoreMode::Cas,
            ..s.clone()
        }),
        other => other.clone(),
    };
    // Store or arith, then `gets` for the CAS, both on one connection.
    match with_cas(topo, server, affinity, command.clone(), key).await {
        Ok((r, cas)) => binary_status(normalize(&command, with_new_cas(r, cas))),
        Err(e) => failure_reply(&e, client),
    }
}

/// A binary DELETE with a CAS: ascii has no `delete` with a CAS, so the
/// item is replaced, only if its CAS still matches, by an empty one that
/// has already expired: `cas <key> 0 -1 0 <cas>` (memcached reads a
/// negative exptime as expired at once, proto_text.c). Atomic like
/// memcached's own check; the answers are memcached's: deleted, EXISTS or
/// NOT_FOUND. Unlike a delete, the server counts a cas, and the empty item
/// holds its memory until memcached reclaims it.
async fn delete_with_cas(
    topo: &Topology,
    server: usize,
    affinity: usize,
    key: &Key,
    cas: u64,
) -> Response {
    let expired = Store {
        mode: StoreMode::Cas,
        key: key.clone(),
        flags: 0,
        exptime: -1,
        value: Bytes::new(),
        cas,
    };
    match one(topo, server, affinity, Command::Store(expired)).await {
        Ok(Response::Stored { .. }) => Response::Deleted,
        Ok(other) => binary_status(other),
        Err(e) => failure_reply(&e, ClientProtocol::Binary),
    }
}

fn touched(frames: protocol::List<Response>, key: &Key) -> Response {
    for f in frames {
        match f {
            Response::Value(v) => {
                return Response::Value(Value {
                    key: key.clone(),
                    flags: v.flags,
                    cas: v.cas,
                    data: Bytes::new(),
                })
            }
            Response::End => {}
            other => return other,
        }
    }
    Response::NotFound
}
