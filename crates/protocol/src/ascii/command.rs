//! What one command line means (protocol.txt, "Commands"; memcached
//! `process_command_ascii` and the `process_*_command` functions), including
//! the exact error reply and whether `noreply` silences it.

use bytes::Bytes;

use super::line::{token_ranges, Line, MAX_TOKENS};
use super::number::{safe_strtol, safe_strtoul, safe_strtoull};
use super::{CloseConnection, Decoded};
use crate::model::{
    Arith, Command, ErrorKind, Get, GetKind, Key, Limits, Request, Response, Store, StoreMode,
    MAX_KEY_LEN,
};
use crate::Keys;

const BAD_FORMAT: &str = "bad command line format";
const BAD_EXPTIME: &str = "invalid exptime argument";
const BAD_DELTA: &str = "invalid numeric delta argument";
const DELETE_USAGE: &str = "bad command line format.  Usage: delete <key> [noreply]";

/// Commands memcached 1.6.18 knows that we answer with `ERROR`; memcached
/// would not treat them as HTTP requests.
const UNSUPPORTED_ADMIN: [&[u8]; 5] = [
    b"lru_crawler",
    b"watch",
    b"lru",
    b"extstore",
    b"refresh_certs",
];

/// A storage header waiting for its data block.
#[derive(Debug)]
pub(super) struct PendingStore {
    /// The command with an empty value.
    pub store: Store,
    /// Declared `<bytes>`, already checked against the limit.
    pub len: usize,
    /// `noreply` was given.
    pub quiet: bool,
}

/// What the framing layer does after a line.
pub(super) enum Step {
    /// Return this.
    Done(Decoded),
    /// Close the connection.
    Close(CloseConnection),
    /// Read a data block next.
    Data(PendingStore),
    /// Return `decoded`, then discard `bytes` bytes.
    Swallow { decoded: Decoded, bytes: usize },
}

/// Interprets one complete line (with its `\n`).
pub(super) fn parse(raw: Bytes, limits: &Limits) -> Step {
    let line = Line::new(raw);
    let cmd = line.tok(0);
    if line.ntokens() < 2 || cmd.len() < 2 {
        return error();
    }
    match cmd {
        b"get" | b"bget" => get(&line, GetKind::Get, limits),
        b"gets" => get(&line, GetKind::Gets, limits),
        b"gat" => get(&line, GetKind::Gat, limits),
        b"gats" => get(&line, GetKind::Gats, limits),
        b"set" => store(&line, StoreMode::Set, limits),
        b"add" => store(&line, StoreMode::Add, limits),
        b"replace" => store(&line, StoreMode::Replace, limits),
        b"append" => store(&line, StoreMode::Append, limits),
        b"prepend" => store(&line, StoreMode::Prepend, limits),
        b"cas" => store(&line, StoreMode::Cas, limits),
        b"incr" => arith(&line, true),
        b"decr" => arith(&line, false),
        b"delete" => delete(&line),
        b"touch" => touch(&line),
        b"stats" => stats(&line),
        b"flush_all" => flush_all(&line),
        b"verbosity" => verbosity(&line),
        b"version" => request(Command::Version, false),
        b"quit" => request(Command::Quit, false),
        _ => unknown(&line),
    }
}

/// An unknown command is `ERROR`, except that memcached hangs up on what
/// looks like HTTP when the command word starts no family it dispatches on.
fn unknown(line: &Line) -> Step {
    let cmd = line.tok(0);
    let meta = cmd[0] == b'm' && cmd.len() == 2;
    let family = matches!(cmd[0], b'g' | b's' | b'a' | b'c' | b'i' | b'd' | b't');
    let admin = UNSUPPORTED_ADMIN.contains(&cmd);
    if !meta && !family && !admin && line.tok(line.n - 1).starts_with(b"HTTP/") {
        return Step::Close(CloseConnection { reply: None });
    }
    error()
}

fn request(command: Command, quiet: bool) -> Step {
    Step::Done(Decoded::Request(Request {
        command,
        quiet,
        opaque: 0,
        vbucket: 0,
    }))
}

fn error() -> Step {
    Step::Done(Decoded::Invalid(Some(Response::Error(
        ErrorKind::UnknownCommand,
    ))))
}

/// `CLIENT_ERROR <msg>`, unless `noreply` was seen.
fn client_error(quiet: bool, msg: &'static str) -> Step {
    Step::Done(Decoded::Invalid(
        (!quiet).then(|| Response::client_error(msg)),
    ))
}

/// get/gets/gat/gats `[<exptime>] <key>*` (protocol.txt "Retrieval command",
/// "Touch"). Keys are read from the whole line, past memcached's 24-token
/// window, as its `process_get_command` does.
fn get(line: &Line, kind: GetKind, limits: &Limits) -> Step {
    if line.ntokens() < 3 {
        return error();
    }
    let (exptime, skip) = if kind.touches() {
        match safe_strtol(line.tok(1)) {
            Some(e) => (i64::from(e), 2),
            None => return client_error(false, BAD_EXPTIME),
        }
    } else {
        (0, 1)
    };
    let mut too_many = false;
    // The tokens the line already split, unless it has more than it keeps.
    let (mut kept, mut rest);
    let (tokens, count): (&mut dyn Iterator<Item = (usize, usize)>, usize) = match line.all_tokens()
    {
        Some(t) => {
            kept = t.iter().copied();
            (&mut kept, t.len())
        }
        None => {
            rest = token_ranges(&line.bytes, 0);
            (&mut rest, MAX_TOKENS)
        }
    };
    let mut keys = Keys::with_capacity(count.saturating_sub(skip).min(limits.max_keys));
    for (a, b) in tokens.skip(skip) {
        if b - a > MAX_KEY_LEN {
            return client_error(false, BAD_FORMAT);
        }
        if keys.len() < limits.max_keys {
            keys.push(Key(line.bytes.slice(a..b)));
        } else {
            too_many = true;
        }
    }
    if too_many {
        return client_error(false, "too many keys");
    }
    if keys.is_empty() {
        // `gat <exptime>` alone: memcached answers an empty result.
        return Step::Done(Decoded::Invalid(Some(Response::End)));
    }
    request(
        Command::Get(Get {
            kind,
            keys,
            exptime,
            with_key: true,
        }),
        false,
    )
}

/// `<cmd> <key> <flags> <exptime> <bytes> [<cas unique>] [noreply]`
/// (protocol.txt "Storage commands"; memcached `process_update_command`).
fn store(line: &Line, mode: StoreMode, limits: &Limits) -> Step {
    let is_cas = mode == StoreMode::Cas;
    let nt = line.ntokens();
    let counts_ok = if is_cas {
        nt == 7 || nt == 8
    } else {
        nt == 6 || nt == 7
    };
    if !counts_ok {
        return error();
    }
    let quiet = line.noreply();
    if line.tok(1).len() > MAX_KEY_LEN {
        return client_error(quiet, BAD_FORMAT);
    }
    let (Some(flags), Some(exptime), Some(vlen)) = (
        safe_strtoul(line.tok(2)),
        safe_strtol(line.tok(3)),
        safe_strtol(line.tok(4)),
    ) else {
        return client_error(quiet, BAD_FORMAT);
    };
    let cas = if is_cas {
        match safe_strtoull(line.tok(5)) {
            Some(c) => c,
            None => return client_error(quiet, BAD_FORMAT),
        }
    } else {
        0
    };
    let Ok(len) = usize::try_from(vlen) else {
        return client_error(quiet, BAD_FORMAT);
    };
    if vlen > i32::MAX - 2 {
        return client_error(quiet, BAD_FORMAT);
    }
    let key = line.key(1);
    let store = Store {
        mode,
        key,
        flags,
        exptime: i64::from(exptime),
        value: Bytes::new(),
        cas,
    };
    if len > limits.max_value_len {
        let req = Request {
            command: Command::Store(store),
            quiet,
            opaque: 0,
            vbucket: 0,
        };
        return Step::Swallow {
            decoded: Decoded::TooLarge(req),
            bytes: len + 2,
        };
    }
    Step::Data(PendingStore { store, len, quiet })
}

/// `incr|decr <key> <value> [noreply]` (protocol.txt "Increment/Decrement").
fn arith(line: &Line, incr: bool) -> Step {
    let nt = line.ntokens();
    if nt != 4 && nt != 5 {
        return error();
    }
    let quiet = line.noreply();
    if line.tok(1).len() > MAX_KEY_LEN {
        return client_error(quiet, BAD_FORMAT);
    }
    let Some(delta) = safe_strtoull(line.tok(2)) else {
        return client_error(quiet, BAD_DELTA);
    };
    let key = line.key(1);
    let arith = Arith {
        incr,
        key,
        delta,
        initial: 0,
        exptime: Arith::NO_CREATE,
        cas: 0,
    };
    request(Command::Arith(arith), quiet)
}

/// `delete <key> [0] [noreply]` (protocol.txt "Deletion"; the `0` is the
/// legacy hold time memcached still accepts).
fn delete(line: &Line) -> Step {
    let nt = line.ntokens();
    if !(3..=5).contains(&nt) {
        return error();
    }
    let mut quiet = false;
    if nt > 3 {
        let hold_is_zero = line.tok(2) == b"0";
        quiet = line.noreply();
        let valid = (nt == 4 && (hold_is_zero || quiet)) || (nt == 5 && hold_is_zero && quiet);
        if !valid {
            return client_error(quiet, DELETE_USAGE);
        }
    }
    if line.tok(1).len() > MAX_KEY_LEN {
        return client_error(quiet, BAD_FORMAT);
    }
    request(
        Command::Delete {
            key: line.key(1),
            cas: 0,
        },
        quiet,
    )
}

/// `touch <key> <exptime> [noreply]` (protocol.txt "Touch").
fn touch(line: &Line) -> Step {
    let nt = line.ntokens();
    if nt != 4 && nt != 5 {
        return error();
    }
    let quiet = line.noreply();
    if line.tok(1).len() > MAX_KEY_LEN {
        return client_error(quiet, BAD_FORMAT);
    }
    let Some(exptime) = safe_strtol(line.tok(2)) else {
        return client_error(quiet, BAD_EXPTIME);
    };
    request(
        Command::Touch {
            key: line.key(1),
            exptime: i64::from(exptime),
        },
        quiet,
    )
}

/// `stats [<group> ...]`: the group is the rest of the line, trimmed; the
/// server decides what it means (protocol.txt "Statistics").
fn stats(line: &Line) -> Step {
    let (_, cmd_end) = line.toks[0];
    let rest = &line.bytes[cmd_end..];
    let start = cmd_end + rest.iter().take_while(|&&b| b == b' ').count();
    let end = line.bytes.len() - rest.iter().rev().take_while(|&&b| b == b' ').count();
    let group = line.bytes.slice(start..end.max(start));
    request(Command::Stats { group }, false)
}

/// `flush_all [<delay>] [noreply]` (protocol.txt "Other commands").
fn flush_all(line: &Line) -> Step {
    let nt = line.ntokens();
    if !(2..=4).contains(&nt) {
        return error();
    }
    let quiet = line.noreply();
    let mut delay = 0;
    if nt != if quiet { 3 } else { 2 } {
        match safe_strtol(line.tok(1)) {
            Some(d) => delay = i64::from(d),
            None => return client_error(quiet, BAD_EXPTIME),
        }
    }
    request(Command::FlushAll { delay }, quiet)
}

/// `verbosity <level> [noreply]` (protocol.txt "Other commands").
fn verbosity(line: &Line) -> Step {
    let nt = line.ntokens();
    if nt != 3 && nt != 4 {
        return error();
    }
    let quiet = line.noreply();
    match safe_strtoul(line.tok(1)) {
        Some(level) => request(Command::Verbosity { level }, quiet),
        None => client_error(quiet, BAD_FORMAT),
    }
}
