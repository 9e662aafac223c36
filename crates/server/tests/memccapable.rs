//! memcached's own conformance tester against the embedded server.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

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

#[test]
fn memccapable_passes_all_tests() {
    if !testkit::require_tool("memccapable") {
        return;
    }
    let server = start();
    let addr = server.local_addrs()[0];
    let (passed, output) = testkit::run_memccapable(addr);
    let passes = output.lines().filter(|l| l.ends_with("[pass]")).count();
    assert!(passed, "memccapable failed:\n{output}");
    assert_eq!(passes, 54, "expected 54 passing tests:\n{output}");
}
