//! Key placement end to end: every `ascii_ok` key of the golden vectors is
//! stored through the moxi binary in front of four memcached, then looked
//! up on each memcached directly. Each key must be on exactly the server
//! `routing` names for that server list, for moxi's default distribution
//! (libmemcached KETAMA_WEIGHTED), a weighted list, `distribution:ketama`
//! and `distribution:modula`.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use routing::{Locator, Server};
use serde_json::Value;

/// Every key of keys.json, with whether it can be sent over ascii.
fn vector_keys() -> Vec<(Vec<u8>, bool)> {
    testkit::vectors::keys_with_ascii_ok()
}

/// Sends `input` and reads until `done(reply)` holds.
fn exchange(addr: SocketAddr, input: &[u8], done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut writer = s.try_clone().unwrap();
    let input = input.to_vec();
    let t = std::thread::spawn(move || writer.write_all(&input).unwrap());
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    while !done(&out) {
        let n = s.read(&mut chunk).expect("reply in time");
        assert!(n > 0, "closed after {} bytes", out.len());
        out.extend_from_slice(&chunk[..n]);
    }
    t.join().unwrap();
    out
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

/// Which of `keys` the memcached at `addr` holds (one `get` per key).
fn held_by(addr: SocketAddr, keys: &[&[u8]]) -> Vec<bool> {
    let mut input = Vec::new();
    for k in keys {
        input.extend_from_slice(b"get ");
        input.extend_from_slice(k);
        input.extend_from_slice(b"\r\n");
    }
    let reply = exchange(addr, &input, |r| count(r, b"END\r\n") >= keys.len());
    // Values are the key's decimal index, so "END" never hides inside one.
    let mut held = Vec::with_capacity(keys.len());
    let mut rest = &reply[..];
    while !rest.is_empty() {
        let end = rest.windows(5).position(|w| w == b"END\r\n").unwrap();
        held.push(rest.starts_with(b"VALUE "));
        rest = &rest[end + 5..];
    }
    held
}

fn check_placement(z_servers: &str, behaviors: &str, locator: &Locator, addrs: &[SocketAddr]) {
    for &a in addrs {
        exchange(a, b"flush_all\r\n", |r| r.ends_with(b"OK\r\n"));
    }
    let (_moxi, entry) = common::moxi_z(|port| format!("{port}={z_servers}"), behaviors);
    let keys: Vec<Vec<u8>> = vector_keys()
        .into_iter()
        .filter_map(|(k, ok)| ok.then_some(k))
        .collect();
    assert!(keys.len() > 2000, "{} ascii keys", keys.len());
    let mut sets = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let v = i.to_string();
        sets.extend_from_slice(b"set ");
        sets.extend_from_slice(k);
        sets.extend_from_slice(format!(" 0 0 {}\r\n{v}\r\n", v.len()).as_bytes());
    }
    let stored = exchange(entry, &sets, |r| count(r, b"\r\n") >= keys.len());
    assert_eq!(count(&stored, b"STORED\r\n"), keys.len(), "{behaviors:?}");
    let key_refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let held: Vec<Vec<bool>> = addrs.iter().map(|&a| held_by(a, &key_refs)).collect();
    let mut wrong = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let holders: Vec<usize> = (0..addrs.len()).filter(|&s| held[s][i]).collect();
        let want = locator.locate(k);
        if holders != [want] {
            wrong.push(format!(
                "{}: on {holders:?}, routing says {want}",
                String::from_utf8_lossy(k)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "-Z {behaviors:?}: {} of {} keys misplaced, e.g.:\n{}",
        wrong.len(),
        keys.len(),
        wrong[..wrong.len().min(10)].join("\n")
    );
}

#[test]
fn keys_land_where_routing_says() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mcs = common::memcacheds(4);
    let addrs: Vec<SocketAddr> = mcs.iter().map(|m| m.addr()).collect();
    let servers: Vec<Server> = addrs
        .iter()
        .map(|a| Server::new("127.0.0.1", a.port(), 0))
        .collect();
    let list = common::server_list(&addrs);
    let default = Locator::moxi_ketama_weighted(&servers).unwrap();
    check_placement(&list, "", &default, &addrs);
    let ketama = Locator::moxi_ketama(&servers).unwrap();
    check_placement(&list, "mcs_opts=distribution:ketama", &ketama, &addrs);
    let modula = Locator::moxi_modula(&servers).unwrap();
    check_placement(&list, "mcs_opts=distribution:modula", &modula, &addrs);
    let weighted: Vec<Server> = addrs
        .iter()
        .zip(1..)
        .map(|(a, w)| Server::new("127.0.0.1", a.port(), w))
        .collect();
    let weighted_list: Vec<String> = addrs
        .iter()
        .zip(1..)
        .map(|(a, w)| format!("127.0.0.1:{}:{w}", a.port()))
        .collect();
    let locator = Locator::moxi_ketama_weighted(&weighted).unwrap();
    check_placement(&weighted_list.join(","), "", &locator, &addrs);
}

/// The presets used above are the ones measured from moxi itself
/// (`moxi.jsonl`); crates/routing/tests proves this exhaustively.
#[test]
fn presets_match_the_measured_moxi_runs() {
    let keys = vector_keys();
    let mut checked = 0;
    for line in testkit::vectors::read("moxi.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let run: Value = serde_json::from_str(line).unwrap();
        let id = run["id"].as_str().unwrap();
        let servers: Vec<Server> = run["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let port = u16::try_from(s["port"].as_u64().unwrap()).unwrap();
                let weight = u32::try_from(s["weight"].as_u64().unwrap()).unwrap();
                Server::new(s["host"].as_str().unwrap(), port, weight)
            })
            .collect();
        let locator = match id.split('/').nth(1) {
            Some("default") => Locator::moxi_ketama_weighted(&servers).unwrap(),
            Some("ketama") => Locator::moxi_ketama(&servers).unwrap(),
            Some("modula") => Locator::moxi_modula(&servers).unwrap(),
            _ => continue, // vBucket runs: not a server-list preset
        };
        for ((key, _), want) in keys.iter().zip(run["index"].as_array().unwrap()) {
            if let Some(want) = want.as_u64() {
                assert_eq!(locator.locate(key) as u64, want, "{id}");
                checked += 1;
            }
        }
    }
    assert!(checked > 6 * 2000, "{checked} placements checked");
}
