//! SASL PLAIN and bucket select on new downstream connections (behaviour
//! inventory 5.7, moxi's moxi_mock_auth.py): a scripted mock that requires
//! authentication first, then serves; refusals and timeouts are connect
//! errors.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{bin, op, set_extras, status, Client};
use proxy::topology::{DownAuth, DownstreamProtocol, Topology};
use testkit::mock::{binary_reply, empty_cache_binary_reply, MockServer, Received};

const SASL_AUTH: u8 = 0x21;
const BUCKET: u8 = 0x2a;
const AUTH_ERROR: u16 = 0x20;

/// A server that wants `handshake` (opcode, key, value) frames first, each
/// answered with `status`, then serves like an empty memcached; a wrong
/// first frame closes the connection.
fn server(handshake: Vec<(u8, &'static [u8], Vec<u8>)>, status: u16) -> MockServer {
    MockServer::start(move |conn| {
        for (opcode, key, value) in &handshake {
            let Some(Received::Binary(req)) = conn.read_request() else {
                return;
            };
            if (req.opcode, &req.key[..], &req.value) != (*opcode, *key, value) {
                return;
            }
            let body: &[u8] = if status == 0 {
                b"Authenticated"
            } else {
                b"Auth failure"
            };
            conn.send(&binary_reply(&req, status, 0, &[], &[], body));
            if status != 0 {
                return;
            }
        }
        while let Some(Received::Binary(req)) = conn.read_request() {
            conn.send(&empty_cache_binary_reply(&req));
        }
    })
    .unwrap()
}

fn proxy(mock: &MockServer, user: &str, password: &str, bucket: &str) -> common::Proxy {
    let mut topo: Topology = common::topology_with_timeout(
        common::servers_of(&[mock.addr()]),
        DownstreamProtocol::Binary,
        2000,
    );
    topo.timeouts.auth = Duration::from_millis(100);
    topo.auth = Some(Arc::new(DownAuth {
        user: user.into(),
        password: password.into(),
        bucket: bucket.into(),
    }));
    common::start(topo)
}

fn plain(user: &str, password: &str) -> Vec<u8> {
    format!("\0{user}\0{password}").into_bytes()
}

#[test]
fn authenticates_each_new_connection_once() {
    let mock = server(
        vec![(SASL_AUTH, b"PLAIN", plain("TheUser", "ThePassword"))],
        0,
    );
    let p = proxy(&mock, "TheUser", "ThePassword", "");
    let before = proxy::stats::totals().tot_downstream_auth;
    let mut c = Client::connect(p.addr());
    c.send(b"get a\r\nset a 0 0 1\r\nx\r\nget b\r\n");
    c.expect(b"END\r\nSTORED\r\nEND\r\n");
    let mut b = Client::connect(p.addr());
    b.send(&bin(op::SET, b"k", &set_extras(0, 0), b"v", 4));
    assert_eq!(b.read_frame().status, status::OK);
    let sessions = mock.received();
    assert!(
        !sessions.is_empty() && sessions.len() <= 2,
        "{}",
        sessions.len()
    );
    for s in &sessions {
        assert_eq!(s[1], SASL_AUTH, "authentication comes first");
        assert_eq!(
            s.windows(5).filter(|w| w == b"PLAIN").count(),
            1,
            "once per connection"
        );
    }
    assert!(proxy::stats::totals().tot_downstream_auth > before);
}

#[test]
fn selects_the_bucket_after_authenticating() {
    let mock = server(
        vec![
            (SASL_AUTH, b"PLAIN", plain("u", "p")),
            (BUCKET, b"b1", Vec::new()),
        ],
        0,
    );
    let p = proxy(&mock, "u", "p", "b1");
    let mut c = Client::connect(p.addr());
    c.send(b"set a 0 0 1\r\nx\r\n");
    c.expect(b"STORED\r\n");
}

#[test]
fn refused_authentication_is_a_connect_error() {
    let mock = server(vec![(SASL_AUTH, b"PLAIN", plain("u", "bad"))], AUTH_ERROR);
    let p = proxy(&mock, "u", "bad", "");
    let before = proxy::stats::totals().tot_downstream_auth_failed;
    let mut c = Client::connect(p.addr());
    c.send(b"set a 0 0 1\r\nx\r\n");
    c.expect(b"SERVER_ERROR proxy write to downstream 127.0.0.1\r\n");
    let mut b = Client::connect(p.addr());
    b.send(&bin(op::GETK, b"a", &[], &[], 2));
    let f = b.read_frame();
    assert_eq!((f.status, f.opaque), (status::EINTERNAL, 2));
    assert!(proxy::stats::totals().tot_downstream_auth_failed > before);
}

#[test]
fn a_server_silent_during_authentication_times_out_quickly() {
    let mock = MockServer::stalling().unwrap();
    let p = proxy(&mock, "u", "p", "");
    let before = proxy::stats::totals().tot_auth_timeout;
    let start = Instant::now();
    let mut c = Client::connect(p.addr());
    c.send(b"delete a\r\n");
    c.expect(b"SERVER_ERROR proxy write to downstream 127.0.0.1\r\n");
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "auth_timeout, not downstream_timeout"
    );
    assert!(proxy::stats::totals().tot_auth_timeout > before);
}

#[test]
fn memcached_without_sasl_refuses_like_moxi() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mcs = common::memcacheds(1);
    let mut topo = common::topology_with_timeout(
        common::servers_of(&[mcs[0].addr()]),
        DownstreamProtocol::Binary,
        2000,
    );
    topo.auth = Some(Arc::new(DownAuth {
        user: "someone".into(),
        password: String::new(),
        bucket: String::new(),
    }));
    let p = common::start(topo);
    let mut c = Client::connect(p.addr());
    c.send(b"set a 0 0 1\r\nx\r\n");
    c.expect(b"SERVER_ERROR proxy write to downstream 127.0.0.1\r\n");
}
