//! Reply frames for mock scripts: a binary response to a request, and what
//! a memcached holding nothing would answer.

use super::conn::{BinaryRequest, STORAGE_COMMANDS};
use crate::frames::{ResponseFrame, HEADER_LEN, RESPONSE_MAGIC};

/// A binary response frame to `req` with `status`, echoing its opcode and
/// opaque.
pub fn binary_reply(
    req: &BinaryRequest,
    status: u16,
    cas: u64,
    extras: &[u8],
    key: &[u8],
    value: &[u8],
) -> Vec<u8> {
    let frame = ResponseFrame {
        magic: RESPONSE_MAGIC,
        opcode: req.opcode,
        datatype: 0,
        status,
        opaque: req.opaque,
        cas,
        extras,
        key,
        value,
    };
    let mut out = Vec::with_capacity(HEADER_LEN + extras.len() + key.len() + value.len());
    frame.encode_into(&mut out);
    out
}

/// The binary reply a memcached would give to `req` if it held nothing:
/// NOOP and quiet gets answer nothing but NOOP's empty frame, stores
/// succeed, GET and the rest miss. For mocks that must not stall the proxy.
pub fn empty_cache_binary_reply(req: &BinaryRequest) -> Vec<u8> {
    const QUIET_GETS: &[u8] = &[0x09, 0x0d, 0x1e, 0x24];
    const STORES: &[u8] = &[0x01, 0x02, 0x03, 0x0e, 0x0f, 0x11, 0x12, 0x13, 0x19, 0x1a];
    match req.opcode {
        op if QUIET_GETS.contains(&op) => Vec::new(),
        0x0a | 0x08 => binary_reply(req, 0, 0, &[], &[], &[]),
        op if STORES.contains(&op) => binary_reply(req, 0, 1, &[], &[], &[]),
        _ => binary_reply(req, 0x0001, 0, &[], &[], b"Not found"),
    }
}

/// The ascii reply a memcached holding nothing would give to `line`:
/// `END` for the get family, `STORED` for stores, `OK` for flush_all,
/// `NOT_FOUND` otherwise.
pub fn empty_cache_ascii_reply(line: &[u8]) -> &'static [u8] {
    let cmd = line.split(|&b| b == b' ').next().unwrap_or_default();
    match cmd {
        b"get" | b"gets" | b"gat" | b"gats" => b"END\r\n",
        b"flush_all" => b"OK\r\n",
        c if STORAGE_COMMANDS.contains(&c) => b"STORED\r\n",
        _ => b"NOT_FOUND\r\n",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_cache_ascii_replies() {
        assert_eq!(empty_cache_ascii_reply(b"get a b"), b"END\r\n");
        assert_eq!(empty_cache_ascii_reply(b"set a 0 0 1"), b"STORED\r\n");
        assert_eq!(empty_cache_ascii_reply(b"flush_all"), b"OK\r\n");
        assert_eq!(empty_cache_ascii_reply(b"delete a"), b"NOT_FOUND\r\n");
    }
}
