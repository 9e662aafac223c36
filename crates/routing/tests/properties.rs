//! Consistent-hashing properties of every ketama variant: adding one server
//! to n moves about 1/(n+1) of the keys, all of them to the new server;
//! removing one moves only that server's keys.
//!
//! Servers are compared by authority, not index, because libvbucket sorts
//! its servers and an insertion shifts the indices after it. Weighted
//! variants keep 160 points per equal-weight server for n+1 <= 24 (see
//! `weighted_point_count`), which is why n stays below 20 here.
//!
//! twemproxy is exercised with murmur keys: its fnv1a_64 (a 32-bit hash with
//! multiplier 0x1b3) clusters keys that differ in their last bytes, so a
//! band on moved keys would measure the hash, not the continuum.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

use proptest::prelude::*;
use routing::{HashFn, LibmemcachedDistribution, Locator, Server};

const KEYS: usize = 2000;

#[derive(Debug, Clone, Copy)]
enum Variant {
    MoxiKetamaWeighted,
    MoxiKetama,
    LibmemcachedKetama,
    LibmemcachedSpy,
    LibmemcachedWeightedSpy,
    TwemproxyMurmur,
    Libvbucket,
}

const VARIANTS: [Variant; 7] = [
    Variant::MoxiKetamaWeighted,
    Variant::MoxiKetama,
    Variant::LibmemcachedKetama,
    Variant::LibmemcachedSpy,
    Variant::LibmemcachedWeightedSpy,
    Variant::TwemproxyMurmur,
    Variant::Libvbucket,
];

impl Variant {
    /// The authority of the server owning each key.
    fn owners(self, servers: &[Server], keys: &[Vec<u8>]) -> Vec<String> {
        let authorities: Vec<String> = servers.iter().map(Server::authority).collect();
        let (locator, order) = match self {
            Variant::MoxiKetamaWeighted => (Locator::moxi_ketama_weighted(servers), authorities),
            Variant::MoxiKetama => (Locator::moxi_ketama(servers), authorities),
            Variant::LibmemcachedKetama => (
                Locator::libmemcached(
                    servers,
                    LibmemcachedDistribution::Ketama,
                    HashFn::OneAtATime,
                    false,
                ),
                authorities,
            ),
            Variant::LibmemcachedSpy => (
                Locator::libmemcached(
                    servers,
                    LibmemcachedDistribution::KetamaSpy,
                    HashFn::OneAtATime,
                    false,
                ),
                authorities,
            ),
            Variant::LibmemcachedWeightedSpy => (
                Locator::libmemcached(
                    servers,
                    LibmemcachedDistribution::KetamaSpy,
                    HashFn::Md5,
                    true,
                ),
                authorities,
            ),
            Variant::TwemproxyMurmur => (
                Locator::twemproxy_ketama(servers, HashFn::Murmur),
                authorities,
            ),
            Variant::Libvbucket => {
                let (l, sorted) = Locator::libvbucket_ketama(&authorities).expect("builds");
                (Ok(l), sorted)
            }
        };
        let locator = locator.expect("builds");
        keys.iter()
            .map(|k| order[locator.locate(k)].clone())
            .collect()
    }
}

fn servers(n: usize, salt: u16, odd_ports: bool) -> Vec<Server> {
    (0..n)
        .map(|i| {
            let port = if odd_ports && i % 2 == 1 {
                11300 + i as u16
            } else {
                11211
            };
            Server::new(format!("cache{i}-{salt}.example.net"), port, 0)
        })
        .collect()
}

fn keys(salt: u16) -> Vec<Vec<u8>> {
    (0..KEYS)
        .map(|i| format!("user:{salt}:{i}").into_bytes())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn adding_a_server_moves_about_one_in_n_plus_one(
        n in 2usize..20,
        at in 0usize..=20,
        salt in any::<u16>(),
        odd_ports in any::<bool>(),
    ) {
        let old = servers(n, salt, odd_ports);
        let mut new = old.clone();
        let added = Server::new(format!("added-{salt}.example.net"), 11222, 0);
        new.insert(at.min(n), added.clone());
        let keys = keys(salt);
        let expected = KEYS as f64 / (n + 1) as f64;
        for variant in VARIANTS {
            let before = variant.owners(&old, &keys);
            let after = variant.owners(&new, &keys);
            let mut moved = 0usize;
            for (b, a) in before.iter().zip(&after) {
                if b != a {
                    prop_assert_eq!(a, &added.authority(), "{:?}: a key moved between old servers", variant);
                    moved += 1;
                }
            }
            let (lo, hi) = (0.3 * expected, 2.5 * expected);
            prop_assert!(
                (lo..=hi).contains(&(moved as f64)),
                "{:?}: n={} moved {} keys, expected about {:.0}", variant, n, moved, expected
            );
        }
    }

    #[test]
    fn removing_a_server_moves_only_its_keys(
        n in 3usize..=20,
        at in 0usize..20,
        salt in any::<u16>(),
        odd_ports in any::<bool>(),
    ) {
        let old = servers(n, salt, odd_ports);
        let mut new = old.clone();
        let removed = new.remove(at % n).authority();
        let keys = keys(salt);
        for variant in VARIANTS {
            let before = variant.owners(&old, &keys);
            let after = variant.owners(&new, &keys);
            for (b, a) in before.iter().zip(&after) {
                if *b == removed {
                    prop_assert_ne!(a, &removed);
                } else {
                    prop_assert_eq!(a, b, "{:?}: a key of a surviving server moved", variant);
                }
            }
        }
    }
}
