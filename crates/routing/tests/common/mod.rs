//! The golden vectors (from `testkit::vectors`) plus what only routing's
//! tests need: server lists as `routing::Server`.

#![allow(dead_code, unused_imports)]

use routing::Server;
use serde_json::Value;

pub use testkit::vectors::{assert_all, indices, json, jsonl, keys, read, strings, vectors_dir};

/// A `servers` array of `{host, port, weight}`.
pub fn servers(v: &Value) -> Vec<Server> {
    v.as_array()
        .expect("servers array")
        .iter()
        .map(|s| {
            let port = u16::try_from(s["port"].as_u64().expect("port")).expect("port fits u16");
            let weight =
                u32::try_from(s["weight"].as_u64().expect("weight")).expect("weight fits u32");
            Server::new(s["host"].as_str().expect("host"), port, weight)
        })
        .collect()
}
