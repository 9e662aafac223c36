//! Runs one meta request against the engine and writes its reply, as
//! memcached 1.6.18's `process_m*_command` functions do: returned flags in
//! request order, `q` silencing only the nominal reply (EN for mg, HD for
//! the others), win tokens (`W`), stale (`X`) and token-already-sent (`Z`)
//! markers after the other flags.

use bytes::{Bytes, BytesMut};
use engine::{ArithOutcome, DeleteOutcome, Engine, MetaStore, MetaView, StoreMode, StoreOutcome};
use protocol::meta::{
    self, base64_encode, Flag, MetaCommand, MetaRequest, MetaResponse, MetaStatus,
};

use crate::stats::StatsSources;

/// Executes `req` and appends its reply (if any) to `out`.
pub fn execute(src: &StatsSources<'_>, req: &MetaRequest, out: &mut BytesMut) {
    let engine = src.engine;
    if req.command == MetaCommand::Debug {
        src.server.add_meta_debug();
    }
    let reply = match req.command {
        MetaCommand::Get => get(engine, req),
        MetaCommand::Set => set(engine, req),
        MetaCommand::Delete => delete(engine, req),
        MetaCommand::Arith => arith(engine, req),
        MetaCommand::Noop => Some(MetaResponse::Noop),
        MetaCommand::Debug => Some(debug(engine, req)),
    };
    if let Some(reply) = reply {
        meta::encode_response(&reply, out);
    }
}

/// The reply to an `ms` refused for its size before its data was read:
/// memcached unlinks the key whatever the mode.
pub fn too_large(engine: &Engine, req: &MetaRequest, out: &mut BytesMut) {
    engine.reject_too_large(StoreMode::Set, req.key.as_bytes());
    meta::encode_response(&too_large_reply(), out);
}

fn too_large_reply() -> MetaResponse {
    MetaResponse::server_error("object too large for cache")
}

fn number(kind: u8, n: impl std::fmt::Display) -> Flag {
    Flag::new(kind, n.to_string().as_bytes())
}

/// `k`: the key, base64 with a `b` flag after it for a key sent in base64.
fn push_key(req: &MetaRequest, flags: &mut Vec<Flag>) {
    push_key_as(req, req.options.base64, flags);
}

/// `k` for a hit: memcached shows the key as the item was stored.
fn push_key_as(req: &MetaRequest, binary: bool, flags: &mut Vec<Flag>) {
    if binary {
        flags.push(Flag::new(b'k', &base64_encode(req.key.as_bytes())));
        flags.push(Flag(Bytes::from_static(b"b")));
    } else {
        flags.push(Flag::new(b'k', req.key.as_bytes()));
    }
}

/// The `O` and `k` flags, the only ones a miss or failure returns.
fn echo(req: &MetaRequest) -> Vec<Flag> {
    let mut flags = Vec::new();
    for f in &req.flags {
        match f.kind() {
            b'O' => flags.push(f.clone()),
            b'k' => push_key(req, &mut flags),
            _ => {}
        }
    }
    flags
}

fn status(status: MetaStatus, flags: Vec<Flag>) -> MetaResponse {
    MetaResponse::Status { status, flags }
}

fn get(engine: &Engine, req: &MetaRequest) -> Option<MetaResponse> {
    let o = &req.options;
    let read = |v: &mut MetaView<'_>| hit(req, v);
    // memcached bumps an item read unlocked before writing the reply, a
    // locked one (h l T N R) after it, so not when a long opaque stops it.
    let stopped_locked = o.locked && o.long_opaque;
    let bump = !(o.no_bump || stopped_locked);
    match engine.meta_get(req.key.as_bytes(), o.vivify.is_some(), bump, read) {
        Some(Some(reply)) => Some(reply),
        Some(None) => Some(opaque_too_long()),
        None if o.long_opaque => Some(opaque_too_long()),
        None if o.quiet => None,
        None => Some(status(MetaStatus::Miss, echo(req))),
    }
}

/// memcached refuses a long opaque when it reaches it among the flags.
fn opaque_too_long() -> MetaResponse {
    MetaResponse::client_error("opaque token too long")
}

/// mg's reply to a hit, acting on T, N and R in flag order; `None` at a
/// long opaque (the flags before it have acted).
fn hit(req: &MetaRequest, v: &mut MetaView<'_>) -> Option<MetaResponse> {
    let o = &req.options;
    let mut flags = Vec::new();
    let mut won = false;
    for f in &req.flags {
        match f.kind() {
            b'T' => v.set_ttl(o.ttl.map_or(0, i64::from)),
            b'N' if v.created() => {
                v.set_vivified_ttl(o.vivify.map_or(0, i64::from));
                won = true;
            }
            b'R' => {
                let due = o.recache.is_some_and(|r| v.expires_before(i64::from(r)));
                won |= !v.win_sent() && !v.created() && due;
            }
            b's' => flags.push(number(b's', v.data().len())),
            b't' => flags.push(number(b't', v.ttl())),
            b'c' => flags.push(number(b'c', v.cas())),
            b'f' => flags.push(number(b'f', v.flags())),
            b'l' => flags.push(number(b'l', v.last_access())),
            b'h' => flags.push(number(b'h', u8::from(v.fetched()))),
            b'O' if o.long_opaque => return None,
            b'O' => flags.push(f.clone()),
            b'k' => push_key_as(req, v.binary_key(), &mut flags),
            _ => {}
        }
    }
    markers(v, won, &mut flags);
    Some(match o.value {
        true => MetaResponse::Value {
            flags,
            data: Bytes::copy_from_slice(v.data()),
        },
        false => status(MetaStatus::Stored, flags),
    })
}

/// `Z` when a token was already sent, `X` for a stale item (which wins a
/// token when none was sent), then `W` for a win, which is recorded.
fn markers(v: &mut MetaView<'_>, mut won: bool, flags: &mut Vec<Flag>) {
    let plain = |c: &'static [u8]| Flag(Bytes::from_static(c));
    if v.win_sent() {
        flags.push(plain(b"Z"));
    }
    if v.stale() {
        flags.push(plain(b"X"));
        won |= !v.win_sent();
    }
    if won {
        flags.push(plain(b"W"));
        v.set_win_sent();
    }
}

fn set(engine: &Engine, req: &MetaRequest) -> Option<MetaResponse> {
    let o = &req.options;
    let key = req.key.as_bytes();
    let flags = o.client_flags.unwrap_or(0);
    if !engine.item_fits(key.len(), flags, req.value.len()) {
        engine.reject_too_large(StoreMode::Set, key);
        return Some(too_large_reply());
    }
    let mode = match o.mode {
        Some(b'E') => StoreMode::Add,
        Some(b'A') => StoreMode::Append,
        Some(b'P') => StoreMode::Prepend,
        Some(b'R') => StoreMode::Replace,
        _ => StoreMode::Set,
    };
    // memcached turns set and replace with a CAS into a CAS store; add
    // ignores the CAS; append and prepend compare a non-zero one.
    let (mode, cas) = match (mode, o.compare_cas) {
        (StoreMode::Set | StoreMode::Replace, Some(cas)) => (StoreMode::Cas, cas),
        (StoreMode::Add, _) => (mode, 0),
        (_, cas) => (mode, cas.unwrap_or(0)),
    };
    let outcome = engine.meta_store(MetaStore {
        mode,
        key,
        flags,
        exptime: o.ttl.map_or(0, i64::from),
        value: req.value.clone(),
        cas,
        stale_ok: o.invalidate && mode == StoreMode::Cas,
        binary_key: o.base64,
    });
    let (code, new_cas) = match outcome {
        StoreOutcome::Stored { cas } => (MetaStatus::Stored, cas),
        StoreOutcome::NotStored => (MetaStatus::NotStored, 0),
        StoreOutcome::Exists => (MetaStatus::Exists, 0),
        StoreOutcome::NotFound => (MetaStatus::NotFound, 0),
        StoreOutcome::TooLarge => return Some(too_large_reply()),
        StoreOutcome::OutOfMemory => {
            return Some(MetaResponse::server_error("out of memory storing object"))
        }
    };
    if code == MetaStatus::Stored && o.quiet {
        return None;
    }
    let mut out = Vec::new();
    for f in &req.flags {
        match f.kind() {
            b'O' => out.push(f.clone()),
            b'k' => push_key(req, &mut out),
            b'c' => out.push(number(b'c', new_cas)),
            _ => {}
        }
    }
    Some(status(code, out))
}

fn delete(engine: &Engine, req: &MetaRequest) -> Option<MetaResponse> {
    let o = &req.options;
    let invalidate = o.invalidate.then(|| o.ttl.map(i64::from));
    let code = match engine.meta_delete(req.key.as_bytes(), o.compare_cas, invalidate) {
        DeleteOutcome::Deleted if o.quiet => return None,
        DeleteOutcome::Deleted => MetaStatus::Stored,
        DeleteOutcome::NotFound => MetaStatus::NotFound,
        DeleteOutcome::Exists => MetaStatus::Exists,
    };
    Some(status(code, echo(req)))
}

fn arith(engine: &Engine, req: &MetaRequest) -> Option<MetaResponse> {
    let o = &req.options;
    let key = req.key.as_bytes();
    let incr = !matches!(o.mode, Some(b'D' | b'-'));
    let delta = o.delta.unwrap_or(1);
    let cas = o.compare_cas.unwrap_or(0);
    let mut created = false;
    let mut outcome = engine.arith(key, incr, delta, None, cas);
    if outcome == ArithOutcome::NotFound && o.vivify.is_some() {
        // Created with no exptime; the N flag sets it below, in flag order.
        outcome = engine.arith(key, incr, delta, Some((o.initial.unwrap_or(0), 0)), cas);
        created = true;
    }
    let (value, cas) = match outcome {
        ArithOutcome::Value { value, cas } => (value, cas),
        ArithOutcome::NotFound | ArithOutcome::Exists if o.long_opaque => {
            return Some(opaque_too_long())
        }
        ArithOutcome::NotFound => return Some(status(MetaStatus::NotFound, echo(req))),
        ArithOutcome::Exists => return Some(status(MetaStatus::Exists, echo(req))),
        ArithOutcome::NonNumeric => {
            return Some(MetaResponse::client_error(
                "cannot increment or decrement non-numeric value",
            ))
        }
        ArithOutcome::OutOfMemory => return Some(MetaResponse::server_error("out of memory")),
    };
    let read = |v: &mut MetaView<'_>| arith_flags(req, v);
    let flags = match engine.meta_view(key, created, read) {
        Some(Some(flags)) => flags,
        Some(None) => return Some(opaque_too_long()),
        // Gone since: answer with what the arithmetic returned.
        None => vec![number(b'c', cas)],
    };
    if o.quiet && !created {
        return None;
    }
    Some(match o.value {
        true => MetaResponse::Value {
            flags,
            data: Bytes::from(value.to_string()),
        },
        false => status(MetaStatus::Stored, flags),
    })
}

/// ma's returned flags, applying `T` and (for a created item) `N` in
/// order; `None` at a long opaque (the flags before it have acted).
fn arith_flags(req: &MetaRequest, v: &mut MetaView<'_>) -> Option<Vec<Flag>> {
    let o = &req.options;
    let mut flags = Vec::new();
    for f in &req.flags {
        match f.kind() {
            b'c' => flags.push(number(b'c', v.cas())),
            b't' => flags.push(number(b't', v.ttl())),
            b'T' => v.set_ttl(o.ttl.map_or(0, i64::from)),
            b'N' if v.created() => v.set_vivified_ttl(o.vivify.map_or(0, i64::from)),
            b'O' if o.long_opaque => return None,
            b'O' => flags.push(f.clone()),
            b'k' => push_key(req, &mut flags),
            _ => {}
        }
    }
    Some(flags)
}

fn debug(engine: &Engine, req: &MetaRequest) -> MetaResponse {
    let Some(d) = engine.meta_debug(req.key.as_bytes()) else {
        return status(MetaStatus::Miss, Vec::new());
    };
    let key = match d.binary_key {
        true => Bytes::from(base64_encode(req.key.as_bytes())),
        false => req.key.0.clone(),
    };
    let fetch = if d.fetched { "yes" } else { "no" };
    let info = format!(
        "exp={} la={} cas={} fetch={fetch} cls={} size={}",
        d.exp, d.last_access, d.cas, d.class, d.size
    );
    MetaResponse::Debug {
        key,
        info: Bytes::from(info),
    }
}
