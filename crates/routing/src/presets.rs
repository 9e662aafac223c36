//! Constructors that reproduce a particular library's setup: libmemcached
//! 1.x, moxi's bundled libmemcached 0.x, twemproxy and libvbucket.

use crate::continuum::{Continuum, LIBMEMCACHED_POINTS_PER_SERVER, LIBVBUCKET_NAMES_PER_SERVER};
use crate::error::RoutingError;
use crate::hash::HashFn;
use crate::locator::{Distribution, Locator};
use crate::server::Server;

/// libmemcached's distribution setting, as read back with
/// `memcached_behavior_get_distribution()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LibmemcachedDistribution {
    /// MEMCACHED_DISTRIBUTION_MODULA.
    Modula,
    /// CONSISTENT, CONSISTENT_KETAMA or CONSISTENT_WEIGHTED: point names
    /// `host-i` (`host:port-i` off port 11211).
    Ketama,
    /// CONSISTENT_KETAMA_SPY: point names `/host:port-i`.
    KetamaSpy,
}

impl Locator {
    /// libmemcached 1.x from its final state (section 5 of the vectors
    /// README): the distribution, the key hash and the weighted-continuum
    /// flag. Which behaviour calls lead to which state is libmemcached's
    /// business (for example KETAMA_WEIGHTED sets MD5 and the flag; weights
    /// above 1 set the flag).
    ///
    /// Weighted: MD5 points, float32 point counts. Unweighted: 100 points
    /// per server hashed with `key_hash`. Modula: `key_hash % n`.
    pub fn libmemcached(
        servers: &[Server],
        distribution: LibmemcachedDistribution,
        key_hash: HashFn,
        weighted: bool,
    ) -> Result<Self, RoutingError> {
        let name = |s: &Server| match distribution {
            LibmemcachedDistribution::KetamaSpy => s.spy_name(),
            _ => s.ketama_name(),
        };
        let dist = match distribution {
            LibmemcachedDistribution::Modula => Distribution::Modula {
                servers: u32::try_from(servers.len()).map_err(|_| RoutingError::WeightOverflow)?,
            },
            _ if weighted => {
                let entries: Vec<(String, u32)> =
                    servers.iter().map(|s| (name(s), s.weight)).collect();
                Distribution::Continuum(Continuum::md5_weighted(&entries)?)
            }
            _ => {
                let bases: Vec<String> = servers.iter().map(name).collect();
                Distribution::Continuum(Continuum::hashed_names(
                    &bases,
                    LIBMEMCACHED_POINTS_PER_SERVER,
                    key_hash,
                )?)
            }
        };
        Locator::new(key_hash, dist)
    }

    /// moxi's default for `-z` server lists (`distribution:ketama-weighted`):
    /// libmemcached KETAMA_WEIGHTED with MD5 keys. Weights are honoured.
    pub fn moxi_ketama_weighted(servers: &[Server]) -> Result<Self, RoutingError> {
        Locator::libmemcached(servers, LibmemcachedDistribution::Ketama, HashFn::Md5, true)
    }

    /// moxi `-Z mcs_opts=distribution:ketama`: libmemcached 0.x KETAMA, i.e.
    /// 100 points per server from MD5 word 0 of `host[:port]-i`, MD5 keys.
    /// Weights are ignored (0.x only weighs with KETAMA_WEIGHTED).
    pub fn moxi_ketama(servers: &[Server]) -> Result<Self, RoutingError> {
        Locator::libmemcached(
            servers,
            LibmemcachedDistribution::Ketama,
            HashFn::Md5,
            false,
        )
    }

    /// moxi `-Z mcs_opts=distribution:modula`: one_at_a_time `% n`.
    pub fn moxi_modula(servers: &[Server]) -> Result<Self, RoutingError> {
        Locator::libmemcached(
            servers,
            LibmemcachedDistribution::Modula,
            HashFn::OneAtATime,
            false,
        )
    }

    /// twemproxy `distribution: ketama` with `hash: <hash>`: always the
    /// weighted MD5 continuum, names `host[:port]-i`.
    pub fn twemproxy_ketama(servers: &[Server], hash: HashFn) -> Result<Self, RoutingError> {
        let names: Vec<Option<&str>> = vec![None; servers.len()];
        Locator::twemproxy_ketama_named(servers, &names, hash)
    }

    /// twemproxy ketama where server `i` may carry a `name` (the optional
    /// last word of a twemproxy server line), which replaces `host[:port]`
    /// as the point-name base. `names` must have one entry per server.
    pub fn twemproxy_ketama_named(
        servers: &[Server],
        names: &[Option<&str>],
        hash: HashFn,
    ) -> Result<Self, RoutingError> {
        if names.len() != servers.len() {
            return Err(RoutingError::LengthMismatch {
                expected: servers.len(),
                got: names.len(),
            });
        }
        let entries: Vec<(String, u32)> = servers
            .iter()
            .zip(names)
            .map(|(s, n)| (n.map_or_else(|| s.ketama_name(), str::to_owned), s.weight))
            .collect();
        let dist = Distribution::Continuum(Continuum::md5_weighted(&entries)?);
        Ok(Locator::new(hash, dist)?.with_empty_key_as_zero(true))
    }

    /// twemproxy `distribution: modula`: server `i` repeated `weight_i` times
    /// in config order, key → slot `hash % total_weight`. twemproxy rejects
    /// weight 0 in its config; here it counts as 1.
    pub fn twemproxy_modula(servers: &[Server], hash: HashFn) -> Result<Self, RoutingError> {
        let mut total = 0u32;
        let mut ends = Vec::with_capacity(servers.len());
        for s in servers {
            total = total
                .checked_add(s.effective_weight())
                .ok_or(RoutingError::WeightOverflow)?;
            ends.push(total);
        }
        let dist = Distribution::WeightedModula { ends };
        Ok(Locator::new(hash, dist)?.with_empty_key_as_zero(true))
    }

    /// libvbucket's own ketama (`"nodeLocator": "ketama"`): authorities
    /// `host:port` (port always present) sorted bytewise, 40 names × 4 MD5
    /// words each, MD5 keys. Returns the locator and the sorted authorities;
    /// indices refer to the sorted list.
    pub fn libvbucket_ketama<S: AsRef<str>>(
        authorities: &[S],
    ) -> Result<(Self, Vec<String>), RoutingError> {
        let mut sorted: Vec<String> = authorities.iter().map(|a| a.as_ref().to_owned()).collect();
        // strcmp order is byte order, which is how `str` compares.
        sorted.sort();
        let continuum = Continuum::md5_fixed(&sorted, LIBVBUCKET_NAMES_PER_SERVER)?;
        Ok((
            Locator::new(HashFn::Md5, Distribution::Continuum(continuum))?,
            sorted,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(n: usize) -> Vec<Server> {
        (1..=n)
            .map(|i| Server::new(format!("mc{i}.example.com"), 11211, 0))
            .collect()
    }

    #[test]
    fn point_counts() {
        let s = hosts(4);
        let count = |l: &Locator| l.distribution().continuum().unwrap().len();
        assert_eq!(count(&Locator::moxi_ketama_weighted(&s).unwrap()), 640);
        assert_eq!(count(&Locator::moxi_ketama(&s).unwrap()), 400);
        assert_eq!(
            count(&Locator::twemproxy_ketama(&s, HashFn::Md5).unwrap()),
            640
        );
        assert_eq!(
            count(&Locator::libvbucket_ketama(&["b:1", "a:1"]).unwrap().0),
            320
        );
    }

    #[test]
    fn twemproxy_names_replace_the_host() {
        let live: Vec<Server> = (3..=6)
            .map(|i| Server::new(format!("127.0.0.{i}"), 11211, 1))
            .collect();
        let names = [
            "mc1.example.com",
            "mc2.example.com",
            "mc3.example.com",
            "mc4.example.com",
        ];
        let names: Vec<Option<&str>> = names.iter().copied().map(Some).collect();
        let named = Locator::twemproxy_ketama_named(&live, &names, HashFn::Md5).unwrap();
        let plain = Locator::moxi_ketama_weighted(&hosts(4)).unwrap();
        assert_eq!(named.distribution(), plain.distribution());
        assert!(Locator::twemproxy_ketama_named(&live, &names[..1], HashFn::Md5).is_err());
    }

    #[test]
    fn no_servers() {
        assert_eq!(
            Locator::moxi_ketama_weighted(&[]),
            Err(RoutingError::NoServers)
        );
        assert_eq!(Locator::moxi_ketama(&[]), Err(RoutingError::NoServers));
        assert_eq!(Locator::moxi_modula(&[]), Err(RoutingError::NoServers));
        assert_eq!(
            Locator::twemproxy_modula(&[], HashFn::Md5),
            Err(RoutingError::NoServers)
        );
        let none: [&str; 0] = [];
        assert!(Locator::libvbucket_ketama(&none).is_err());
    }

    #[test]
    fn libvbucket_sorts_authorities() {
        let (_, order) =
            Locator::libvbucket_ketama(&["mc3:11211", "mc1:11211", "mc2:11211"]).unwrap();
        assert_eq!(order, ["mc1:11211", "mc2:11211", "mc3:11211"]);
    }
}
