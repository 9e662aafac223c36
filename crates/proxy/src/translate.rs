//! b2a translations that need more than one ascii command.

use bytes::Bytes;
use protocol::{Arith, Command, Key, Request, Response, Store, StoreMode};

use crate::downstream::DownRequest;
use crate::error::{failure_reply, ClientProtocol, DownError};
use crate::forward::send;
use crate::topology::Topology;

/// Binary incr/decr with an initial value, to an ascii server: ascii has no
/// "create if missing", so: incr; on NOT_FOUND, add the initial value; if
/// another client created it meanwhile (NOT_STORED), incr once more.
pub async fn arith_with_create(
    topo: &Topology,
    server: usize,
    affinity: usize,
    a: &Arith,
    client: ClientProtocol,
) -> Response {
    let host = topo.host(server);
    let plain = Arith {
        exptime: Arith::NO_CREATE,
        initial: 0,
        ..a.clone()
    };
    let first = one(topo, server, affinity, Command::Arith(plain.clone())).await;
    match first {
        Ok(Response::NotFound) => {}
        Ok(other) => return other,
        Err(e) => return failure_reply(&e, Some(host), client),
    }
    let add = Store {
        mode: StoreMode::Add,
        key: Key(a.key.0.clone()),
        flags: 0,
        exptime: a.exptime,
        value: Bytes::from(a.initial.to_string()),
        cas: 0,
    };
    match one(topo, server, affinity, Command::Store(add)).await {
        Ok(Response::Stored { cas }) => Response::Numeric {
            value: a.initial,
            cas,
        },
        Ok(Response::NotStored) => match one(topo, server, affinity, Command::Arith(plain)).await {
            Ok(r) => r,
            Err(e) => failure_reply(&e, Some(host), client),
        },
        Ok(other) => other,
        Err(e) => failure_reply(&e, Some(host), client),
    }
}

async fn one(
    topo: &Topology,
    server: usize,
    affinity: usize,
    cmd: Command,
) -> Result<Response, DownError> {
    let frames = send(topo, server, affinity, DownRequest::One(Request::new(cmd))).await?;
    frames.into_iter().next().ok_or(DownError::Protocol)
}
