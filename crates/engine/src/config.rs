//! Engine settings: the memcached `-m`, `-I`, `-C` and `-M` switches plus the
//! shard count.

/// One mebibyte, the unit of `-m`.
pub const MIB: usize = 1024 * 1024;

/// Smallest `-I` memcached accepts.
pub const ITEM_SIZE_MAX_LOWER_LIMIT: usize = 1024;

/// Largest `-I` memcached accepts.
pub const ITEM_SIZE_MAX_UPPER_LIMIT: usize = 1024 * MIB;

/// Fewest shards the engine uses.
pub const MIN_SHARDS: usize = 16;

/// Engine settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Memory limit for items in bytes (`-m` MiB × 1 MiB; default 64 MiB).
    pub max_bytes: usize,
    /// Largest item (header + key + value) in bytes (`-I`; default 1 MiB).
    pub item_size_max: usize,
    /// CAS uniques are kept (`-C` turns them off: every CAS reads 0).
    pub cas_enabled: bool,
    /// Evict least-recently-used items when full; `false` (`-M`) answers
    /// out-of-memory instead.
    pub evict: bool,
    /// Number of independently locked shards (rounded up to a power of two).
    pub shards: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_bytes: 64 * MIB,
            item_size_max: MIB,
            cas_enabled: true,
            evict: true,
            shards: MIN_SHARDS,
        }
    }
}

/// A setting memcached would refuse at start-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// memcached: "Item max size cannot be less than 1024 bytes."
    #[error("item max size cannot be less than 1024 bytes")]
    ItemSizeTooSmall,
    /// memcached: "Cannot set item size limit higher than 1/2 of memory max."
    #[error("cannot set item size limit higher than 1/2 of memory max")]
    ItemSizeOverHalfMemory,
    /// memcached: "Cannot set item size limit higher than a gigabyte."
    #[error("cannot set item size limit higher than a gigabyte")]
    ItemSizeTooLarge,
}

impl Config {
    /// The shard count for `threads` worker threads: the next power of two of
    /// 4 × threads, at least [`MIN_SHARDS`].
    pub fn shards_for_threads(threads: usize) -> usize {
        threads
            .saturating_mul(4)
            .max(MIN_SHARDS)
            .next_power_of_two()
    }

    /// Checks the limits memcached checks at start-up (memcached.c `main`).
    /// [`crate::Engine::new`] does not call it, so tests may use tiny limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.item_size_max < ITEM_SIZE_MAX_LOWER_LIMIT {
            return Err(ConfigError::ItemSizeTooSmall);
        }
        if self.item_size_max > self.max_bytes / 2 {
            return Err(ConfigError::ItemSizeOverHalfMemory);
        }
        if self.item_size_max > ITEM_SIZE_MAX_UPPER_LIMIT {
            return Err(ConfigError::ItemSizeTooLarge);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_memcached() {
        let c = Config::default();
        assert_eq!(c.max_bytes, 64 * MIB);
        assert_eq!(c.item_size_max, MIB);
        assert!(c.cas_enabled && c.evict);
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn shard_count_rule() {
        assert_eq!(Config::shards_for_threads(1), 16);
        assert_eq!(Config::shards_for_threads(4), 16);
        assert_eq!(Config::shards_for_threads(5), 32);
        assert_eq!(Config::shards_for_threads(16), 64);
    }

    #[test]
    fn validation_follows_memcached() {
        let c = Config {
            item_size_max: 512,
            ..Config::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::ItemSizeTooSmall));
        let c = Config {
            max_bytes: MIB,
            ..Config::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::ItemSizeOverHalfMemory));
        let c = Config {
            max_bytes: 4096 * MIB,
            item_size_max: 2048 * MIB,
            ..Config::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::ItemSizeTooLarge));
    }
}
