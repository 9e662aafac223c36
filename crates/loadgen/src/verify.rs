//! Reply verification, so that a broken proxy cannot look fast.
//!
//! Each request sent carries a [`Verifier`] that is fed the reply frames in
//! order. It says when the request's reply is complete and whether it was
//! right: a store must answer `STORED`; a get must return every key asked
//! (the key space was prefilled), each once, with the key's value. Hits may
//! come in any order (a proxy may merge per-server replies differently).

use protocol::Response;

use crate::keys::{Keyspace, Values};

/// What a request expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// A store: one `STORED`.
    Stored,
    /// An ascii get of `count` consecutive key indexes from `first` (modulo
    /// the key space), ended by `END`; an error reply ends it too.
    Hits {
        /// First key index.
        first: u64,
        /// Number of keys.
        count: u32,
    },
    /// A binary run of `count` GETKQs from `first`, ended by a NOOP (which
    /// decodes as `End`). A failing GETKQ shows its error and the run goes on.
    QuietHits {
        /// First key index.
        first: u64,
        /// Number of keys.
        count: u32,
    },
    /// A binary single GET: one frame, a hit without key or a miss.
    BinaryHit {
        /// The key index.
        index: u64,
    },
}

/// Why a reply was wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// Fewer hits than keys asked.
    #[error("{missing} of {asked} keys missing")]
    Miss {
        /// Keys without a hit.
        missing: u32,
        /// Keys asked.
        asked: u32,
    },
    /// A hit whose data is not the key's value.
    #[error("wrong value for key index {0}")]
    WrongValue(u64),
    /// A hit for a key that was not asked, or asked once and returned twice.
    #[error("unexpected or repeated key {0:?}")]
    UnexpectedKey(String),
    /// An error reply (`ERROR`, `CLIENT_ERROR`, `SERVER_ERROR`, a binary
    /// error status).
    #[error("error reply {0}")]
    ErrorReply(String),
    /// Any other frame the request cannot have.
    #[error("unexpected reply {0}")]
    Unexpected(String),
}

impl Problem {
    /// The problem of a frame the request cannot have.
    fn unexpected(resp: &Response) -> Problem {
        match resp {
            Response::Error(_) | Response::Status { .. } => {
                Problem::ErrorReply(format!("{resp:?}"))
            }
            _ => Problem::Unexpected(format!("{resp:?}")),
        }
    }
}

/// The verification state of one request.
#[derive(Clone, Debug)]
pub struct Verifier {
    expect: Expect,
    seen: Vec<bool>,
    hits: u32,
    problem: Option<Problem>,
}

impl Verifier {
    /// A verifier for a request expecting `expect`.
    pub fn new(expect: Expect) -> Verifier {
        let seen = match expect {
            Expect::Hits { count, .. } | Expect::QuietHits { count, .. } if count > 1 => {
                vec![false; count as usize]
            }
            _ => Vec::new(),
        };
        Verifier {
            expect,
            seen,
            hits: 0,
            problem: None,
        }
    }

    /// What the request expects.
    pub fn expect(&self) -> &Expect {
        &self.expect
    }

    /// Feeds the next reply frame. `None`: more frames belong to this
    /// request; `Some(result)`: the reply is complete.
    pub fn feed(
        &mut self,
        resp: &Response,
        keys: &Keyspace,
        values: &Values,
    ) -> Option<Result<(), Problem>> {
        match (self.expect.clone(), resp) {
            (Expect::Stored, Response::Stored { .. }) => Some(Ok(())),
            (Expect::BinaryHit { index }, Response::Value(v)) => {
                Some(if values.matches(index, &v.data) {
                    Ok(())
                } else {
                    Err(Problem::WrongValue(index))
                })
            }
            (Expect::BinaryHit { .. }, Response::End) => Some(Err(Problem::Miss {
                missing: 1,
                asked: 1,
            })),
            (
                Expect::Hits { first, count } | Expect::QuietHits { first, count },
                Response::Value(v),
            ) => {
                self.hit(first, count, v.key.as_bytes(), &v.data, keys, values);
                None
            }
            (Expect::Hits { count, .. } | Expect::QuietHits { count, .. }, Response::End) => {
                Some(self.finish(count))
            }
            (Expect::QuietHits { .. }, _) => {
                self.note(Problem::unexpected(resp));
                None
            }
            _ => Some(Err(Problem::unexpected(resp))),
        }
    }

    fn hit(&mut self, first: u64, count: u32, key: &[u8], data: &[u8], ks: &Keyspace, vs: &Values) {
        let index = match ks.index_of(key) {
            Some(i) => i,
            None => {
                self.note(Problem::UnexpectedKey(String::from_utf8_lossy(key).into()));
                return;
            }
        };
        let offset = (index + ks.len() - first % ks.len()) % ks.len();
        if offset >= u64::from(count) {
            self.note(Problem::UnexpectedKey(String::from_utf8_lossy(key).into()));
            return;
        }
        if count > 1 {
            let slot = &mut self.seen[offset as usize];
            if *slot {
                self.note(Problem::UnexpectedKey(String::from_utf8_lossy(key).into()));
                return;
            }
            *slot = true;
        } else if self.hits > 0 {
            self.note(Problem::UnexpectedKey(String::from_utf8_lossy(key).into()));
            return;
        }
        if !vs.matches(index, data) {
            self.note(Problem::WrongValue(index));
        }
        self.hits += 1;
    }

    fn note(&mut self, p: Problem) {
        self.problem.get_or_insert(p);
    }

    fn finish(&mut self, count: u32) -> Result<(), Problem> {
        if let Some(p) = self.problem.take() {
            return Err(p);
        }
        if self.hits < count {
            return Err(Problem::Miss {
                missing: count - self.hits,
                asked: count,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use protocol::{ErrorKind, Key, Value};

    use super::*;

    fn fixture() -> (Keyspace, Values) {
        (Keyspace::new(100), Values::new(8))
    }

    fn hit(ks: &Keyspace, vs: &Values, i: u64) -> Response {
        Response::Value(Value {
            key: ks.key(i),
            flags: 0,
            cas: 0,
            data: vs.of(i),
        })
    }

    fn run(v: &mut Verifier, frames: &[Response]) -> Vec<Option<Result<(), Problem>>> {
        let (ks, vs) = fixture();
        frames.iter().map(|f| v.feed(f, &ks, &vs)).collect()
    }

    #[test]
    fn store_wants_stored() {
        let mut v = Verifier::new(Expect::Stored);
        assert_eq!(run(&mut v, &[Response::Stored { cas: 1 }]), [Some(Ok(()))]);
        let mut v = Verifier::new(Expect::Stored);
        let r = run(&mut v, &[Response::server_error("out of memory")]);
        assert!(matches!(r[0], Some(Err(Problem::ErrorReply(_)))));
        let mut v = Verifier::new(Expect::Stored);
        let r = run(&mut v, &[Response::Deleted]);
        assert!(matches!(r[0], Some(Err(Problem::Unexpected(_)))));
    }

    #[test]
    fn multiget_accepts_any_order_and_wraps_the_key_space() {
        let (ks, vs) = fixture();
        let mut v = Verifier::new(Expect::Hits {
            first: 98,
            count: 3,
        });
        let frames = [
            hit(&ks, &vs, 0),
            hit(&ks, &vs, 98),
            hit(&ks, &vs, 99),
            Response::End,
        ];
        assert_eq!(run(&mut v, &frames), [None, None, None, Some(Ok(()))]);
    }

    #[test]
    fn multiget_catches_misses_duplicates_strangers_and_bad_data() {
        let (ks, vs) = fixture();
        let e = Expect::Hits {
            first: 10,
            count: 2,
        };
        let mut v = Verifier::new(e.clone());
        let r = run(&mut v, &[hit(&ks, &vs, 10), Response::End]);
        assert_eq!(
            r[1],
            Some(Err(Problem::Miss {
                missing: 1,
                asked: 2
            }))
        );

        let mut v = Verifier::new(e.clone());
        let r = run(
            &mut v,
            &[hit(&ks, &vs, 10), hit(&ks, &vs, 10), Response::End],
        );
        assert!(matches!(r[2], Some(Err(Problem::UnexpectedKey(_)))));

        let mut v = Verifier::new(e.clone());
        let r = run(
            &mut v,
            &[hit(&ks, &vs, 10), hit(&ks, &vs, 12), Response::End],
        );
        assert!(matches!(r[2], Some(Err(Problem::UnexpectedKey(_)))));

        let wrong = Response::Value(Value {
            key: ks.key(11),
            flags: 0,
            cas: 0,
            data: vs.of(12),
        });
        let mut v = Verifier::new(e);
        let r = run(&mut v, &[hit(&ks, &vs, 10), wrong, Response::End]);
        assert_eq!(r[2], Some(Err(Problem::WrongValue(11))));
    }

    #[test]
    fn single_get_hit_and_miss() {
        let (ks, vs) = fixture();
        let mut v = Verifier::new(Expect::Hits { first: 5, count: 1 });
        assert_eq!(
            run(&mut v, &[hit(&ks, &vs, 5), Response::End])[1],
            Some(Ok(()))
        );
        let mut v = Verifier::new(Expect::Hits { first: 5, count: 1 });
        let r = run(&mut v, &[Response::End]);
        assert_eq!(
            r[0],
            Some(Err(Problem::Miss {
                missing: 1,
                asked: 1
            }))
        );
        let mut v = Verifier::new(Expect::Hits { first: 5, count: 1 });
        let r = run(&mut v, &[hit(&ks, &vs, 5), hit(&ks, &vs, 5), Response::End]);
        assert!(matches!(r[2], Some(Err(Problem::UnexpectedKey(_)))));
    }

    #[test]
    fn ascii_error_ends_a_get() {
        let mut v = Verifier::new(Expect::Hits { first: 5, count: 3 });
        let r = run(&mut v, &[Response::Error(ErrorKind::UnknownCommand)]);
        assert!(matches!(r[0], Some(Err(Problem::ErrorReply(_)))));
    }

    #[test]
    fn binary_single_get_is_one_frame() {
        let (_, vs) = fixture();
        let keyless = Response::Value(Value {
            key: Key(Bytes::new()),
            flags: 0,
            cas: 9,
            data: vs.of(7),
        });
        let mut v = Verifier::new(Expect::BinaryHit { index: 7 });
        assert_eq!(run(&mut v, std::slice::from_ref(&keyless)), [Some(Ok(()))]);
        let mut v = Verifier::new(Expect::BinaryHit { index: 8 });
        assert_eq!(run(&mut v, &[keyless]), [Some(Err(Problem::WrongValue(8)))]);
        let mut v = Verifier::new(Expect::BinaryHit { index: 8 });
        let r = run(&mut v, &[Response::End]);
        assert_eq!(
            r[0],
            Some(Err(Problem::Miss {
                missing: 1,
                asked: 1
            }))
        );
    }

    #[test]
    fn quiet_run_goes_on_after_an_error_until_noop() {
        let (ks, vs) = fixture();
        let mut v = Verifier::new(Expect::QuietHits { first: 1, count: 2 });
        let r = run(
            &mut v,
            &[
                hit(&ks, &vs, 1),
                Response::server_error("boom"),
                Response::End,
            ],
        );
        assert_eq!(r[0], None);
        assert_eq!(r[1], None);
        assert!(matches!(r[2], Some(Err(Problem::ErrorReply(_)))));
        let mut v = Verifier::new(Expect::QuietHits { first: 1, count: 2 });
        let r = run(&mut v, &[hit(&ks, &vs, 2), hit(&ks, &vs, 1), Response::End]);
        assert_eq!(r[2], Some(Ok(())));
    }
}
