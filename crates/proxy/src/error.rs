//! Why a downstream request failed, and the one place where a failure
//! becomes the reply a client sees (moxi's strings, section 5.5 of the
//! behaviour inventory).

use std::sync::Arc;

use bytes::Bytes;
use protocol::{ErrorKind, Response, Status};

use crate::health::server_log::Cause;
use crate::topology::Unserved;

/// What went wrong with a downstream request. None is retried blindly:
/// a write may already have reached the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// connect() failed or timed out, or the server is marked down.
    Connect,
    /// Writing the request failed.
    Write,
    /// The connection closed before the reply was complete.
    Closed,
    /// The connection closed (or went out of step) while this request
    /// waited behind another one, the one whose reply failed; or it was
    /// never written. Not this request's fault: re-sent without using up
    /// `downstream_retry`.
    Dropped,
    /// The reply did not arrive within `downstream_timeout`.
    Timeout,
    /// The server's reply could not be parsed or did not match the request.
    Protocol,
    /// The request has no form in the downstream protocol (e.g. a binary
    /// key with a space, sent to an ascii server).
    Unencodable,
    /// The request waited `wait_queue_timeout` for a place among the
    /// pool's `downstream_max` requests in vain.
    WaitQueueTimeout,
}

impl Failure {
    fn says(self) -> &'static str {
        match self {
            Failure::Connect => "connect failed",
            Failure::Write => "write failed",
            Failure::Closed => "connection closed",
            Failure::Dropped => "connection lost behind another request",
            Failure::Timeout => "timeout",
            Failure::Protocol => "protocol error",
            Failure::Unencodable => "request not expressible downstream",
            Failure::WaitQueueTimeout => "wait queue timeout",
        }
    }
}

/// A failed downstream request: what went wrong, with which server
/// (`host:port`, once one was chosen) and why, when the connection knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownError {
    /// What went wrong.
    pub kind: Failure,
    /// The server asked, as `host:port`.
    pub server: Option<Arc<str>>,
    /// The cause seen on the connection (refused, timeout, the bad bytes).
    pub cause: Option<Cause>,
}

impl DownError {
    /// A failure not yet tied to a server.
    pub fn new(kind: Failure) -> DownError {
        DownError {
            kind,
            server: None,
            cause: None,
        }
    }

    /// The same failure, with its cause.
    pub fn because(mut self, cause: Cause) -> DownError {
        self.cause = Some(cause);
        self
    }

    /// The same failure, at `server` (`host:port`) unless one is named.
    pub fn at(mut self, server: impl FnOnce() -> Arc<str>) -> DownError {
        if self.server.is_none() {
            self.server = Some(server());
        }
        self
    }

    /// What went wrong and why, without the server (for lines that name it
    /// already).
    pub fn kind_and_cause(&self) -> String {
        match &self.cause {
            Some(cause) => format!("{}: {cause}", self.kind.says()),
            None => self.kind.says().to_owned(),
        }
    }

    /// Whether this is a failure of kind `kind`.
    pub fn is(&self, kind: Failure) -> bool {
        self.kind == kind
    }
}

impl From<Failure> for DownError {
    fn from(kind: Failure) -> DownError {
        DownError::new(kind)
    }
}

impl std::fmt::Display for DownError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind.says())?;
        if let Some(server) = &self.server {
            write!(f, " ({server})")?;
        }
        if let Some(cause) = &self.cause {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DownError {}

/// Which client protocol the reply is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientProtocol {
    /// ascii client.
    Ascii,
    /// binary client.
    Binary,
}

/// The reply a client gets for a failed request. ascii: moxi's
/// `SERVER_ERROR proxy ...` strings, naming the server as `host:port` when
/// one was asked (moxi named the host alone, so two servers on one host
/// read the same); binary: EINTERNAL, or EBUSY for timeouts, as moxi. The
/// wait-queue timeout ends with `\r\n` like every other line (moxi forgot
/// it).
pub fn failure_reply(err: &DownError, client: ClientProtocol) -> Response {
    if client == ClientProtocol::Binary {
        return match err.kind {
            Failure::Timeout | Failure::WaitQueueTimeout => status(Status::Busy, "System is busy"),
            Failure::Unencodable => status(Status::InvalidArguments, "Invalid arguments"),
            _ => status(Status::InternalError, "Internal error"),
        };
    }
    let what = match err.kind {
        Failure::Connect | Failure::Write => "proxy write to downstream",
        Failure::Closed | Failure::Dropped | Failure::Protocol => "proxy downstream closed",
        Failure::Timeout => "proxy downstream timeout",
        Failure::WaitQueueTimeout => return Response::server_error("proxy wait queue timeout"),
        Failure::Unencodable => return Response::client_error("bad command line format"),
    };
    let text = match &err.server {
        Some(server) => format!("{what} {server}"),
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
