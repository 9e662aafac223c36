//! Runs one decoded request against the engine and emits its reply frames.
//! Both encodings share this: only the writing of frames differs.

use bytes::{Bytes, BytesMut};
use engine::{ArithOutcome, DeleteOutcome, StoreOutcome};
use protocol::{ascii, Command, ErrorKind, Get, GetKind, Request, Response, Status, Value};

use crate::stats::{self, StatsSources};

/// What the connection does after a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Keep reading.
    Continue,
    /// Close the connection (quit).
    Close,
}

fn status(status: Status, msg: &'static str) -> Response {
    Response::Status {
        status,
        message: Bytes::from_static(msg.as_bytes()),
    }
}

/// The reply to a store refused for its size (ascii: `SERVER_ERROR object
/// too large for cache`; binary: E2BIG `Too large.`).
pub fn too_large() -> Response {
    status(Status::ValueTooLarge, "Too large.")
}

/// Executes `req`, calling `emit` for each reply frame in order.
/// `binary` selects the few places where memcached's two protocols differ.
pub fn execute(
    src: &StatsSources<'_>,
    req: &Request,
    binary: bool,
    emit: &mut impl FnMut(Response),
) -> Flow {
    let engine = src.engine;
    match &req.command {
        Command::Get(get) => retrieve(src, get, emit),
        Command::Store(s) => {
            src.server.detail.record_set(s.key.as_bytes());
            let out = engine.store(
                s.mode,
                s.key.as_bytes(),
                s.flags,
                s.exptime,
                s.value.clone(),
                s.cas,
            );
            emit(match out {
                StoreOutcome::Stored { cas } => Response::Stored { cas },
                StoreOutcome::NotStored => Response::NotStored,
                StoreOutcome::Exists => Response::Exists,
                StoreOutcome::NotFound => Response::NotFound,
                StoreOutcome::TooLarge => too_large(),
                StoreOutcome::OutOfMemory => status(Status::OutOfMemory, "Out of memory"),
            });
        }
        Command::Arith(a) => {
            let create = a.creates().then_some((a.initial, a.exptime));
            emit(
                match engine.arith(a.key.as_bytes(), a.incr, a.delta, create, a.cas) {
                    ArithOutcome::Value { value, cas } => Response::Numeric { value, cas },
                    ArithOutcome::NotFound => Response::NotFound,
                    ArithOutcome::Exists => Response::Exists,
                    ArithOutcome::OutOfMemory => status(Status::OutOfMemory, "Out of memory"),
                    ArithOutcome::NonNumeric => status(
                        Status::NonNumeric,
                        "Non-numeric server-side value for incr or decr",
                    ),
                },
            );
        }
        Command::Delete { key, cas } => emit({
            src.server.detail.record_delete(key.as_bytes());
            match engine.delete(key.as_bytes(), *cas) {
                DeleteOutcome::Deleted => Response::Deleted,
                DeleteOutcome::NotFound => Response::NotFound,
                DeleteOutcome::Exists => Response::Exists,
            }
        }),
        // memcached's binary TOUCH reply carries the item's flags.
        Command::Touch { key, exptime } if binary => {
            emit(match engine.touch_get(key.as_bytes(), *exptime) {
                Some(item) => Response::Value(Value {
                    key: key.clone(),
                    flags: item.flags,
                    cas: item.cas,
                    data: Bytes::new(),
                }),
                None => Response::NotFound,
            })
        }
        Command::Touch { key, exptime } => emit(match engine.touch(key.as_bytes(), *exptime) {
            Some(cas) => Response::Touched { cas },
            None => Response::NotFound,
        }),
        Command::FlushAll { delay } => {
            if src.settings.flush_disabled && binary {
                // memcached -F: binary FLUSH is an uncounted auth failure.
                emit(status(Status::AuthError, "Auth failure."));
            } else if src.settings.flush_disabled {
                // ascii flush_all is counted even when refused.
                src.server.add_refused_flush();
                emit(Response::client_error("flush_all not allowed"));
            } else {
                engine.flush_all(*delay);
                emit(Response::Ok);
            }
        }
        Command::Stats { group } => stats_group(src, group, binary, emit),
        Command::Version => emit(Response::Version(Bytes::from_static(
            stats::VERSION.as_bytes(),
        ))),
        // memcached 1.6 no longer knows the binary VERBOSITY opcode.
        Command::Verbosity { .. } if binary => emit(Response::Error(ErrorKind::UnknownCommand)),
        Command::Verbosity { .. } => emit(Response::Ok),
        Command::Quit => return Flow::Close,
        Command::Noop => emit(Response::Ok),
        // The embedded server has no SASL (memcached without -S answers the same).
        Command::SaslListMechs | Command::SaslAuth { .. } | Command::SaslStep { .. } => {
            emit(Response::Error(ErrorKind::UnknownCommand))
        }
    }
    Flow::Continue
}

/// An ascii get or gets (not gat): each hit written straight from the
/// cache into `out`, then `END`; the same bytes as [`execute`] and
/// `ascii::encode_response`, without a copy of each value.
pub fn retrieve_ascii(src: &StatsSources<'_>, get: &Get, out: &mut BytesMut) {
    let show_cas = get.kind == GetKind::Gets;
    let detail = &src.server.detail;
    for key in &get.keys {
        let hit = src.engine.get_with(key.as_bytes(), |flags, cas, data| {
            ascii::encode_value_parts(key.as_bytes(), flags, cas, data, show_cas, out)
        });
        if detail.enabled() {
            detail.record_get(key.as_bytes(), hit);
        }
    }
    ascii::encode_response(&Response::End, false, out);
}

fn retrieve(src: &StatsSources<'_>, get: &Get, emit: &mut impl FnMut(Response)) {
    let engine = src.engine;
    for key in &get.keys {
        let item = if get.kind.touches() {
            engine.touch_get(key.as_bytes(), get.exptime)
        } else {
            engine.get(key.as_bytes())
        };
        src.server.detail.record_get(key.as_bytes(), item.is_some());
        if let Some(item) = item {
            emit(Response::Value(Value {
                key: key.clone(),
                flags: item.flags,
                cas: item.cas,
                data: item.data,
            }));
        }
    }
    emit(Response::End);
}

/// memcached's binary `STAT detail ...` (`process_bin_stat`): the rest of
/// the key is compared by prefix; the dump comes as one `detailed` stat.
fn binary_detail(src: &StatsSources<'_>, rest: &[u8]) -> Option<Vec<Response>> {
    let detail = &src.server.detail;
    if rest.starts_with(b" dump") {
        let mut text = Vec::new();
        detail.dump(&mut text);
        return Some(vec![Response::Stat {
            name: Bytes::from_static(b"detailed"),
            value: Bytes::from(text),
        }]);
    }
    if rest.starts_with(b" on") {
        detail.set_enabled(true);
    } else if rest.starts_with(b" off") {
        detail.set_enabled(false);
    } else {
        return None;
    }
    Some(Vec::new())
}

fn stats_group(
    src: &StatsSources<'_>,
    group: &Bytes,
    binary: bool,
    emit: &mut impl FnMut(Response),
) {
    // ascii: memcached reads the first token and ignores the rest
    // (`stats items x` is `stats items`); binary: the key is the group.
    let sub = match binary {
        true => &group[..],
        false => group.split(|&b| b == b' ').next().unwrap_or(&[]),
    };
    let frames = match sub {
        b"" => stats::general(src),
        b"settings" => stats::settings(src),
        b"slabs" => stats::slabs(src),
        // moxi keeps no size histogram (memcached's `stats sizes_enable`).
        b"sizes" => vec![Response::Stat {
            name: Bytes::from_static(b"sizes_status"),
            value: Bytes::from_static(b"disabled"),
        }],
        // No slab classes, so nothing per class, as memcached with no items.
        b"items" => Vec::new(),
        // (ascii `stats conns` is answered in `stats_text`; memcached's
        // binary STAT knows neither `conns` nor `extstore`.)
        b"extstore" if !binary => Vec::new(),
        _ if binary && sub.starts_with(b"detail") => match binary_detail(src, &sub[6..]) {
            Some(frames) => frames,
            None => {
                emit(status(Status::KeyNotFound, "Not found"));
                return;
            }
        },
        b"reset" => {
            src.engine.reset_stats();
            src.server.reset();
            emit(Response::Reset);
            return;
        }
        // Binary STAT with an unknown key is a miss in memcached; ascii says ERROR.
        _ if binary => {
            emit(status(Status::KeyNotFound, "Not found"));
            return;
        }
        _ => {
            emit(Response::Error(ErrorKind::UnknownCommand));
            return;
        }
    };
    for f in frames {
        emit(f);
    }
    emit(Response::End);
}
