//! Behaviour tests against memcached 1.6.18's observable semantics. Time is
//! a [`ManualClock`]; nothing sleeps.

mod arith;
mod concurrency;
mod eviction;
mod expiry;
mod flush;
mod stats;
mod store;

use std::sync::Arc;

use bytes::Bytes;

use crate::{Config, Engine, ManualClock, StoreMode, StoreOutcome};

/// A realistic start time (memcached treats small absolute times as relative).
pub(crate) const START: u64 = 1_700_000_000;

/// An engine with default settings and its clock.
pub(crate) fn engine() -> (Engine, Arc<ManualClock>) {
    engine_with(Config::default())
}

/// An engine with `config` and its clock.
pub(crate) fn engine_with(config: Config) -> (Engine, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(START));
    (Engine::new(config, clock.clone()), clock)
}

/// `set key 0 exptime` with a string value; returns the outcome.
pub(crate) fn set(e: &Engine, key: &str, value: &str, exptime: i64) -> StoreOutcome {
    e.store(
        StoreMode::Set,
        key.as_bytes(),
        0,
        exptime,
        Bytes::copy_from_slice(value.as_bytes()),
        0,
    )
}

/// Stores with any mode, flags 0, exptime 0.
pub(crate) fn store(e: &Engine, mode: StoreMode, key: &str, value: &str, cas: u64) -> StoreOutcome {
    e.store(
        mode,
        key.as_bytes(),
        0,
        0,
        Bytes::copy_from_slice(value.as_bytes()),
        cas,
    )
}

/// The value of `key` as a string, if live.
pub(crate) fn value(e: &Engine, key: &str) -> Option<String> {
    e.get(key.as_bytes())
        .map(|i| String::from_utf8(i.data.to_vec()).unwrap())
}

/// The CAS of a `Stored` outcome.
pub(crate) fn stored_cas(o: StoreOutcome) -> u64 {
    match o {
        StoreOutcome::Stored { cas } => cas,
        other => panic!("expected Stored, got {other:?}"),
    }
}
