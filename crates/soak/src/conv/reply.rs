//! What a reply frame means to a client: a hit, a write outcome, a
//! failure a fault explains, or memcached's non-numeric refusal.

use bytes::Bytes;
use protocol::{ErrorKind, Response, Status};

use crate::check::{Hit, Outcome, Write};
use crate::ops::Protocol;

pub(super) fn hit_of(v: &protocol::Value) -> Hit {
    Hit {
        flags: v.flags,
        cas: v.cas,
        data: v.data.clone(),
    }
}

/// The error kind of a reply that reports a failure a fault explains.
pub fn failure(protocol: Protocol, resp: &Response) -> Option<String> {
    let text = |b: &Bytes| String::from_utf8_lossy(b).into_owned();
    match (protocol, resp) {
        (Protocol::Ascii, Response::Error(ErrorKind::Server(t))) => {
            Some(format!("SERVER_ERROR {}", text(t)))
        }
        (Protocol::Binary, Response::Error(ErrorKind::Server(t))) => {
            Some(format!("binary InternalError {}", text(t)))
        }
        (
            Protocol::Binary,
            Response::Status {
                status: s @ (Status::Busy | Status::TemporaryFailure | Status::OutOfMemory),
                message,
            },
        ) => Some(format!("binary {s:?} {}", text(message))),
        _ => None,
    }
}

/// memcached's refusal of an incr/decr on a value it cannot read as a number.
pub(super) fn is_non_numeric(resp: &Response) -> bool {
    match resp {
        Response::Status {
            status: Status::NonNumeric,
            ..
        } => true,
        Response::Error(ErrorKind::Client(t)) => t.as_ref() == NON_NUMERIC,
        _ => false,
    }
}

/// memcached's text for [`is_non_numeric`].
const NON_NUMERIC: &[u8] = b"cannot increment or decrement non-numeric value";

/// A write's reply in the model's terms (`None`: not a write reply).
pub(super) fn outcome(resp: &Response, write: &Write) -> Option<Outcome> {
    Some(match resp {
        Response::Stored { cas } => Outcome::Stored(*cas),
        Response::NotStored => Outcome::NotStored,
        Response::Exists => Outcome::Exists,
        Response::NotFound => Outcome::NotFound,
        // A binary TOUCH miss decodes like a GET miss.
        Response::End if *write == Write::Touch => Outcome::NotFound,
        Response::Deleted => Outcome::Deleted,
        Response::Touched { cas } => Outcome::Touched(*cas),
        Response::Numeric { value, cas } => Outcome::Numeric(*value, *cas),
        _ => return None,
    })
}
