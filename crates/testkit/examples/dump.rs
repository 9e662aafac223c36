//! Prints the transcripts of corpus files, for writing and reviewing the corpus.
//!
//! `cargo run -p testkit --example dump -- [--addr 127.0.0.1:11211] [--raw] FILE...`
//! Without `--addr` a memcached with the corpus settings is started. Each
//! file's transcript is shown normalized (or raw with `--raw`), one reply
//! record per line, followed by the result of its directive checks.

use std::net::SocketAddr;
use std::path::Path;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let raw = take_flag(&mut args, "--raw");
    let addr: Option<SocketAddr> = take_value(&mut args, "--addr")
        .map(|a| a.parse().unwrap_or_else(|e| panic!("bad --addr {a}: {e}")));
    let server = match addr {
        Some(_) => None,
        None => Some(testkit::Memcached::start_for_corpus().expect("start memcached")),
    };
    let addr = addr.unwrap_or_else(|| server.as_ref().map(|s| s.addr()).expect("server"));
    for file in &args {
        let path = Path::new(file);
        let binary = path.components().any(|c| c.as_os_str() == "binary");
        let text = std::fs::read_to_string(path).expect("read file");
        let conv = testkit::parse_conversation(file, &text, binary)
            .unwrap_or_else(|e| panic!("{file}:{e}"));
        let got = testkit::run_conversation(addr, &conv);
        let shown = if raw {
            got.clone()
        } else {
            testkit::normalize(&got, binary)
        };
        println!("== {file} ({} bytes)", got.len());
        print!("{}", testkit::render(&shown, binary));
        match conv.check(&got) {
            Ok(()) => println!("-- checks ok"),
            Err(e) => println!("-- CHECK FAILED: {}", e.lines().next().unwrap_or_default()),
        }
    }
}

fn take_flag(args: &mut Vec<String>, flag: &str) -> bool {
    let before = args.len();
    args.retain(|a| a != flag);
    args.len() != before
}

fn take_value(args: &mut Vec<String>, flag: &str) -> Option<String> {
    let i = args.iter().position(|a| a == flag)?;
    args.remove(i);
    (i < args.len()).then(|| args.remove(i))
}
