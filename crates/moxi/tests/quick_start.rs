//! The README's quick start, as a newcomer types it: the `cargo run` line
//! picks the moxi binary among the workspace's several, and the bash
//! conversation shown after it gets exactly the output shown (on free
//! ports instead of 11211 and 11311, and on loopback only).
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

const README: &str = include_str!("../../../README.md");

/// The lines of the first fenced block of the quick start whose first
/// line starts with `first_line_prefix`.
fn quick_start_block(first_line_prefix: &str) -> Vec<&'static str> {
    let section = README.split("## Quick start").nth(1).unwrap();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if line.starts_with("```") {
            let block: Vec<&str> = lines
                .by_ref()
                .take_while(|l| !l.starts_with("```"))
                .collect();
            if block
                .first()
                .is_some_and(|l| l.starts_with(first_line_prefix))
            {
                return block;
            }
        }
    }
    panic!("no quick-start block starting with {first_line_prefix:?}");
}

#[test]
fn the_quick_start_runs_moxi_and_shows_its_real_output() {
    let commands = quick_start_block("cargo run");
    let run = commands[0].split('#').next().unwrap().trim();
    let (cargo, moxi_args) = run.split_once(" -- ").unwrap();
    // loadgen and soak have binaries too: a bare `cargo run` cannot choose.
    assert!(
        cargo.contains(" -p moxi") || cargo.contains(" --bin moxi"),
        "{run:?} must name the moxi binary"
    );
    assert!(commands.iter().any(|l| l.starts_with("cargo test")));

    let ports = testkit::topology::free_ports(2).unwrap();
    let (proxy, embedded) = (ports[0].to_string(), ports[1].to_string());
    let args: Vec<String> = moxi_args
        .split_whitespace()
        .map(|a| a.replace("11311", &embedded).replace("11211", &proxy))
        .chain(["-l".to_string(), "127.0.0.1".to_string()])
        .collect();
    let entry: SocketAddr = ([127, 0, 0, 1], ports[0]).into();
    let _moxi = testkit::ChildServer::spawn(env!("CARGO_BIN_EXE_moxi"), &args, entry).unwrap();

    let talk = quick_start_block("$ exec 3<>");
    let printf = talk[1];
    let payload = printf
        .split('\'')
        .nth(1)
        .unwrap()
        .replace("\\r", "\r")
        .replace("\\n", "\n");
    let shown: String = talk[2..].iter().map(|l| format!("{l}\r\n")).collect();
    let mut c = TcpStream::connect(entry).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(payload.as_bytes()).unwrap();
    // `quit` closes the connection: read to the end, as `cat` does.
    let mut got = String::new();
    c.read_to_string(&mut got).unwrap();
    assert_eq!(got, shown);
}
