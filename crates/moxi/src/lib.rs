//! The moxi binary's wiring: command line ([`cli`]) and usage text. It
//! starts the embedded server (crate `server`); it holds no protocol or
//! cache logic of its own.

pub mod cli;
pub mod daemon;
pub mod usage;
