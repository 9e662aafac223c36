//! What ascii cannot say in binary (a2b) and binary cannot say in ascii
//! (b2a), checked against a real memcached: each case gets memcached's
//! exact answer through the proxy, or a clear refusal, never a silent
//! change of meaning. The README's "What translation cannot say" table
//! lists the cases and their outcomes.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::net::SocketAddr;

use common::Client;
use proxy::topology::DownstreamProtocol;

/// Runs `conversation` on a fresh connection to `addr` after emptying the
/// cache and storing `k` = `a`; returns everything the server answered.
fn ascii_run(addr: SocketAddr, conversation: &[u8]) -> Vec<u8> {
    let mut setup = Client::connect(addr);
    setup.send(b"flush_all\r\nset k 0 0 1\r\na\r\n");
    setup.expect(b"OK\r\nSTORED\r\n");
    let mut cl = Client::connect(addr);
    cl.send(conversation);
    cl.finish()
}

/// memcached, a proxy with a binary downstream (a2b) and one with an ascii
/// downstream (a2a), each in front of its own memcached.
struct Three {
    _mcs: Vec<testkit::Memcached>,
    memcached: SocketAddr,
    a2b: common::Proxy,
    ascii: common::Proxy,
}

fn three() -> Three {
    let mcs = common::memcacheds(3);
    let memcached = mcs[0].addr();
    let a2b = common::proxy_for(&[mcs[1].addr()], DownstreamProtocol::Binary);
    let ascii = common::proxy_for(&[mcs[2].addr()], DownstreamProtocol::Ascii);
    Three {
        _mcs: mcs,
        memcached,
        a2b,
        ascii,
    }
}

/// Asserts that each conversation gets memcached's bytes through both
/// proxies.
fn assert_ascii_like_memcached(t: &Three, conversations: &[&[u8]]) {
    for c in conversations {
        let want = ascii_run(t.memcached, c);
        for (path, p) in [("a2b", &t.a2b), ("a2a", &t.ascii)] {
            let got = ascii_run(p.addr(), c);
            assert_eq!(
                testkit::escape_bytes(&got),
                testkit::escape_bytes(&want),
                "{path}: {}",
                testkit::escape_bytes(c)
            );
        }
    }
}

/// ascii `cas` with CAS unique 0: binary would read CAS 0 as "no CAS" and
/// store; memcached answers EXISTS (item present) or NOT_FOUND (absent)
/// and stores nothing, noreply or not.
#[test]
fn cas_unique_zero_answers_as_memcached_and_stores_nothing() {
    if !testkit::require_tool("memcached") {
        return;
    }
    assert_ascii_like_memcached(
        &three(),
        &[
            b"cas k 0 0 6 0\r\nfoobar\r\nget k\r\n",
            b"cas zz 0 0 6 0\r\nfoobar\r\nget zz\r\n",
            b"cas k 0 0 6 0 noreply\r\nfoobar\r\ncas zz 0 0 6 0 noreply\r\nfoobar\r\nget k zz\r\n",
        ],
    );
}
