//! Sans-io memcached codecs: one request/response model ([`model`]) and two
//! encodings, [`ascii`] and [`binary`], each able to decode and encode both
//! requests and responses (the proxy needs all four directions).
//!
//! This crate owns wire formats and their limits. It must not touch sockets,
//! spawn tasks or depend on tokio: decoders take a `BytesMut` read buffer and
//! return `Ok(None)` when more bytes are needed; encoders append to a
//! `BytesMut` write buffer.

pub mod ascii;
pub mod binary;
pub mod model;

pub use model::*;
