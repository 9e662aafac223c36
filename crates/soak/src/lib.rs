//! Cross-talk checking and soak runs for moxi.
//!
//! Owns: clients that each own a few keys, write unique self-describing
//! values ([`value`]), keep a model of their keys ([`model`]) and check
//! every reply against the request it answers ([`check`], [`conv`]);
//! many of them at once ([`run`]); and the soak ([`soak`]): real memcached
//! and moxi processes, that load for minutes, and faults on a schedule
//! ([`faults`]), ending in one report.
//!
//! A mismatch is a reply that no fault explains: another client's bytes,
//! another key's, a reply of the wrong kind or for another request, a CAS
//! going backwards, or (when the model is sure) a value, hit, miss or
//! outcome other than the one predicted. Errors (`SERVER_ERROR`, binary
//! EBUSY, timeouts, lost connections) are counted apart and make the
//! affected keys uncertain until they are written again.
//!
//! Must not: depend on the proxy or server crates (it talks to processes
//! over sockets, with the project's codecs as a client library).

pub mod check;
pub mod cli;
pub mod client;
pub mod conv;
pub mod epoch;
pub mod faults;
pub mod garbage;
pub mod model;
pub mod ops;
pub mod report;
pub mod rng;
pub mod run;
pub mod soak;
pub mod value;

pub use epoch::Epochs;
pub use ops::Protocol;
pub use report::{Mismatch, Report};
pub use run::{run, Load};
pub use soak::{run_soak, SoakConfig, SoakResult};
