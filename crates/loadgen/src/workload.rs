//! What is sent: the get/set mix over the key space, encoded with the
//! project's own codecs (`protocol::ascii`, `protocol::binary`) used as a
//! client library, and the matching reply decoder.

use std::fmt;
use std::str::FromStr;

use bytes::BytesMut;
use protocol::{ascii, binary, Command, Get, GetKind, Limits, Request, Response, Store, StoreMode};

use crate::keys::{Keyspace, Rng, Values};
use crate::verify::{Expect, Verifier};

/// The wire protocol spoken to the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// memcached's text protocol.
    Ascii,
    /// memcached's binary protocol.
    Binary,
}

impl FromStr for Protocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ascii" => Ok(Protocol::Ascii),
            "binary" => Ok(Protocol::Binary),
            _ => Err(format!("unknown protocol {s:?} (ascii or binary)")),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Ascii => "ascii",
            Protocol::Binary => "binary",
        })
    }
}

/// The shape of the load, as given on the command line.
#[derive(Clone, Debug, PartialEq)]
pub struct Mix {
    /// ascii or binary.
    pub protocol: Protocol,
    /// Fraction of requests that are gets (the rest are sets).
    pub get_ratio: f64,
    /// Keys per get (1: single get).
    pub multiget: u32,
    /// Bytes per value.
    pub value_size: usize,
    /// Size of the key space.
    pub keys: u64,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            protocol: Protocol::Ascii,
            get_ratio: 0.9,
            multiget: 1,
            value_size: 32,
            keys: 10_000,
        }
    }
}

/// A request stream generator: the mix plus its key space and values.
#[derive(Clone, Debug)]
pub struct Workload {
    mix: Mix,
    keys: Keyspace,
    values: Values,
}

/// A reply stream could not be decoded: the connection is unusable.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Bad ascii reply.
    #[error(transparent)]
    Ascii(#[from] ascii::ResponseError),
    /// Bad binary reply.
    #[error(transparent)]
    Binary(#[from] binary::FrameError),
}

impl Workload {
    /// Builds the key space and values of `mix`.
    pub fn new(mix: Mix) -> Workload {
        let keys = Keyspace::new(mix.keys);
        let values = Values::new(mix.value_size);
        Workload { mix, keys, values }
    }

    /// The mix.
    pub fn mix(&self) -> &Mix {
        &self.mix
    }

    /// The key space.
    pub fn keys(&self) -> &Keyspace {
        &self.keys
    }

    /// The values.
    pub fn values(&self) -> &Values {
        &self.values
    }

    /// Appends one random request (get or set by the mix) to `out` and
    /// returns how to check its reply.
    pub fn next(&self, rng: &mut Rng, out: &mut BytesMut) -> Verifier {
        let first = rng.below(self.keys.len());
        if rng.unit() < self.mix.get_ratio {
            self.get(first, out)
        } else {
            self.set(first, out)
        }
    }

    /// Appends a set of key index `i` (with its value) to `out`.
    pub fn set(&self, i: u64, out: &mut BytesMut) -> Verifier {
        let req = Request::new(Command::Store(Store {
            mode: StoreMode::Set,
            key: self.keys.key(i),
            flags: 0,
            exptime: 0,
            value: self.values.of(i),
            cas: 0,
        }));
        self.encode(&req, out);
        Verifier::new(Expect::Stored)
    }

    /// Appends a get of `multiget` consecutive keys from index `first`.
    pub fn get(&self, first: u64, out: &mut BytesMut) -> Verifier {
        let count = self.mix.multiget.max(1);
        let key_at = |k: u32| self.keys.key(first + u64::from(k));
        match self.mix.protocol {
            Protocol::Ascii => {
                let keys = (0..count).map(key_at).collect();
                self.encode(&Request::new(Command::Get(get(keys, true))), out);
                Verifier::new(Expect::Hits { first, count })
            }
            Protocol::Binary if count == 1 => {
                self.encode(
                    &Request::new(Command::Get(get(vec![key_at(0)], false))),
                    out,
                );
                Verifier::new(Expect::BinaryHit { index: first })
            }
            Protocol::Binary => {
                for k in 0..count {
                    let mut req = Request::new(Command::Get(get(vec![key_at(k)], true)));
                    req.quiet = true;
                    self.encode(&req, out);
                }
                self.encode(&Request::new(Command::Noop), out);
                Verifier::new(Expect::QuietHits { first, count })
            }
        }
    }

    fn encode(&self, req: &Request, out: &mut BytesMut) {
        // Our own requests always have an encoding: keys are short and
        // ascii-safe, values bounded by the command line check.
        let ok = match self.mix.protocol {
            Protocol::Ascii => ascii::encode_request(req, out).is_ok(),
            Protocol::Binary => binary::encode_request(req, out).is_ok(),
        };
        debug_assert!(ok, "request without an encoding: {req:?}");
    }

    /// Decodes one reply frame from `buf` (`Ok(None)`: need more bytes).
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Response>, DecodeError> {
        let limits = reply_limits(self.mix.value_size);
        Ok(match self.mix.protocol {
            Protocol::Ascii => ascii::decode_response(buf, &limits)?,
            Protocol::Binary => binary::decode_response(buf, &limits)?.map(|(_, r)| r),
        })
    }
}

fn get(keys: Vec<protocol::Key>, with_key: bool) -> Get {
    Get {
        kind: GetKind::Get,
        keys: keys.into(),
        exptime: 0,
        with_key,
    }
}

/// Reply limits that accept our own values whatever their size.
fn reply_limits(value_size: usize) -> Limits {
    let d = Limits::default();
    d.with_max_value_len(d.max_value_len.max(value_size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mix(protocol: Protocol, multiget: u32) -> Mix {
        Mix {
            protocol,
            multiget,
            keys: 100,
            value_size: 4,
            ..Mix::default()
        }
    }

    #[test]
    fn ascii_requests_look_like_memcached_commands() {
        let w = Workload::new(mix(Protocol::Ascii, 3));
        let mut out = BytesMut::new();
        let v = w.get(99, &mut out);
        assert_eq!(&out[..], b"get ml:99 ml:00 ml:01\r\n");
        assert_eq!(
            v.expect(),
            &Expect::Hits {
                first: 99,
                count: 3
            }
        );
        out.clear();
        w.set(5, &mut out);
        assert_eq!(&out[..], b"set ml:05 0 0 4\r\njklm\r\n");
    }

    #[test]
    fn binary_multiget_is_getkq_run_and_noop() {
        let w = Workload::new(mix(Protocol::Binary, 2));
        let mut out = BytesMut::new();
        let v = w.get(0, &mut out);
        assert_eq!(v.expect(), &Expect::QuietHits { first: 0, count: 2 });
        assert_eq!(out[1], binary::opcode::GETKQ);
        let second = binary::HEADER_LEN + 5;
        assert_eq!(out[second + 1], binary::opcode::GETKQ);
        assert_eq!(out[2 * second + 1], binary::opcode::NOOP);
        assert_eq!(out.len(), 2 * second + binary::HEADER_LEN);

        let w = Workload::new(mix(Protocol::Binary, 1));
        out.clear();
        assert_eq!(w.get(3, &mut out).expect(), &Expect::BinaryHit { index: 3 });
        assert_eq!(out[1], binary::opcode::GET);
    }

    #[test]
    fn get_ratio_zero_and_one() {
        let mut rng = Rng::new(7);
        let mut out = BytesMut::new();
        let sets = Workload::new(Mix {
            get_ratio: 0.0,
            ..mix(Protocol::Ascii, 1)
        });
        let gets = Workload::new(Mix {
            get_ratio: 1.0,
            ..mix(Protocol::Ascii, 1)
        });
        for _ in 0..100 {
            assert_eq!(sets.next(&mut rng, &mut out).expect(), &Expect::Stored);
            assert!(matches!(
                gets.next(&mut rng, &mut out).expect(),
                Expect::Hits { .. }
            ));
        }
    }

    #[test]
    fn decodes_both_protocols() {
        let w = Workload::new(mix(Protocol::Ascii, 1));
        let mut buf = BytesMut::from(&b"STORED\r\nEND"[..]);
        assert_eq!(
            w.decode(&mut buf).unwrap(),
            Some(Response::Stored { cas: 0 })
        );
        assert_eq!(w.decode(&mut buf).unwrap(), None);
        assert!(w.decode(&mut BytesMut::from(&b"BOGUS\r\n"[..])).is_err());
    }
}
