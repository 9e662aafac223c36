//! [`Locator`]: key → server index, given a key hash, a [`Distribution`] and
//! optionally a twemproxy [`HashTag`]. The library-specific constructors live
//! in [`crate::presets`].

use crate::continuum::Continuum;
use crate::error::RoutingError;
use crate::hash::HashFn;

/// How a key hash becomes a server index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Distribution {
    /// `hash % servers` (libmemcached MODULA; weights ignored).
    Modula {
        /// The number of servers, at least 1.
        servers: u32,
    },
    /// twemproxy modula: server `i` owns `weight_i` consecutive slots and the
    /// key takes slot `hash % total_weight`. Stored as the running totals
    /// (slot ends), so huge weights cost no memory.
    WeightedModula {
        /// `ends[i]` = the sum of the weights of servers `0..=i`.
        ends: Vec<u32>,
    },
    /// A ketama continuum.
    Continuum(Continuum),
}

impl Distribution {
    /// The number of servers this distribution spreads keys over.
    pub fn server_count(&self) -> usize {
        match self {
            Distribution::Modula { servers } => *servers as usize,
            Distribution::WeightedModula { ends } => ends.len(),
            Distribution::Continuum(c) => c.server_count(),
        }
    }

    /// The server index for an already computed key hash.
    pub fn locate_hash(&self, hash: u32) -> usize {
        match self {
            Distribution::Modula { servers } => (hash % (*servers).max(1)) as usize,
            Distribution::WeightedModula { ends } => {
                let total = ends.last().copied().unwrap_or(0).max(1);
                let slot = hash % total;
                ends.partition_point(|&end| end <= slot)
            }
            Distribution::Continuum(c) => c.lookup(hash),
        }
    }

    /// The continuum, when this is a consistent-hashing distribution.
    pub fn continuum(&self) -> Option<&Continuum> {
        match self {
            Distribution::Continuum(c) => Some(c),
            _ => None,
        }
    }
}

/// A twemproxy `hash_tag` such as `"{}"`: only the part of the key between
/// the first opening byte and the first closing byte after it is hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HashTag {
    open: u8,
    close: u8,
}

impl HashTag {
    /// A tag from exactly two bytes, e.g. `b"{}"`.
    pub fn new(tag: &[u8]) -> Result<Self, RoutingError> {
        match *tag {
            [open, close] => Ok(HashTag { open, close }),
            _ => Err(RoutingError::BadHashTag(tag.len())),
        }
    }

    /// The part of `key` to hash: the bytes strictly between the first
    /// `open` and the first `close` after it when that is non-empty,
    /// otherwise the whole key.
    pub fn extract<'k>(&self, key: &'k [u8]) -> &'k [u8] {
        let Some(start) = key.iter().position(|&b| b == self.open) else {
            return key;
        };
        let inner = &key[start + 1..];
        match inner.iter().position(|&b| b == self.close) {
            Some(end) if end > 0 => &inner[..end],
            _ => key,
        }
    }
}

/// Maps keys to server indices. Immutable once built; lookups never
/// allocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locator {
    hash: HashFn,
    distribution: Distribution,
    hash_tag: Option<HashTag>,
    empty_key_is_zero: bool,
}

impl Locator {
    /// A locator hashing keys with `hash` and spreading them with
    /// `distribution`. Fails when the distribution has no servers.
    pub fn new(hash: HashFn, distribution: Distribution) -> Result<Self, RoutingError> {
        let valid = match &distribution {
            Distribution::Modula { servers } => *servers > 0,
            Distribution::WeightedModula { ends } => ends.last().is_some_and(|&t| t > 0),
            Distribution::Continuum(c) => !c.is_empty() && c.server_count() > 0,
        };
        if !valid {
            return Err(RoutingError::NoServers);
        }
        Ok(Locator {
            hash,
            distribution,
            hash_tag: None,
            empty_key_is_zero: false,
        })
    }

    /// Hash only the tagged part of keys (twemproxy `hash_tag`).
    pub fn with_hash_tag(mut self, tag: HashTag) -> Self {
        self.hash_tag = Some(tag);
        self
    }

    /// Make an empty key (after tag extraction) hash to 0, as twemproxy does,
    /// instead of hashing it.
    pub fn with_empty_key_as_zero(mut self, yes: bool) -> Self {
        self.empty_key_is_zero = yes;
        self
    }

    /// The server index for `key`. With a single server the answer is 0
    /// without hashing, as libmemcached and twemproxy do.
    pub fn locate(&self, key: &[u8]) -> usize {
        if self.server_count() == 1 {
            return 0;
        }
        self.distribution.locate_hash(self.key_hash(key))
    }

    /// The key hash the distribution sees (after the hash tag, if any).
    pub fn key_hash(&self, key: &[u8]) -> u32 {
        let key = match &self.hash_tag {
            Some(tag) => tag.extract(key),
            None => key,
        };
        if self.empty_key_is_zero && key.is_empty() {
            return 0;
        }
        self.hash.hash(key)
    }

    /// The number of servers.
    pub fn server_count(&self) -> usize {
        self.distribution.server_count()
    }

    /// The key hash function.
    pub fn hash_fn(&self) -> HashFn {
        self.hash
    }

    /// The distribution.
    pub fn distribution(&self) -> &Distribution {
        &self.distribution
    }

    /// The hash tag, if any.
    pub fn hash_tag(&self) -> Option<HashTag> {
        self.hash_tag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_tag_rules() {
        let tag = HashTag::new(b"{}").unwrap();
        assert_eq!(tag.extract(b"user:{42}:name"), b"42");
        assert_eq!(tag.extract(b"{a}{b}"), b"a");
        assert_eq!(tag.extract(b"x{}y"), b"x{}y", "nothing between: whole key");
        assert_eq!(tag.extract(b"x{y"), b"x{y", "no closing byte: whole key");
        assert_eq!(tag.extract(b"x}y{"), b"x}y{");
        assert_eq!(tag.extract(b"}{ab}"), b"ab", "close before open is ignored");
        assert_eq!(HashTag::new(b"{"), Err(RoutingError::BadHashTag(1)));
    }

    #[test]
    fn weighted_modula_slots() {
        // Weights 1, 2, 3: slots [0, 1, 1, 2, 2, 2].
        let d = Distribution::WeightedModula {
            ends: vec![1, 3, 6],
        };
        let got: Vec<usize> = (0..12).map(|h| d.locate_hash(h)).collect();
        assert_eq!(got, [0, 1, 1, 2, 2, 2, 0, 1, 1, 2, 2, 2]);
    }

    #[test]
    fn empty_distributions_are_refused() {
        let none = Distribution::Modula { servers: 0 };
        assert_eq!(
            Locator::new(HashFn::Md5, none),
            Err(RoutingError::NoServers)
        );
        let none = Distribution::WeightedModula { ends: vec![] };
        assert_eq!(
            Locator::new(HashFn::Md5, none),
            Err(RoutingError::NoServers)
        );
    }

    #[test]
    fn empty_key_as_zero() {
        let d = Distribution::Modula { servers: 7 };
        let plain = Locator::new(HashFn::Md5, d.clone()).unwrap();
        let zero = Locator::new(HashFn::Md5, d)
            .unwrap()
            .with_empty_key_as_zero(true);
        assert_eq!(zero.key_hash(b""), 0);
        assert_eq!(plain.key_hash(b""), HashFn::Md5.hash(b""));
    }
}
