//! A short closed-loop run against an in-process embedded server (port 0):
//! the whole client path (connect, prefill, pipelined load, reply checks,
//! summary) works end to end. No timed assertions: only that requests were
//! answered and every answer was right.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

use std::time::Duration;

use loadgen::{run, Mix, Protocol, RunConfig, Stop};
use server::settings::Settings;
use server::Server;

fn start() -> Server {
    let settings = Settings {
        port: 0,
        listen: vec!["127.0.0.1".parse().unwrap()],
        threads: 2,
        ..Settings::default()
    };
    Server::start(settings).unwrap()
}

fn config(server: &Server, protocol: Protocol, multiget: u32) -> RunConfig {
    let mut cfg = RunConfig::new(server.local_addrs()[0], Duration::from_millis(300));
    cfg.mix = Mix {
        protocol,
        multiget,
        keys: 1000,
        ..Mix::default()
    };
    cfg.connections = 4;
    cfg.pipeline = 4;
    cfg.threads = 2;
    cfg
}

#[test]
fn closed_loop_against_the_embedded_server() {
    let mut server = start();
    for (protocol, multiget) in [
        (Protocol::Ascii, 1),
        (Protocol::Ascii, 10),
        (Protocol::Binary, 1),
        (Protocol::Binary, 10),
    ] {
        let mut cfg = config(&server, protocol, multiget);
        // The server runs in this process: its CPU time is ours.
        cfg.watch = vec![std::process::id(), u32::MAX];
        let r = run(&cfg);
        assert_eq!(r.errors, 0, "{protocol} x{multiget}: {:?}", r.first_problem);
        assert!(r.cpu[0].is_some(), "our own CPU time is readable");
        assert_eq!(r.cpu[1], None, "no such process");
        assert!(r.summary.requests > 0, "{protocol} x{multiget}");
        assert!(r.summary.throughput > 0.0);
        assert!(r.summary.max_us >= r.summary.p50_us);
    }
    server.stop();
}

#[test]
fn counted_and_open_loop_runs_complete() {
    let mut server = start();
    let mut cfg = config(&server, Protocol::Ascii, 1);
    cfg.stop = Stop::Requests(500);
    let r = run(&cfg);
    assert_eq!(
        (r.summary.requests, r.errors),
        (500, 0),
        "{:?}",
        r.first_problem
    );

    cfg.mode = loadgen::Mode::Open { rate: 2000.0 };
    cfg.stop = Stop::After(Duration::from_millis(300));
    let r = run(&cfg);
    assert_eq!(r.errors, 0, "{:?}", r.first_problem);
    assert!(r.summary.requests > 0);
    server.stop();
}

#[test]
fn a_missing_key_space_is_caught() {
    let mut server = start();
    let mut cfg = config(&server, Protocol::Ascii, 1);
    cfg.prefill = false;
    cfg.mix.get_ratio = 1.0;
    let r = run(&cfg);
    assert!(r.errors > 0, "gets of keys never set must count as errors");
    assert!(r.first_problem.unwrap().contains("missing"));
    assert_eq!(
        r.classes.keys().collect::<Vec<_>>(),
        [&loadgen::tally::ErrorClass::Miss]
    );
    server.stop();
}

#[test]
fn a_target_that_never_answers_is_an_error() {
    // Accepts connections and reads nothing: every request stalls.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = hole.local_addr().unwrap();
    let keep = std::thread::spawn(move || {
        let conns: Vec<_> = hole.incoming().take(2).collect();
        std::thread::sleep(Duration::from_secs(2));
        drop(conns);
    });
    let mut cfg = RunConfig::new(addr, Duration::from_millis(1500));
    cfg.connections = 2;
    cfg.prefill = false;
    let r = run(&cfg);
    assert_eq!(r.summary.requests, 0);
    assert!(r.errors >= 2, "stalled requests count as errors");
    assert_eq!(
        r.classes.keys().collect::<Vec<_>>(),
        [&loadgen::tally::ErrorClass::Timeout]
    );
    keep.join().unwrap();
}
