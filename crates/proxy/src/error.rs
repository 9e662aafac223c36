//! Why a downstream request failed, and the one place where a failure
//! becomes the reply a client sees (moxi's strings, section 5.5 of the
//! behaviour inventory).

use bytes::Bytes;
use protocol::{ErrorKind, Response, Status};

use crate::topology::Unserved;

/// A downstream failure. Every variant is safe to report; none is retried
/// blindly because a write may already have reached the server.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DownError {
    /// connect() failed or timed out.
    #[error("connect failed")]
    Connect,
    /// Writing the request failed.
    #[error("write failed")]
    Write,
    /// The connection closed before the reply was complete.
    #[error("connection closed")]
    Closed,
    /// The connection closed (or went out of step) while this request
    /// waited behind another one, the one whose reply failed; or it was
    /// never written. Not this request's fault: re-sent without using up
    /// `downstream_retry`.
    #[error("connection lost behind another request")]
    Dropped,
    /// The reply did not arrive within `downstream_timeout`.
    #[error("timeout")]
    Timeout,
    /// The server's reply could not be parsed or did not match the request.
    #[error("protocol error")]
    Protocol,
    /// The request has no form in the downstream protocol (e.g. a binary
    /// key with a space, sent to an ascii server).
    #[error("request not expressible downstream")]
    Unencodable,
    /// The request waited `wait_queue_timeout` for a place among the
    /// pool's `downstream_max` requests in vain.
    #[error("wait queue timeout")]
    WaitQueueTimeout,
}

/// Which client protocol the reply is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientProtocol {
    /// ascii client.
    Ascii,
    /// binary client.
    Binary,
}

/// The reply a client gets for a failed request to `host` (None for a
/// broadcast). ascii: moxi's `SERVER_ERROR proxy ...` strings; binary:
/// EINTERNAL, or EBUSY for timeouts, as moxi. The wait-queue timeout
/// ends with `\r\n` like every other line (moxi forgot it).
pub fn failure_reply(err: &DownError, host: Option<&str>, client: ClientProtocol) -> Response {
    if client == ClientProtocol::Binary {
        return match err {
            DownError::Timeout | DownError::WaitQueueTimeout => {
                status(Status::Busy, "System is busy")
            }
            DownError::Unencodable => status(Status::InvalidArguments, "Invalid arguments"),
            _ => status(Status::InternalError, "Internal error"),
        };
    }
    let what = match err {
        DownError::Connect | DownError::Write => "proxy write to downstream",
        DownError::Closed | DownError::Dropped | DownError::Protocol => "proxy downstream closed",
        DownError::Timeout => "proxy downstream timeout",
        DownError::WaitQueueTimeout => return Response::server_error("proxy wait queue timeout"),
        DownError::Unencodable => return Response::client_error("bad command line format"),
    };
    let text = match host {
        Some(h) => format!("{what} {h}"),
        None => what.to_string(),
    };
    Response::Error(ErrorKind::Server(Bytes::from(text)))
}

fn status(status: Status, message: &'static str) -> Response {
    Response::Status {
        status,
        message: Bytes::from_static(message.as_bytes()),
    }
}

/// The reply for a request that needs servers in a pool that has none
/// (behaviour inventory 5.5, 5.8). The NULL bucket: ascii
/// `SERVER_ERROR unauthorized, null bucket`, binary AUTH_ERROR
/// `Auth failure`. A bucket without a config: moxi's
/// `SERVER_ERROR proxy write to downstream`, binary EINTERNAL. ascii
/// get-type commands see `END` in both, as moxi sends for pools that are
/// not vBucket-based.
pub fn unserved_reply(why: Unserved, client: ClientProtocol, is_get: bool) -> Response {
    match (client, why) {
        (ClientProtocol::Binary, Unserved::NullBucket) => status(Status::AuthError, "Auth failure"),
        (ClientProtocol::Binary, Unserved::Unconfigured) => {
            status(Status::InternalError, "Internal error")
        }
        (ClientProtocol::Ascii, _) if is_get => Response::End,
        (ClientProtocol::Ascii, Unserved::NullBucket) => {
            Response::server_error("unauthorized, null bucket")
        }
        (ClientProtocol::Ascii, Unserved::Unconfigured) => {
            Response::server_error("proxy write to downstream")
        }
    }
}
