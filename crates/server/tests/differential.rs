//! The differential test: every conversation of the corpus is sent to
//! Debian's memcached 1.6 and to the embedded server; the replies must be
//! the same bytes, CAS values, stats values and version text masked by the
//! testkit's normalisation rules.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

use server::settings::Settings;
use server::Server;
use testkit::{corpus_dir, first_difference, load_conversations, run_conversation, Memcached};

fn start_moxi() -> Server {
    let settings = Settings {
        port: 0,
        listen: vec!["127.0.0.1".parse().unwrap()],
        threads: 2,
        ..Settings::default()
    };
    Server::start(settings).unwrap()
}

#[test]
fn corpus_matches_memcached_byte_for_byte() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let reference = Memcached::start_for_corpus().unwrap();
    let moxi = start_moxi();
    let addr = moxi.local_addrs()[0];
    let mut failures = Vec::new();
    let mut compared = 0;
    for conv in load_conversations(corpus_dir()) {
        let want = run_conversation(reference.addr(), &conv);
        let got = run_conversation(addr, &conv);
        let diff = first_difference(&want, &got, conv.binary);
        match (diff, &conv.optional) {
            (None, _) => compared += 1,
            (Some(d), None) => failures.push(format!("{}: {d}", conv.name)),
            (Some(d), Some(why)) => eprintln!("optional {} differs ({why}): {d}", conv.name),
        }
    }
    assert!(
        failures.is_empty(),
        "{} conversations differ:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(compared >= 50, "only {compared} conversations compared");
}
