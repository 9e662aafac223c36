//! Test kit for compatibility tests against a real memcached.
//!
//! Owns: spawning servers on free ports ([`Memcached`], [`ChildServer`]),
//! recording conversations ([`transcript`], [`run_conversation`]), masking
//! what may legitimately differ ([`normalize_ascii`], [`normalize_binary`]),
//! explaining differences ([`first_difference`]), the scripted conversation
//! corpus under `conversations/` ([`load_conversations`]) with its own tiny
//! binary frame builder ([`frames`]), running `memccapable`, a scripted
//! mock downstream for proxy tests ([`mock`]), a scripted REST server
//! for config-streaming tests ([`rest_server`]), and moxi's test
//! topologies built from real processes ([`topology`]).
//!
//! Must not: depend on moxi's codecs (a test must not trust the code it
//! tests), use fixed sleeps to wait for a server, or bind fixed ports.
//!
//! A differential test looks like this:
//!
//! ```no_run
//! use testkit::*;
//! if !require_tool("memcached") {
//!     return;
//! }
//! let reference = Memcached::start_for_corpus().expect("memcached");
//! let port = free_port();
//! let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
//! let port_arg = port.to_string();
//! // In an integration test of the binary's crate: env!("CARGO_BIN_EXE_moxi").
//! let moxi_bin = "target/debug/moxi";
//! let moxi = ChildServer::spawn(
//!     moxi_bin,
//!     ["-p", port_arg.as_str(), "-l", "127.0.0.1"],
//!     addr,
//! )
//! .expect("moxi");
//! for conv in load_conversations(corpus_dir()) {
//!     let want = run_conversation(reference.addr(), &conv);
//!     let got = run_conversation(moxi.addr(), &conv);
//!     assert_same_transcript(&conv.name, &want, &got, conv.binary);
//! }
//! ```

mod capable;
mod compare;
mod corpus;
pub mod frames;
pub mod mock;
mod normalize;
pub mod rest_server;
mod runner;
pub mod script;
mod spawn;
pub mod topology;
mod transcript;
pub mod vectors;

pub use capable::{run_memccapable, run_memccapable_with, MEMCCAPABLE_DEADLINE};
pub use compare::{
    assert_same_transcript, describe_frame, escape_bytes, escape_short, first_difference, render,
    render_records,
};
pub use corpus::{
    corpus_dir, load_conversations, parse_conversation, try_load_conversations, Conversation,
};
pub use normalize::{
    ascii_records, normalize, normalize_ascii, normalize_binary, stat_names, AsciiRecord, MASK,
};
pub use runner::{run_conversation, try_run_conversation, SYNC_OPAQUE};
pub use script::{CasTemplate, Step};
pub use spawn::{
    find_tool, free_port, listens_on, require, require_tool, tool_available, wait_accepting,
    ChildServer, Memcached, CORPUS_MEMCACHED_ARGS, STARTUP_DEADLINE,
};
pub use transcript::{transcript, try_transcript, TranscriptError, DEFAULT_TIMEOUT};
