//! The ascii `stats` subcommands whose replies are not `STAT` lines or take
//! arguments (memcached `process_stat`): `detail on|off|dump` and
//! `cachedump <class> <limit>`, and `conns` (it needs the asking
//! connection). Every other group goes to `execute`.

use bytes::BytesMut;
use protocol::{ascii, Response};

use crate::stats::StatsSources;

/// memcached's `MAX_NUMBER_OF_SLAB_CLASSES` (63 + 1).
const SLAB_CLASSES: u32 = 64;

const DETAIL_USAGE: &str = "usage: stats detail on|off|dump";

/// Answers `stats <group>`, asked on connection `fd`, into `out` if the
/// group is one of this module's; false leaves it to `execute`.
pub fn answer(src: &StatsSources<'_>, group: &[u8], fd: i32, out: &mut BytesMut) -> bool {
    // memcached tokenizes on spaces; extra tokens are ignored.
    let mut toks = group.split(|&b| b == b' ').filter(|t| !t.is_empty());
    match toks.next() {
        Some(b"detail") => detail(src, toks.next(), out),
        Some(b"cachedump") => cachedump(toks.next(), toks.next(), out),
        Some(b"conns") => {
            for stat in src.server.conn_table.stats(fd, crate::conns::unix_now()) {
                reply(&stat, out);
            }
            reply(&Response::End, out);
        }
        _ => return false,
    }
    true
}

fn detail(src: &StatsSources<'_>, arg: Option<&[u8]>, out: &mut BytesMut) {
    let detail = &src.server.detail;
    match arg {
        Some(b"on") => detail.set_enabled(true),
        Some(b"off") => detail.set_enabled(false),
        Some(b"dump") => {
            let mut text = Vec::new();
            detail.dump(&mut text);
            out.extend_from_slice(&text);
            return;
        }
        _ => return reply(&Response::client_error(DETAIL_USAGE), out),
    }
    reply(&Response::Ok, out);
}

/// The engine has no slab classes, so no class holds an item: a valid
/// class answers `END` (as memcached's empty classes do), the rest is
/// memcached's argument checking.
fn cachedump(id: Option<&[u8]>, limit: Option<&[u8]>, out: &mut BytesMut) {
    let (Some(id), Some(limit)) = (id, limit) else {
        return reply(&Response::client_error("bad command line"), out);
    };
    match (ascii::parse_u32(id), ascii::parse_u32(limit)) {
        (Some(id), Some(_)) if id >= SLAB_CLASSES => {
            reply(&Response::client_error("Illegal slab id"), out)
        }
        (Some(_), Some(_)) => reply(&Response::End, out),
        _ => reply(&Response::client_error("bad command line format"), out),
    }
}

fn reply(r: &Response, out: &mut BytesMut) {
    ascii::encode_response(r, false, out);
}
