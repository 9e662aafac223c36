//! The test kit proven against memcached itself: every corpus conversation
//! gives the same normalized transcript on two fresh memcached instances and
//! meets its file's expectations; EOF flushes every reply; memccapable passes.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

use std::net::SocketAddr;
use std::time::Instant;
use testkit::{
    corpus_dir, first_difference, load_conversations, normalize, require_tool, run_conversation,
    run_memccapable, stat_names, transcript, Conversation, Memcached,
};

/// Runs every conversation, in order, against one server.
fn run_all(addr: SocketAddr, convs: &[Conversation]) -> Vec<Vec<u8>> {
    convs.iter().map(|c| run_conversation(addr, c)).collect()
}

#[test]
fn corpus_is_deterministic_against_memcached() {
    if !require_tool("memcached") {
        return;
    }
    let convs = load_conversations(corpus_dir());
    let a = Memcached::start_for_corpus().expect("first memcached");
    let b = Memcached::start_for_corpus().expect("second memcached");
    let started = Instant::now();
    let (addr_a, addr_b) = (a.addr(), b.addr());
    let (runs_a, runs_b) = std::thread::scope(|s| {
        let ta = s.spawn(|| run_all(addr_a, &convs));
        let tb = s.spawn(|| run_all(addr_b, &convs));
        (
            ta.join().expect("runs on first memcached"),
            tb.join().expect("runs on second memcached"),
        )
    });
    let elapsed = started.elapsed();
    let mut failures = Vec::new();
    for ((conv, ta), tb) in convs.iter().zip(&runs_a).zip(&runs_b) {
        if let Some(diff) = first_difference(ta, tb, conv.binary) {
            failures.push(format!("{} is not deterministic: {diff}", conv.name));
        }
        for t in [ta, tb] {
            if let Err(e) = conv.check(t) {
                failures.push(e);
            }
            let once = normalize(t, conv.binary);
            assert_eq!(
                normalize(&once, conv.binary),
                once,
                "{}: normalize is idempotent",
                conv.name
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        convs.len() >= 40,
        "corpus has {} conversations",
        convs.len()
    );
    eprintln!(
        "{} conversations on two memcacheds in {elapsed:?}",
        convs.len()
    );
    assert!(elapsed.as_secs() < 5, "corpus run took {elapsed:?}");
}

#[test]
fn stats_conversations_list_names() {
    if !require_tool("memcached") {
        return;
    }
    let mc = Memcached::start_for_corpus().expect("memcached");
    for conv in load_conversations(corpus_dir()) {
        if conv.name == "ascii/stats" || conv.name == "binary/stat" {
            let names = stat_names(&run_conversation(mc.addr(), &conv));
            assert!(names.len() > 50, "{}: {names:?}", conv.name);
            assert_eq!(names.first().map(String::as_str), Some("pid"));
        }
    }
}

#[test]
fn memcached_answers_everything_before_eof() {
    if !require_tool("memcached") {
        return;
    }
    let mc = Memcached::start(&["-U", "0"]).expect("memcached");
    let mut input = Vec::new();
    for i in 0..5000 {
        input.extend_from_slice(format!("set k{i} 0 0 100\r\n").as_bytes());
        input.extend_from_slice(&[b'x'; 100]);
        input.extend_from_slice(format!("\r\nget k{i}\r\n").as_bytes());
    }
    let out = transcript(mc.addr(), &input);
    let text = String::from_utf8_lossy(&out);
    assert_eq!(text.matches("STORED\r\n").count(), 5000);
    assert_eq!(text.matches("END\r\n").count(), 5000);
    assert!(text.ends_with("END\r\n"));
}

#[test]
fn memccapable_passes_against_memcached() {
    if !require_tool("memcached") || !require_tool("memccapable") {
        return;
    }
    let mc = Memcached::start(&["-U", "0"]).expect("memcached");
    let (passed, output) = run_memccapable(mc.addr());
    assert!(passed, "memccapable failed against memcached:\n{output}");
    assert!(output.contains("All tests passed"));
}
