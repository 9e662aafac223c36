//! memcached's conformance tester through the proxy, in front of two real
//! memcached, with ascii and with binary downstream.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use proxy::topology::{DownstreamProtocol, Timeouts};

fn run(protocol: DownstreamProtocol) {
    if !testkit::require_tool("memccapable") || !testkit::require_tool("memcached") {
        return;
    }
    let mcs = common::memcacheds(2);
    let addrs: Vec<_> = mcs.iter().map(|m| m.addr()).collect();
    let proxy = common::start(common::topology(
        common::servers_of(&addrs),
        protocol,
        Timeouts::default(),
    ));
    let (passed, output) = testkit::run_memccapable(proxy.addr());
    let passes = output.lines().filter(|l| l.ends_with("[pass]")).count();
    assert!(
        passed && passes == 54,
        "{protocol:?} downstream: {passes} of 54 passed:\n{output}"
    );
}

#[test]
fn memccapable_through_proxy_binary_downstream() {
    run(DownstreamProtocol::Binary);
}

#[test]
fn memccapable_through_proxy_ascii_downstream() {
    run(DownstreamProtocol::Ascii);
}
