//! moxi-load: a memcached load generator and a side-by-side proxy
//! comparison, for moxi's performance work (docs/PERFORMANCE.md).
//!
//! This crate owns load generation and measurement only: it is a client,
//! and it talks to the systems under test over sockets with the project's
//! own codecs (`protocol`). It must not depend on the proxy or the server
//! (tests excepted), so that what it measures cannot leak into how it
//! measures.
//!
//! - [`run`]: one measured run: prefill, then closed loop ([`closed`]) or
//!   open loop at a fixed rate ([`open`], [`schedule`]), every reply checked
//!   ([`verify`]), latencies in HDR histograms ([`summary`]), errors by
//!   class ([`tally`]);
//! - results as a table for people ([`report`]), CSV rows ([`csv`]) and a
//!   hand-written SVG plot ([`svg`]);
//! - [`compare`]: memcached, twemproxy, moxi and others in one run, in
//!   alternating rounds, plus the idle-connection and callgrind checks.

pub mod cli;
pub mod closed;
pub mod compare;
pub mod csv;
pub mod keys;
pub mod open;
pub mod progress;
pub mod report;
pub mod run;
pub mod schedule;
pub mod summary;
pub mod svg;
pub mod tally;
pub mod verify;
pub mod workload;

pub use run::{run, Mode, RunConfig, RunResult, Stop};
pub use workload::{Mix, Protocol};
