//! The async runtime both sides of moxi run on: the embedded server
//! (`server`) and the proxy (`proxy`). It owns threads and sockets, and
//! knows nothing of memcached: no wire format, no cache.
//!
//! # Layout
//! - [`workers`]: the worker threads, one single-threaded tokio runtime each;
//! - [`listener`]: listening sockets, the acceptor, the connection limit (`-c`);
//! - [`buffers`]: connection buffers held only while bytes are in them;
//! - [`shutdown`]: the drain that SIGTERM starts.

pub mod buffers;
pub mod listener;
pub mod shutdown;
pub mod workers;
