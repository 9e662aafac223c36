//! The one request/response model shared by every encoding.
//!
//! A [`Request`] or [`Response`] says *what* is asked or answered; the
//! `ascii` and `binary` modules say how it looks on the wire. Translation
//! (a2b, b2a) is "decode with one, encode with the other".
//!
//! Keys and values are [`Bytes`]: decoders slice them out of the read buffer
//! without copying.

use bytes::Bytes;

/// Longest key memcached accepts (protocol.txt, "Keys").
pub const MAX_KEY_LEN: usize = 250;

/// Exptime values above this many seconds are absolute unix times
/// (protocol.txt, "Expiration times").
pub const REALTIME_MAXDELTA: i64 = 60 * 60 * 24 * 30;

/// A key as received. Ascii keys are validated by the ascii decoder (no
/// space or control bytes); binary keys may hold any byte.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(pub Bytes);

impl Key {
    /// Wraps bytes without validation.
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        Key(bytes.into())
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for the empty key (never valid on the wire, but binary frames can carry it).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when the key can be written in an ascii command line:
    /// 1..=250 bytes, none of them a space or control byte.
    pub fn is_ascii_safe(&self) -> bool {
        !self.0.is_empty()
            && self.0.len() <= MAX_KEY_LEN
            && self.0.iter().all(|&b| b > b' ' && b != 0x7f)
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({:?})", String::from_utf8_lossy(&self.0))
    }
}

impl From<&'static str> for Key {
    fn from(s: &'static str) -> Self {
        Key(Bytes::from_static(s.as_bytes()))
    }
}

/// Which storage command (protocol.txt, "Storage commands").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoreMode {
    /// Store unconditionally.
    Set,
    /// Store only if absent.
    Add,
    /// Store only if present.
    Replace,
    /// Add data after the existing value.
    Append,
    /// Add data before the existing value.
    Prepend,
    /// Store only if the CAS unique matches (`Store::cas`). Binary SET/ADD/REPLACE
    /// with a non-zero CAS keep their own mode and carry the CAS instead.
    Cas,
}

/// Which retrieval command. It decides what an ascii reply shows and which
/// binary opcode is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GetKind {
    /// ascii `get`; binary GET, GETQ, GETK, GETKQ (see [`Get::with_key`]).
    Get,
    /// ascii `gets` (CAS shown). The binary decoder never produces it.
    Gets,
    /// ascii `gat`; binary GAT, GATQ, GATK, GATKQ.
    Gat,
    /// ascii `gats` (CAS shown). The binary decoder never produces it.
    Gats,
}

impl GetKind {
    /// True for the touching variants (gat, gats).
    pub fn touches(self) -> bool {
        matches!(self, GetKind::Gat | GetKind::Gats)
    }
}

/// A retrieval: ascii `get/gets/gat/gats k1 k2 ...`, or one binary GET-family frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Get {
    /// ascii or binary flavour; see [`GetKind`].
    pub kind: GetKind,
    /// Keys in request order, duplicates kept (binary: exactly one).
    pub keys: crate::Keys,
    /// New exptime for gat/gats (raw, as sent).
    pub exptime: i64,
    /// Binary only: the reply carries the key (GETK, GETKQ, GATK, GATKQ).
    /// The ascii decoder sets it to true (ascii replies always show the key).
    pub with_key: bool,
}

/// A storage command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Store {
    /// set/add/replace/append/prepend/cas.
    pub mode: StoreMode,
    /// The key.
    pub key: Key,
    /// Opaque 32-bit client flags.
    pub flags: u32,
    /// Raw exptime as sent (see [`REALTIME_MAXDELTA`]).
    pub exptime: i64,
    /// The data block.
    pub value: Bytes,
    /// CAS unique to compare; 0 means none (ascii `cas` always sets it).
    pub cas: u64,
}

/// incr / decr.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arith {
    /// true for incr, false for decr.
    pub incr: bool,
    /// The key.
    pub key: Key,
    /// Amount to add or subtract.
    pub delta: u64,
    /// Binary only: value to create when the key is missing, unless
    /// `exptime` is 0xffffffff. The ascii decoder sets `initial: 0, exptime: NO_CREATE`
    /// meaning "never create" (see [`Arith::creates`]).
    pub initial: u64,
    /// Binary exptime for the created item; `0xffffffff` (as u32) means do not
    /// create. Stored as the raw u32 widened to i64; ascii uses `NO_CREATE`.
    pub exptime: i64,
    /// Binary CAS to compare; 0 means none.
    pub cas: u64,
}

impl Arith {
    /// Binary exptime meaning "fail with NOT_FOUND instead of creating".
    pub const NO_CREATE: i64 = 0xffff_ffff;

    /// True when a missing key is created with `initial`.
    pub fn creates(&self) -> bool {
        self.exptime != Self::NO_CREATE
    }
}

/// Every command of the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// get, gets, gat, gats and the binary GET/GAT family.
    Get(Get),
    /// set, add, replace, append, prepend, cas.
    Store(Store),
    /// incr, decr.
    Arith(Arith),
    /// delete; binary may carry a CAS.
    Delete {
        /// The key.
        key: Key,
        /// Binary CAS to compare; 0 means none.
        cas: u64,
    },
    /// touch.
    Touch {
        /// The key.
        key: Key,
        /// New raw exptime.
        exptime: i64,
    },
    /// `flush_all [delay]`.
    FlushAll {
        /// Raw delay/exptime; 0 means now.
        delay: i64,
    },
    /// `stats [group]`. `group` is the rest of the line (ascii) or the key (binary).
    Stats {
        /// Empty for plain `stats`.
        group: Bytes,
    },
    /// version.
    Version,
    /// verbosity N.
    Verbosity {
        /// The level.
        level: u32,
    },
    /// quit.
    Quit,
    /// Binary NOOP (no ascii form; the ascii encoder writes nothing useful for it).
    Noop,
    /// Binary SASL_LIST_MECHS.
    SaslListMechs,
    /// Binary SASL_AUTH: mechanism in the key, data in the value.
    SaslAuth {
        /// e.g. `PLAIN`.
        mechanism: Bytes,
        /// e.g. `\0user\0password`.
        data: Bytes,
    },
    /// Binary SASL_STEP.
    SaslStep {
        /// The mechanism.
        mechanism: Bytes,
        /// Step data.
        data: Bytes,
    },
}

/// A request plus the framing facts that both encodings need to answer it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// What is asked.
    pub command: Command,
    /// ascii `noreply`, or a binary quiet opcode (…Q).
    pub quiet: bool,
    /// Binary opaque, echoed in the reply; 0 for ascii.
    pub opaque: u32,
    /// Binary vBucket id (request header "reserved" field); 0 for ascii.
    pub vbucket: u16,
}

impl Request {
    /// A loud request with opaque and vBucket 0.
    pub fn new(command: Command) -> Self {
        Request {
            command,
            quiet: false,
            opaque: 0,
            vbucket: 0,
        }
    }
}

/// A stored item as returned by a retrieval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    /// The key (ascii always; binary only for GETK-style replies).
    pub key: Key,
    /// Client flags.
    pub flags: u32,
    /// CAS unique (shown by ascii only for gets/gats).
    pub cas: u64,
    /// The data.
    pub data: Bytes,
}

/// What went wrong, in a form each encoding can write exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// ascii `ERROR`; binary status 0x0081 Unknown command.
    UnknownCommand,
    /// ascii `CLIENT_ERROR <msg>`; binary status 0x0004 Invalid arguments
    /// (or the status in [`Response::Status`] when one is more precise).
    Client(Bytes),
    /// ascii `SERVER_ERROR <msg>`; binary status 0x0084 Internal error.
    Server(Bytes),
}

/// Binary status codes (protocol_binary.h); ascii has no single equivalent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Status {
    /// 0x0000
    NoError = 0x0000,
    /// 0x0001
    KeyNotFound = 0x0001,
    /// 0x0002
    KeyExists = 0x0002,
    /// 0x0003
    ValueTooLarge = 0x0003,
    /// 0x0004
    InvalidArguments = 0x0004,
    /// 0x0005
    ItemNotStored = 0x0005,
    /// 0x0006
    NonNumeric = 0x0006,
    /// 0x0007
    NotMyVbucket = 0x0007,
    /// 0x0020
    AuthError = 0x0020,
    /// 0x0021
    AuthContinue = 0x0021,
    /// 0x0081
    UnknownCommand = 0x0081,
    /// 0x0082
    OutOfMemory = 0x0082,
    /// 0x0083
    NotSupported = 0x0083,
    /// 0x0084
    InternalError = 0x0084,
    /// 0x0085
    Busy = 0x0085,
    /// 0x0086
    TemporaryFailure = 0x0086,
}

impl Status {
    /// Parses a wire status; unknown codes give `None`.
    pub fn from_u16(v: u16) -> Option<Status> {
        use Status::*;
        Some(match v {
            0x0000 => NoError,
            0x0001 => KeyNotFound,
            0x0002 => KeyExists,
            0x0003 => ValueTooLarge,
            0x0004 => InvalidArguments,
            0x0005 => ItemNotStored,
            0x0006 => NonNumeric,
            0x0007 => NotMyVbucket,
            0x0020 => AuthError,
            0x0021 => AuthContinue,
            0x0081 => UnknownCommand,
            0x0082 => OutOfMemory,
            0x0083 => NotSupported,
            0x0084 => InternalError,
            0x0085 => Busy,
            0x0086 => TemporaryFailure,
            _ => return None,
        })
    }
}

/// One reply frame. A retrieval answers with zero or more [`Response::Value`]
/// then [`Response::End`]; stats with [`Response::Stat`]s then `End`; every
/// other command with exactly one frame (or none when quiet and successful).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// A hit.
    Value(Value),
    /// End of a retrieval or of stats (ascii `END`). For a binary single GET
    /// it stands for the miss (status Key not found); for a binary stats run
    /// it is the empty terminating STAT frame; after quiet gets it is the
    /// NOOP reply.
    End,
    /// `STORED`. `cas` is the new CAS unique (binary shows it).
    Stored {
        /// New CAS unique.
        cas: u64,
    },
    /// `NOT_STORED`.
    NotStored,
    /// `EXISTS`.
    Exists,
    /// `NOT_FOUND`.
    NotFound,
    /// `DELETED`.
    Deleted,
    /// `TOUCHED`.
    Touched {
        /// CAS unique after the touch (binary shows it).
        cas: u64,
    },
    /// `OK` (flush_all, verbosity; binary FLUSH/VERBOSITY success, NOOP).
    Ok,
    /// incr/decr result.
    Numeric {
        /// The new value.
        value: u64,
        /// New CAS unique (binary shows it).
        cas: u64,
    },
    /// `VERSION <v>`.
    Version(Bytes),
    /// `STAT <name> <value>`.
    Stat {
        /// Stat name.
        name: Bytes,
        /// Stat value.
        value: Bytes,
    },
    /// `RESET` (stats reset).
    Reset,
    /// SASL_LIST_MECHS reply, e.g. `PLAIN`.
    SaslMechs(Bytes),
    /// SASL success, body as the server wrote it (e.g. `Authenticated`).
    SaslAuthenticated(Bytes),
    /// An error in ascii terms.
    Error(ErrorKind),
    /// A binary status with no closer ascii meaning (NOT_MY_VBUCKET, EBUSY,
    /// auth errors, ...), with the body text the server sent.
    Status {
        /// The status code.
        status: Status,
        /// Error text (binary body).
        message: Bytes,
    },
}

impl Response {
    /// `CLIENT_ERROR <msg>` from a static message.
    pub fn client_error(msg: &'static str) -> Self {
        Response::Error(ErrorKind::Client(Bytes::from_static(msg.as_bytes())))
    }

    /// `SERVER_ERROR <msg>` from a static message.
    pub fn server_error(msg: &'static str) -> Self {
        Response::Error(ErrorKind::Server(Bytes::from_static(msg.as_bytes())))
    }
}

/// Limits that decoders enforce before reserving memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest value accepted (`-I`, default 1 MiB).
    pub max_value_len: usize,
    /// Longest ascii command line (without data block) before the connection
    /// is treated as abusive. memcached reads up to 2048 bytes for a line
    /// that is not a get (see `ascii` module docs).
    pub max_line_len: usize,
    /// Most keys in one ascii multi-get line (bounded by the line length anyway).
    pub max_keys: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_value_len: 1024 * 1024,
            max_line_len: 2048,
            max_keys: 24 * 1024,
        }
    }
}

impl Limits {
    /// Builder: set the item size limit.
    pub fn with_max_value_len(mut self, n: usize) -> Self {
        self.max_value_len = n;
        self
    }

    /// Builder: set the line limit.
    pub fn with_max_line_len(mut self, n: usize) -> Self {
        self.max_line_len = n;
        self
    }
}
