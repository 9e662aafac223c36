//! `-Z mcs_opts=...`: how keys of a static `host:port` list are spread over
//! the servers (section 2.2 of moxi-behaviour.md), plus a twemproxy-compatible
//! extension.
//!
//! Grammar: options separated by `;` (a `,` would end the `-Z` item), each
//! `name:value`:
//!
//! * `distribution:ketama-weighted` (the default, also for an empty value),
//!   `distribution:ketama`, `distribution:modula`: moxi's three modes.
//! * `distribution:twemproxy-ketama`, `distribution:twemproxy-modula`:
//!   twemproxy 0.5.0's distributions, with
//!   `hash:md5|fnv1a_64|one_at_a_time|crc32|crc32a|murmur|jenkins|...`
//!   (twemproxy's hash names; default `fnv1a_64`, twemproxy's default) and
//!   optionally `hash_tag:{}` (two bytes).
//!
//! Example: `-Z mcs_opts=distribution:twemproxy-ketama;hash:fnv1a_64;hash_tag:{}`.
//!
//! moxi matched substrings anywhere in the value; this parser is strict:
//! unknown options, `hash:` / `hash_tag:` with a moxi distribution, and
//! repeated options are errors.

use std::fmt;

use routing::{HashFn, HashTag, Locator, RoutingError, Server};

/// A key distribution for static server lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum McsDistribution {
    /// moxi's default: libmemcached KETAMA_WEIGHTED with MD5 keys.
    #[default]
    KetamaWeighted,
    /// `distribution:ketama`: libmemcached 0.x KETAMA (100 MD5 points).
    Ketama,
    /// `distribution:modula`: one_at_a_time `% n`.
    Modula,
    /// twemproxy `distribution: ketama` with the given key hash.
    TwemproxyKetama(HashFn),
    /// twemproxy `distribution: modula` with the given key hash.
    TwemproxyModula(HashFn),
}

/// Parsed `mcs_opts`: the distribution and an optional twemproxy hash tag.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct McsOpts {
    /// The key distribution.
    pub distribution: McsDistribution,
    /// twemproxy's `hash_tag` (only with a twemproxy distribution).
    pub hash_tag: Option<HashTag>,
    raw: String,
}

/// The twemproxy default key hash.
const TWEMPROXY_DEFAULT_HASH: HashFn = HashFn::Fnv1a_64;

impl McsOpts {
    /// Parses an `mcs_opts` value; the error says what is wrong with it.
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut dist: Option<&str> = None;
        let mut hash: Option<HashFn> = None;
        let mut tag: Option<HashTag> = None;
        for opt in value.split(';').map(str::trim).filter(|o| !o.is_empty()) {
            let (name, val) = opt
                .split_once(':')
                .ok_or_else(|| format!("option {opt:?} is not name:value"))?;
            let (name, val) = (name.trim(), val.trim());
            let dup = match name {
                "distribution" => dist.replace(val).is_some(),
                "hash" => {
                    let f = val.parse::<HashFn>().map_err(|e| e.to_string())?;
                    hash.replace(f).is_some()
                }
                "hash_tag" => {
                    let t = HashTag::new(val.as_bytes()).map_err(|e| e.to_string())?;
                    tag.replace(t).is_some()
                }
                _ => return Err(format!("unknown option {name:?}")),
            };
            if dup {
                return Err(format!("option {name:?} given twice"));
            }
        }
        let twem = |h: Option<HashFn>| h.unwrap_or(TWEMPROXY_DEFAULT_HASH);
        let distribution = match dist.unwrap_or("ketama-weighted") {
            "ketama-weighted" => McsDistribution::KetamaWeighted,
            "ketama" => McsDistribution::Ketama,
            "modula" => McsDistribution::Modula,
            "twemproxy-ketama" => McsDistribution::TwemproxyKetama(twem(hash)),
            "twemproxy-modula" => McsDistribution::TwemproxyModula(twem(hash)),
            other => return Err(format!("unknown distribution {other:?}")),
        };
        let moxi_mode = matches!(
            distribution,
            McsDistribution::KetamaWeighted | McsDistribution::Ketama | McsDistribution::Modula
        );
        if moxi_mode && (hash.is_some() || tag.is_some()) {
            return Err("hash: and hash_tag: need a twemproxy-* distribution".to_owned());
        }
        Ok(McsOpts {
            distribution,
            hash_tag: tag,
            raw: value.trim().to_owned(),
        })
    }

    /// The value as given (trimmed), for `stats proxy` output.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The locator for `servers` (in configuration order).
    pub fn locator(&self, servers: &[Server]) -> Result<Locator, RoutingError> {
        let locator = match self.distribution {
            McsDistribution::KetamaWeighted => Locator::moxi_ketama_weighted(servers)?,
            McsDistribution::Ketama => Locator::moxi_ketama(servers)?,
            McsDistribution::Modula => Locator::moxi_modula(servers)?,
            McsDistribution::TwemproxyKetama(h) => Locator::twemproxy_ketama(servers, h)?,
            McsDistribution::TwemproxyModula(h) => Locator::twemproxy_modula(servers, h)?,
        };
        Ok(match self.hash_tag {
            Some(tag) => locator.with_hash_tag(tag),
            None => locator,
        })
    }
}

impl fmt::Display for McsOpts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(s: &str) -> McsDistribution {
        McsOpts::parse(s).unwrap().distribution
    }

    #[test]
    fn moxi_modes() {
        assert_eq!(dist(""), McsDistribution::KetamaWeighted);
        assert_eq!(
            dist("distribution:ketama-weighted"),
            McsDistribution::KetamaWeighted
        );
        assert_eq!(dist("distribution:ketama"), McsDistribution::Ketama);
        assert_eq!(dist(" distribution : modula ;"), McsDistribution::Modula);
        assert_eq!(
            McsOpts::default().distribution,
            McsDistribution::KetamaWeighted
        );
    }

    #[test]
    fn twemproxy_modes() {
        assert_eq!(
            dist("distribution:twemproxy-ketama"),
            McsDistribution::TwemproxyKetama(HashFn::Fnv1a_64)
        );
        assert_eq!(
            dist("distribution:twemproxy-ketama;hash:md5"),
            McsDistribution::TwemproxyKetama(HashFn::Md5)
        );
        assert_eq!(
            dist("hash:one_at_a_time;distribution:twemproxy-modula"),
            McsDistribution::TwemproxyModula(HashFn::OneAtATime)
        );
        let o = McsOpts::parse("distribution:twemproxy-ketama;hash_tag:{}").unwrap();
        assert_eq!(o.hash_tag, Some(HashTag::new(b"{}").unwrap()));
        assert_eq!(o.as_str(), "distribution:twemproxy-ketama;hash_tag:{}");
    }

    #[test]
    fn errors() {
        for bad in [
            "distribution:consistent",
            "distribution",
            "colour:blue",
            "distribution:ketama;hash:md5",
            "hash_tag:{}",
            "distribution:twemproxy-ketama;hash:sha1",
            "distribution:twemproxy-ketama;hash:hsieh",
            "distribution:twemproxy-ketama;hash_tag:{",
            "distribution:ketama;distribution:modula",
        ] {
            assert!(McsOpts::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn locators() {
        let servers: Vec<Server> = (1..=3)
            .map(|i| Server::new(format!("10.0.0.{i}"), 11211, 0))
            .collect();
        for s in [
            "",
            "distribution:ketama",
            "distribution:modula",
            "distribution:twemproxy-modula;hash:crc32a",
            "distribution:twemproxy-ketama;hash_tag:{}",
        ] {
            let l = McsOpts::parse(s).unwrap().locator(&servers).unwrap();
            assert_eq!(l.server_count(), 3, "{s}");
            assert!(l.locate(b"foo") < 3);
        }
        let tagged = McsOpts::parse("distribution:twemproxy-ketama;hash_tag:{}").unwrap();
        let l = tagged.locator(&servers).unwrap();
        assert_eq!(l.locate(b"user:{42}:a"), l.locate(b"x{42}y"));
        assert!(McsOpts::default().locator(&[]).is_err());
    }
}
