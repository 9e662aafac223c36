//! The embedded cache: items, expiry, eviction, memory accounting and CAS,
//! with memcached 1.6.18's observable semantics.
//!
//! The [`Engine`] is synchronous and shared by many worker threads. The key
//! space is split into shards, each behind its own mutex and keeping its own
//! counters, so there is no global lock; the only shared atomics are the CAS
//! counter, the byte count against `-m`, and the flush watermark. Time comes
//! from an injected [`Clock`].
//!
//! This crate owns cache semantics only. It must not do I/O, spawn threads,
//! depend on tokio, or know any wire format: servers translate requests into
//! these calls and outcomes into replies.

mod arith;
mod clock;
mod config;
mod engine;
mod expiry;
mod item;
mod memory;
mod meta;
mod shard;
mod stats;
mod store;
mod table;

#[cfg(test)]
mod tests;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    Config, ConfigError, ITEM_SIZE_MAX_LOWER_LIMIT, ITEM_SIZE_MAX_UPPER_LIMIT, MIB, MIN_SHARDS,
};
pub use engine::Engine;
pub use item::{item_size, ArithOutcome, DeleteOutcome, Item, StoreOutcome, ITEM_HEADER_LEN};
pub use meta::{MetaDebug, MetaView};
pub use protocol::StoreMode;
pub use stats::Stats;
pub use store::MetaStore;
