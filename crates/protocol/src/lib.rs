//! Sans-io memcached codecs: one request/response model ([`model`]) and its
//! two encodings, [`ascii`] and [`binary`], plus the [`meta`] text protocol
//! with its own request/response types (see its docs for why); each can
//! decode and encode both requests and responses (the proxy needs all four
//! directions).
//!
//! This crate owns wire formats and their limits. It must not touch sockets,
//! spawn tasks or depend on tokio: decoders take a `BytesMut` read buffer and
//! return `Ok(None)` when more bytes are needed; encoders append to a
//! `BytesMut` write buffer.

pub mod ascii;
pub mod binary;
mod feed;
mod list;
pub mod meta;
pub mod model;

pub use list::{Keys, List};
pub use model::*;
