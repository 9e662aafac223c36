//! The moxi binary's wiring: command line ([`cli`]), usage text, process
//! life cycle ([`daemon`]) and start-up ([`run`]): the proxy pools of `-z`
//! (crate `proxy`) and the embedded server of `-p` (crate `server`). It
//! holds no protocol, routing or cache logic of its own.

pub mod admin;
pub mod cli;
pub mod daemon;
pub mod logging;
pub mod man;
pub mod ready;
pub mod run;
pub mod signals;
pub mod usage;
