//! Integration tests of the embedded memcached-compatible server over real
//! sockets: expiry driven by a manual clock, eviction, CAS races, incr/decr
//! edges, noreply and quiet commands, size limits, pipelining, protocol
//! binding, the connection limit, hostile input and `stats`.
//!
//! One test binary (modules below) keeps the build lean. Each test starts
//! its own server on 127.0.0.1:0; no test sleeps to wait for time.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod arith;
mod cas_race;
mod client;
mod conn_limit;
mod eviction;
mod expiry;
mod fairness;
mod garbage;
mod noreply;
mod pipeline;
mod size_limit;
mod stats;
