//! Writing meta requests and replies, byte for byte as memcached writes
//! its replies (`process_mget_command`, `_finalize_mset`, ...).

use bytes::{BufMut, BytesMut};

use super::{base64_encode, Flag, MetaCommand, MetaRequest, MetaResponse};
use crate::model::{ErrorKind, MAX_KEY_LEN};

/// Why a request cannot be written as a meta line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The key (base64-encoded when `b` is given) is empty, over 250 bytes,
    /// or holds a space, a NUL or a line break.
    #[error("key cannot be written in a meta command line")]
    BadKey,
    /// A flag token is empty or holds a space, a NUL or a line break.
    #[error("flag cannot be written in a meta command line")]
    BadFlag,
}

fn is_token(t: &[u8]) -> bool {
    !t.is_empty() && !t.iter().any(|&b| matches!(b, b' ' | 0 | b'\r' | b'\n'))
}

/// Appends `req` as a meta command line (and data block for `ms`), e.g.
/// `mg foo v f t\r\n` or `ms foo 2 T30\r\nhi\r\n`. A key with
/// `options.base64` is written base64-encoded. On error nothing is written.
pub fn encode_request(req: &MetaRequest, out: &mut BytesMut) -> Result<(), EncodeError> {
    if req.command == MetaCommand::Noop {
        out.put_slice(b"mn\r\n");
        return Ok(());
    }
    let key = if req.options.base64 {
        base64_encode(req.key.as_bytes())
    } else {
        req.key.as_bytes().to_vec()
    };
    if !is_token(&key) || key.len() > MAX_KEY_LEN {
        return Err(EncodeError::BadKey);
    }
    if !req.flags.iter().all(|f| is_token(&f.0)) {
        return Err(EncodeError::BadFlag);
    }
    out.put_slice(req.command.name());
    out.put_u8(b' ');
    out.put_slice(&key);
    if req.command == MetaCommand::Set {
        out.put_u8(b' ');
        out.put_slice(itoa::Buffer::new().format(req.value.len()).as_bytes());
    }
    put_flags(&req.flags, out);
    out.put_slice(b"\r\n");
    if req.command == MetaCommand::Set {
        out.put_slice(&req.value);
        out.put_slice(b"\r\n");
    }
    Ok(())
}

fn put_flags(flags: &[Flag], out: &mut BytesMut) {
    for f in flags {
        out.put_u8(b' ');
        out.put_slice(&f.0);
    }
}

/// Appends `resp` exactly as memcached writes it.
pub fn encode_response(resp: &MetaResponse, out: &mut BytesMut) {
    match resp {
        MetaResponse::Value { flags, data } => {
            out.put_slice(b"VA ");
            out.put_slice(itoa::Buffer::new().format(data.len()).as_bytes());
            put_flags(flags, out);
            out.put_slice(b"\r\n");
            out.put_slice(data);
        }
        MetaResponse::Status { status, flags } => {
            out.put_slice(status.code());
            put_flags(flags, out);
        }
        MetaResponse::Noop => out.put_slice(b"MN"),
        MetaResponse::Debug { key, info } => {
            out.put_slice(b"ME ");
            out.put_slice(key);
            out.put_u8(b' ');
            out.put_slice(info);
        }
        MetaResponse::Error(ErrorKind::UnknownCommand) => out.put_slice(b"ERROR"),
        MetaResponse::Error(ErrorKind::Client(msg)) => {
            out.put_slice(b"CLIENT_ERROR ");
            out.put_slice(msg);
        }
        MetaResponse::Error(ErrorKind::Server(msg)) => {
            out.put_slice(b"SERVER_ERROR ");
            out.put_slice(msg);
        }
    }
    out.put_slice(b"\r\n");
}
