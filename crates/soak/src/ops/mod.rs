//! What a client asks: random operations on its own keys, and the wire
//! requests (the project's codecs used as a client library) that carry
//! them.
//!
//! Key 0 of every client is a counter (set/add with digits, incr, decr);
//! the others hold segments ([`crate::value`]). A batch may touch a key
//! several times: replies are checked in order, so the model at reply time
//! has seen every earlier request (only a `cas` must be drawn without
//! knowing what the earlier ones of its batch will do).

use bytes::Bytes;
use protocol::{Arith, Command, Get, GetKind, Key, Request, Store, StoreMode};

use crate::check::Write;
use crate::epoch::Stamp;
use crate::model::{Content, KeyKind, KeyModel};
use crate::rng::Rng;
use crate::value::{self, Origin};

/// Keys per client: one counter and three blobs.
pub const KEYS_PER_CLIENT: u8 = 4;

/// Exptime given by `touch` (a week: nothing expires during a run).
pub const TOUCH_EXPTIME: i64 = 7 * 24 * 3600;

/// Appends stop (sets take over) once a value is this long.
const APPEND_LIMIT: usize = 64 * 1024;

/// The wire protocol a client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// memcached's text protocol.
    Ascii,
    /// memcached's binary protocol.
    Binary,
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::Ascii => "ascii",
            Protocol::Binary => "binary",
        })
    }
}

/// How a read is asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    /// ascii `get k1 k2 ...`.
    Get,
    /// ascii `gets k1 k2 ...`.
    Gets,
    /// binary GET (reply without key).
    BinGet,
    /// binary GETK.
    BinGetK,
    /// binary GETKQ per key, answered before the batch's closing NOOP.
    BinGetKQ,
}

/// One operation of a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// A write to one key; `quiet`: ascii noreply or a binary quiet opcode.
    Write {
        /// Key index.
        key: u8,
        /// What is written.
        write: Write,
        /// noreply / quiet.
        quiet: bool,
    },
    /// A read of one or more keys.
    Read {
        /// Key indexes (distinct).
        keys: Vec<u8>,
        /// How.
        how: Read,
    },
}

/// What an operation is drawn from.
pub struct Draw<'a> {
    /// The client's random stream.
    pub rng: &'a mut Rng,
    /// The client's key models.
    pub models: &'a [KeyModel],
    /// The client's protocol.
    pub protocol: Protocol,
    /// Percent of writes sent noreply / quiet.
    pub quiet_percent: u64,
    /// Fault clocks now (to pick a CAS known in this epoch).
    pub now: Stamp,
}

/// Operation names with their weights: blobs, then counters.
const BLOB_OPS: [(&str, u32); 11] = [
    ("set", 18),
    ("add", 6),
    ("replace", 6),
    ("append", 8),
    ("prepend", 6),
    ("cas", 8),
    ("get", 18),
    ("gets", 8),
    ("delete", 6),
    ("touch", 5),
    ("multiget", 11),
];
const COUNTER_OPS: [(&str, u32); 10] = [
    ("set", 10),
    ("add", 4),
    ("incr", 20),
    ("decr", 14),
    ("incr_create", 6),
    ("get", 16),
    ("gets", 6),
    ("delete", 6),
    ("touch", 4),
    ("multiget", 8),
];

impl Draw<'_> {
    /// Draws one operation as request `seq` of client `client`. `used`:
    /// the keys earlier requests of the same batch touch (a `cas` on one of
    /// them sends a CAS that cannot match, since the model does not know
    /// yet what those requests will do); the keys this one touches are added.
    pub fn op(&mut self, used: &mut Vec<u8>, client: u32, seq: u64) -> Op {
        let key = self.rng.index(usize::from(KEYS_PER_CLIENT)) as u8;
        let model = &self.models[usize::from(key)];
        let table: &[(&str, u32)] = match model.kind {
            KeyKind::Blob => &BLOB_OPS,
            KeyKind::Counter => &COUNTER_OPS,
        };
        let weights: Vec<u32> = table.iter().map(|(_, w)| *w).collect();
        let name = table[self.rng.weighted(&weights)].0;
        let origin = Origin { client, key, seq };
        let reused = used.contains(&key);
        let write = match name {
            "get" | "gets" | "multiget" => {
                let op = self.read(name, key);
                if let Op::Read { keys, .. } = &op {
                    used.extend(keys);
                }
                return op;
            }
            "incr" | "decr" | "incr_create" => self.arith(name),
            "delete" => Write::Delete,
            "touch" => Write::Touch,
            mode => self.store(mode, model, origin, reused),
        };
        used.push(key);
        // Binary has no quiet TOUCH.
        let quiet = write != Write::Touch && self.rng.percent(self.quiet_percent);
        Op::Write { key, write, quiet }
    }

    fn read(&mut self, name: &str, key: u8) -> Op {
        let mut keys = vec![key];
        if name == "multiget" {
            let mut others: Vec<u8> = (0..KEYS_PER_CLIENT).filter(|&k| k != key).collect();
            let more = 1 + self.rng.index(others.len());
            for _ in 0..more {
                keys.push(others.swap_remove(self.rng.index(others.len())));
            }
        }
        let how = match (self.protocol, name) {
            (Protocol::Ascii, "gets") => Read::Gets,
            (Protocol::Ascii, "multiget") if self.rng.percent(50) => Read::Gets,
            (Protocol::Ascii, _) => Read::Get,
            (Protocol::Binary, "multiget") => Read::BinGetKQ,
            (Protocol::Binary, _) if self.rng.percent(50) => Read::BinGetK,
            (Protocol::Binary, _) => Read::BinGet,
        };
        Op::Read { keys, how }
    }

    fn arith(&mut self, name: &str) -> Write {
        let delta = match self.rng.below(10) {
            0 => u64::MAX - self.rng.below(1000),
            1..=3 => 1,
            _ => self.rng.below(1_000_000),
        };
        let create = (name == "incr_create" && self.protocol == Protocol::Binary)
            .then(|| self.rng.below(1_000_000));
        Write::Arith {
            incr: name != "decr",
            delta,
            create,
        }
    }

    fn store(&mut self, name: &str, model: &KeyModel, origin: Origin, reused: bool) -> Write {
        let known_len = match &model.content {
            Content::Stored { data: Some(d), .. } => d.len(),
            _ => 0,
        };
        let mut mode = match name {
            "add" => StoreMode::Add,
            "replace" => StoreMode::Replace,
            "append" => StoreMode::Append,
            "prepend" => StoreMode::Prepend,
            "cas" => StoreMode::Cas,
            _ => StoreMode::Set,
        };
        if matches!(mode, StoreMode::Append | StoreMode::Prepend) && known_len > APPEND_LIMIT {
            mode = StoreMode::Set;
        }
        let data = match model.kind {
            KeyKind::Counter => value::counter_text(self.counter_value()),
            KeyKind::Blob => value::segment(origin, self.fill(mode)),
        };
        let cas = match mode {
            StoreMode::Cas if reused => self.bogus_cas(),
            StoreMode::Cas => self.cas_for(model),
            _ => 0,
        };
        Write::Store {
            mode,
            data,
            flags: value::flags(origin.client, origin.seq),
            cas,
        }
    }

    fn counter_value(&mut self) -> u64 {
        match self.rng.below(10) {
            0 => u64::MAX - self.rng.below(1000),
            _ => self.rng.below(1_000_000),
        }
    }

    /// Fill length: mostly small, some spanning several reads, a few large.
    fn fill(&mut self, mode: StoreMode) -> usize {
        let n = match self.rng.below(100) {
            0..=59 => self.rng.below(48),
            60..=89 => 48 + self.rng.below(1000),
            90..=97 => 1024 + self.rng.below(15_000),
            _ => 16_384 + self.rng.below(180_000),
        };
        let n = usize::try_from(n).unwrap_or(0);
        if matches!(mode, StoreMode::Append | StoreMode::Prepend) {
            n.min(1024)
        } else {
            n
        }
    }

    /// The CAS a `cas` sends: the current one when known (mostly), else
    /// one known to be stale, else one memcached never reaches.
    fn cas_for(&mut self, model: &KeyModel) -> u64 {
        match (model.cas_in(self.now), model.old_cas_in(self.now)) {
            (Some(c), _) if self.rng.percent(80) => c,
            (_, Some(old)) if self.rng.percent(50) => old,
            _ => self.bogus_cas(),
        }
    }

    /// A CAS unique memcached never reaches.
    fn bogus_cas(&mut self) -> u64 {
        (1 << 62) + self.rng.below(1 << 20)
    }
}

/// The wire requests of `op` on keys `names`; binary opaques come from
/// `opaque` (called once per request).
pub fn requests(
    op: &Op,
    protocol: Protocol,
    names: &[Bytes],
    mut opaque: impl FnMut() -> u32,
) -> Vec<Request> {
    let key = |i: u8| Key(names[usize::from(i)].clone());
    let mut reqs = match op {
        Op::Write {
            key: k,
            write,
            quiet,
        } => {
            let mut r = Request::new(write_command(key(*k), write));
            r.quiet = *quiet;
            vec![r]
        }
        Op::Read { keys, how } => match how {
            Read::Get | Read::Gets => vec![Request::new(Command::Get(get(
                keys.iter().map(|&k| key(k)).collect(),
                if *how == Read::Gets {
                    GetKind::Gets
                } else {
                    GetKind::Get
                },
                true,
            )))],
            Read::BinGet | Read::BinGetK | Read::BinGetKQ => keys
                .iter()
                .map(|&k| {
                    let mut r = Request::new(Command::Get(get(
                        vec![key(k)],
                        GetKind::Get,
                        *how != Read::BinGet,
                    )));
                    r.quiet = *how == Read::BinGetKQ;
                    r
                })
                .collect(),
        },
    };
    if protocol == Protocol::Binary {
        for r in &mut reqs {
            r.opaque = opaque();
        }
    }
    reqs
}

fn get(keys: Vec<Key>, kind: GetKind, with_key: bool) -> Get {
    Get {
        kind,
        keys: keys.into(),
        exptime: 0,
        with_key,
    }
}

fn write_command(key: Key, write: &Write) -> Command {
    match write {
        Write::Store {
            mode,
            data,
            flags,
            cas,
        } => Command::Store(Store {
            mode: *mode,
            key,
            flags: *flags,
            exptime: 0,
            value: data.clone(),
            cas: *cas,
        }),
        Write::Arith {
            incr,
            delta,
            create,
        } => Command::Arith(Arith {
            incr: *incr,
            key,
            delta: *delta,
            initial: create.unwrap_or(0),
            exptime: if create.is_some() {
                0
            } else {
                Arith::NO_CREATE
            },
            cas: 0,
        }),
        Write::Delete => Command::Delete { key, cas: 0 },
        Write::Touch => Command::Touch {
            key,
            exptime: TOUCH_EXPTIME,
        },
    }
}

#[cfg(test)]
mod tests;
