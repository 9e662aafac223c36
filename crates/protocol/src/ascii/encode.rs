//! Writing requests and responses in ascii form, byte for byte as memcached
//! writes its replies (protocol.txt; memcached `out_string` and
//! `process_get_command`), and moxi's a2b strings for binary-only statuses.

use bytes::{BufMut, BytesMut};

use super::EncodeError;
use crate::model::{
    Arith, Command, ErrorKind, Get, GetKind, Key, Request, Response, Status, Store, StoreMode,
    Value,
};

/// Appends the canonical ascii form of `req` to `out`, e.g.
/// `set k 0 0 5 noreply\r\nhello\r\n` or `get a b c\r\n`.
///
/// `quiet` becomes `noreply` where ascii has it (storage, incr/decr, delete,
/// touch, flush_all, verbosity) and is dropped elsewhere (a quiet binary get
/// becomes a plain `get`: suppressing misses is the caller's job). Opaque and
/// vBucket have no ascii form and are dropped. A binary SET or REPLACE with a
/// CAS becomes `cas`. On error nothing is written.
pub fn encode_request(req: &Request, out: &mut BytesMut) -> Result<(), EncodeError> {
    match &req.command {
        Command::Get(get) => encode_get(get, out),
        Command::Store(store) => encode_store(store, req.quiet, out),
        Command::Arith(arith) => encode_arith(arith, req.quiet, out),
        Command::Delete { key, cas } => {
            if *cas != 0 {
                return Err(EncodeError::NotAscii);
            }
            check_key(key)?;
            line(out, req.quiet, &[b"delete ", key.as_bytes()]);
            Ok(())
        }
        Command::Touch { key, exptime } => {
            check_key(key)?;
            let exptime = exptime.to_string();
            line(
                out,
                req.quiet,
                &[b"touch ", key.as_bytes(), b" ", exptime.as_bytes()],
            );
            Ok(())
        }
        Command::FlushAll { delay: 0 } => {
            line(out, req.quiet, &[b"flush_all"]);
            Ok(())
        }
        Command::FlushAll { delay } => {
            line(
                out,
                req.quiet,
                &[b"flush_all ", delay.to_string().as_bytes()],
            );
            Ok(())
        }
        Command::Stats { group } => encode_stats(group, out),
        Command::Version => {
            line(out, false, &[b"version"]);
            Ok(())
        }
        Command::Verbosity { level } => {
            line(
                out,
                req.quiet,
                &[b"verbosity ", level.to_string().as_bytes()],
            );
            Ok(())
        }
        Command::Quit => {
            line(out, false, &[b"quit"]);
            Ok(())
        }
        Command::Noop
        | Command::SaslListMechs
        | Command::SaslAuth { .. }
        | Command::SaslStep { .. } => Err(EncodeError::NotAscii),
    }
}

/// Writes `parts`, then ` noreply` when `quiet`, then `\r\n`.
fn line(out: &mut BytesMut, quiet: bool, parts: &[&[u8]]) {
    for part in parts {
        out.put_slice(part);
    }
    if quiet {
        out.put_slice(b" noreply");
    }
    out.put_slice(b"\r\n");
}

fn check_key(key: &Key) -> Result<(), EncodeError> {
    if key.is_ascii_safe() {
        Ok(())
    } else {
        Err(EncodeError::BadKey)
    }
}

fn encode_get(get: &Get, out: &mut BytesMut) -> Result<(), EncodeError> {
    if get.keys.is_empty() {
        return Err(EncodeError::BadKey);
    }
    get.keys.iter().try_for_each(check_key)?;
    out.put_slice(match get.kind {
        GetKind::Get => b"get",
        GetKind::Gets => b"gets",
        GetKind::Gat => b"gat",
        GetKind::Gats => b"gats",
    });
    if get.kind.touches() {
        out.put_u8(b' ');
        out.put_slice(get.exptime.to_string().as_bytes());
    }
    for key in &get.keys {
        out.put_u8(b' ');
        out.put_slice(key.as_bytes());
    }
    out.put_slice(b"\r\n");
    Ok(())
}

fn encode_store(store: &Store, quiet: bool, out: &mut BytesMut) -> Result<(), EncodeError> {
    check_key(&store.key)?;
    let (verb, with_cas): (&[u8], bool) = match (store.mode, store.cas) {
        (StoreMode::Cas, _) => (b"cas ", true),
        (StoreMode::Set, 0) => (b"set ", false),
        (StoreMode::Add, 0) => (b"add ", false),
        (StoreMode::Replace, 0) => (b"replace ", false),
        (StoreMode::Append, 0) => (b"append ", false),
        (StoreMode::Prepend, 0) => (b"prepend ", false),
        // memcached applies a binary SET/REPLACE CAS exactly like ascii `cas`.
        (StoreMode::Set | StoreMode::Replace, _) => (b"cas ", true),
        (StoreMode::Add | StoreMode::Append | StoreMode::Prepend, _) => {
            return Err(EncodeError::NotAscii)
        }
    };
    let mut numbers = BytesMut::with_capacity(64);
    put_num(&mut numbers, b' ', store.flags);
    put_num(&mut numbers, b' ', store.exptime);
    put_num(&mut numbers, b' ', store.value.len());
    if with_cas {
        put_num(&mut numbers, b' ', store.cas);
    }
    let numbers = &numbers[..];
    out.reserve(store.value.len() + numbers.len() + store.key.len() + 20);
    line(out, quiet, &[verb, store.key.as_bytes(), numbers]);
    out.put_slice(&store.value);
    out.put_slice(b"\r\n");
    Ok(())
}

fn encode_arith(arith: &Arith, quiet: bool, out: &mut BytesMut) -> Result<(), EncodeError> {
    if arith.creates() || arith.cas != 0 {
        return Err(EncodeError::NotAscii);
    }
    check_key(&arith.key)?;
    let verb: &[u8] = if arith.incr { b"incr " } else { b"decr " };
    let delta = arith.delta.to_string();
    line(
        out,
        quiet,
        &[verb, arith.key.as_bytes(), b" ", delta.as_bytes()],
    );
    Ok(())
}

/// The group must survive the decoder's trimming and line framing.
fn encode_stats(group: &[u8], out: &mut BytesMut) -> Result<(), EncodeError> {
    if group.is_empty() {
        line(out, false, &[b"stats"]);
        return Ok(());
    }
    let framable = !group.contains(&b'\n') && !group.contains(&0);
    let trimmed = group.first() != Some(&b' ') && group.last() != Some(&b' ');
    if !framable || !trimmed {
        return Err(EncodeError::BadKey);
    }
    line(out, false, &[b"stats ", group]);
    Ok(())
}

/// Appends `resp` exactly as memcached writes it. `show_cas` adds the CAS
/// unique to `VALUE` lines (replies to gets/gats).
///
/// Free text (error messages, version, stat names and values) is written as
/// given, except that a `\n` in it becomes a space so a reply can never
/// smuggle in a second line. Binary-only outcomes use moxi's a2b strings.
pub fn encode_response(resp: &Response, show_cas: bool, out: &mut BytesMut) {
    match resp {
        Response::Value(value) => encode_value(value, show_cas, out),
        Response::End => out.put_slice(b"END\r\n"),
        Response::Stored { .. } => out.put_slice(b"STORED\r\n"),
        Response::NotStored => out.put_slice(b"NOT_STORED\r\n"),
        Response::Exists => out.put_slice(b"EXISTS\r\n"),
        Response::NotFound => out.put_slice(b"NOT_FOUND\r\n"),
        Response::Deleted => out.put_slice(b"DELETED\r\n"),
        Response::Touched { .. } => out.put_slice(b"TOUCHED\r\n"),
        Response::Ok => out.put_slice(b"OK\r\n"),
        Response::Numeric { value, .. } => {
            out.put_slice(itoa::Buffer::new().format(*value).as_bytes());
            out.put_slice(b"\r\n");
        }
        Response::Version(v) => text_line(out, b"VERSION ", v),
        Response::Stat { name, value } => {
            out.put_slice(b"STAT ");
            put_text(out, name);
            out.put_u8(b' ');
            put_text(out, value);
            out.put_slice(b"\r\n");
        }
        Response::Reset => out.put_slice(b"RESET\r\n"),
        Response::SaslMechs(_) | Response::SaslAuthenticated(_) => out.put_slice(b"ERROR\r\n"),
        Response::Error(ErrorKind::UnknownCommand) => out.put_slice(b"ERROR\r\n"),
        Response::Error(ErrorKind::Client(msg)) => error_line(out, b"CLIENT_ERROR", msg),
        Response::Error(ErrorKind::Server(msg)) => error_line(out, b"SERVER_ERROR", msg),
        Response::Status { status, .. } => {
            out.put_slice(status_line(*status));
            out.put_slice(b"\r\n");
        }
    }
}

/// Writes `sep` then the decimal form of `n` (no allocation).
fn put_num(out: &mut BytesMut, sep: u8, n: impl itoa::Integer) {
    out.put_u8(sep);
    out.put_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn encode_value(value: &Value, show_cas: bool, out: &mut BytesMut) {
    encode_value_parts(
        value.key.as_bytes(),
        value.flags,
        value.cas,
        &value.data,
        show_cas,
        out,
    );
}

/// A `VALUE` frame from its parts: `VALUE <key> <flags> <bytes> [<cas>]`,
/// the data and its `\r\n` (what [`encode_response`] writes for a
/// `Response::Value`), for a server that writes a hit without building one.
pub fn encode_value_parts(
    key: &[u8],
    flags: u32,
    cas: u64,
    data: &[u8],
    show_cas: bool,
    out: &mut BytesMut,
) {
    out.reserve(6 + key.len() + 3 * 21 + data.len() + 2);
    out.put_slice(b"VALUE ");
    out.put_slice(key);
    put_num(out, b' ', flags);
    put_num(out, b' ', data.len());
    if show_cas {
        put_num(out, b' ', cas);
    }
    out.put_slice(b"\r\n");
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

fn text_line(out: &mut BytesMut, prefix: &[u8], text: &[u8]) {
    out.put_slice(prefix);
    put_text(out, text);
    out.put_slice(b"\r\n");
}

/// `CLIENT_ERROR <msg>`; the bare word when there is no message.
fn error_line(out: &mut BytesMut, word: &[u8], msg: &[u8]) {
    out.put_slice(word);
    if !msg.is_empty() {
        out.put_u8(b' ');
        put_text(out, msg);
    }
    out.put_slice(b"\r\n");
}

fn put_text(out: &mut BytesMut, text: &[u8]) {
    if !text.contains(&b'\n') {
        out.put_slice(text);
        return;
    }
    out.extend(text.iter().map(|&b| if b == b'\n' { b' ' } else { b }));
}

/// The line moxi's a2b path writes for a binary status.
fn status_line(status: Status) -> &'static [u8] {
    match status {
        Status::NoError => b"OK",
        Status::KeyNotFound => b"NOT_FOUND",
        Status::KeyExists => b"EXISTS",
        Status::ItemNotStored => b"NOT_STORED",
        Status::ValueTooLarge => b"SERVER_ERROR object too large for cache",
        Status::InvalidArguments => b"CLIENT_ERROR bad command line format",
        Status::NonNumeric => b"CLIENT_ERROR cannot increment or decrement non-numeric value",
        Status::NotMyVbucket => b"SERVER_ERROR a2b not_my_vbucket",
        Status::AuthError => b"SERVER_ERROR a2b auth_error",
        Status::AuthContinue => b"SERVER_ERROR a2b auth_continue",
        Status::UnknownCommand => b"ERROR",
        Status::OutOfMemory => b"SERVER_ERROR out of memory storing object",
        Status::NotSupported => b"SERVER_ERROR a2b not supported",
        Status::InternalError => b"SERVER_ERROR a2b einternal",
        Status::Busy => b"SERVER_ERROR a2b ebusy",
        Status::TemporaryFailure => b"SERVER_ERROR temporary failure",
    }
}
