//! Buckets of a REST gateway (behaviour inventory 5.8, moxi's
//! moxi_multitenancy*.py and MB-3113): the NULL bucket, client SASL PLAIN
//! moving a connection between buckets, `default_bucket_name`, a config
//! with no buckets, and clients that arrive before the first config.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use common::nodes::Node;
use common::{bin, bucket_json, buckets_json, op, set_extras, Client};
use config::{Behaviors, DefaultBucket};
use proxy::buckets::Gateway;

const LIST_MECHS: u8 = 0x20;
const SASL_AUTH: u8 = 0x21;
const AUTH_ERROR: u16 = 0x20;

fn sasl(user: &str, password: &str, opaque: u32) -> Vec<u8> {
    bin(
        SASL_AUTH,
        b"PLAIN",
        &[],
        format!("\0{user}\0{password}").as_bytes(),
        opaque,
    )
}

/// A gateway with buckets bucket0 → nodes[0], bucket1 → nodes[1] (and
/// `default` → nodes[2] when `with_default`).
fn gateway(default: DefaultBucket, nodes: &[Node], with_default: bool) -> std::sync::Arc<Gateway> {
    let g = Gateway::new(default, protocol::Limits::default());
    let mut buckets = vec![
        bucket_json("bucket0", "passwordGood0", &[nodes[0].addr()], &[0]),
        bucket_json("bucket1", "passwordGood1", &[nodes[1].addr()], &[0]),
    ];
    if with_default {
        buckets.insert(0, bucket_json("default", "", &[nodes[2].addr()], &[0]));
    }
    g.apply_body(buckets_json(&buckets).as_bytes(), &Behaviors::default())
        .unwrap();
    g
}

#[test]
fn null_bucket_until_a_client_authenticates() {
    let nodes = [Node::start(), Node::start()];
    let g = gateway(DefaultBucket::Named(String::new()), &nodes, false);
    let l = common::start_gateway(g);
    let addr = l.local_addrs()[0];
    let mut b = Client::connect(addr);
    for opaque in [1, 2] {
        b.send(&bin(LIST_MECHS, b"", &[], &[], opaque));
        let f = b.read_frame();
        assert_eq!((f.status, f.value), (0, b"PLAIN".to_vec()));
    }
    b.send(&bin(op::GETK, b"a", &[], &[], 3));
    b.send(&bin(op::SET, b"a", &set_extras(0, 0), b"x", 4));
    for opaque in [3, 4] {
        let f = b.read_frame();
        assert_eq!(
            (f.status, f.opaque, f.value),
            (AUTH_ERROR, opaque, b"Auth failure".to_vec())
        );
    }
    let mut a = Client::connect(addr);
    a.send(b"get a\r\nset a 0 0 1\r\nx\r\nget a b\r\ndelete a\r\n");
    a.expect(b"END\r\nSERVER_ERROR unauthorized, null bucket\r\nEND\r\n");
    a.expect(b"SERVER_ERROR unauthorized, null bucket\r\n");
    assert!(
        nodes.iter().all(|n| n.seen().is_empty()),
        "servers untouched"
    );

    for (user, password) in [("bucket0", "wrong"), ("", "somePassword"), ("bucket0", "")] {
        b.send(&sasl(user, password, 5));
        let f = b.read_frame();
        assert_eq!((f.status, f.value), (AUTH_ERROR, b"Auth failure".to_vec()));
        b.send(&bin(op::GETK, b"a", &[], &[], 6));
        assert_eq!(
            b.read_frame().status,
            AUTH_ERROR,
            "still in the NULL bucket"
        );
    }
    b.send(&sasl("bucket0", "passwordGood0", 7));
    let f = b.read_frame();
    assert_eq!((f.status, f.value), (0, b"Authenticated".to_vec()));
    b.send(&bin(op::SET, b"a", &set_extras(0, 0), b"x", 8));
    b.send(&bin(op::GETK, b"a", &[], &[], 9));
    assert_eq!(b.read_frame().status, 0);
    assert_eq!(b.read_frame().value, b"x");
    let seen = nodes[0].seen();
    assert_eq!(
        seen[0].opcode, SASL_AUTH,
        "the downstream connection authenticates"
    );
    assert_eq!(seen[0].value, b"\0bucket0\0passwordGood0");
    assert_eq!(seen.iter().filter(|s| s.opcode == SASL_AUTH).count(), 1);

    b.send(&sasl("bucket1", "passwordGood1", 10));
    assert_eq!(b.read_frame().status, 0);
    b.send(&bin(op::GETK, b"a", &[], &[], 11));
    assert_eq!(b.read_frame().status, 0x0001, "bucket1 does not have it");
    assert_eq!(nodes[1].seen()[0].value, b"\0bucket1\0passwordGood1");
    b.send(&sasl("bucket1", "bad", 12));
    assert_eq!(b.read_frame().status, AUTH_ERROR);
    b.send(&bin(op::GETK, b"a", &[], &[], 13));
    assert_eq!(
        b.read_frame().status,
        0x0001,
        "a failed switch stays in bucket1"
    );
}

#[test]
fn default_bucket_name_picks_the_starting_bucket() {
    let nodes = [Node::start(), Node::start(), Node::start()];
    let g = gateway(DefaultBucket::Named("default".into()), &nodes, true);
    let l = common::start_gateway(g);
    let mut a = Client::connect(l.local_addrs()[0]);
    a.send(b"set k 0 0 1\r\nx\r\n");
    a.expect(b"STORED\r\n");
    assert_eq!(nodes[2].value("k").as_deref(), Some("x"));
    assert!(
        nodes[2].keys(SASL_AUTH).is_empty(),
        "bucket default: no SASL"
    );
    let mut b = Client::connect(l.local_addrs()[0]);
    b.send(&sasl("bucket0", "passwordGood0", 1));
    assert_eq!(b.read_frame().status, 0);
    b.send(&bin(op::SET, b"k", &set_extras(0, 0), b"y", 2));
    assert_eq!(b.read_frame().status, 0);
    assert_eq!(nodes[0].value("k").as_deref(), Some("y"));
}

#[test]
fn the_first_bucket_is_the_default() {
    let nodes = [Node::start(), Node::start()];
    let g = gateway(DefaultBucket::First, &nodes, false);
    let l = common::start_gateway(g);
    let mut a = Client::connect(l.local_addrs()[0]);
    a.send(b"set k 0 0 1\r\nx\r\n");
    a.expect(b"STORED\r\n");
    assert_eq!(nodes[0].value("k").as_deref(), Some("x"));
}

#[test]
fn clients_before_the_first_config_get_errors_then_service() {
    let node = Node::start();
    let g = Gateway::new(DefaultBucket::First, protocol::Limits::default());
    let l = common::start_gateway(g.clone());
    let mut a = Client::connect(l.local_addrs()[0]);
    a.send(b"set k 0 0 1\r\nx\r\nget k\r\n");
    a.expect(b"SERVER_ERROR proxy write to downstream\r\nEND\r\n");
    let mut b = Client::connect(l.local_addrs()[0]);
    b.send(&bin(op::GETK, b"k", &[], &[], 1));
    assert_eq!(b.read_frame().status, 0x0084);
    let body = buckets_json(&[bucket_json("default", "", &[node.addr()], &[0, 0])]);
    g.apply_body(body.as_bytes(), &Behaviors::default())
        .unwrap();
    a.send(b"set k 0 0 1\r\nx\r\n");
    a.expect(b"STORED\r\n");
    b.send(&bin(op::GETK, b"k", &[], &[], 2));
    assert_eq!(b.read_frame().value, b"x");
}

#[test]
fn no_buckets_closes_new_clients() {
    let nodes = [Node::start(), Node::start(), Node::start()];
    let g = gateway(DefaultBucket::Named("default".into()), &nodes, true);
    let l = common::start_gateway(g.clone());
    let mut old = Client::connect(l.local_addrs()[0]);
    old.send(b"set k 0 0 1\r\nx\r\n");
    old.expect(b"STORED\r\n");
    g.apply_body(br#"{"buckets":[]}"#, &Behaviors::default())
        .unwrap();
    let mut fresh = std::net::TcpStream::connect(l.local_addrs()[0]).unwrap();
    fresh
        .set_read_timeout(Some(common::CLIENT_TIMEOUT))
        .unwrap();
    let mut byte = [0u8; 1];
    let n = std::io::Read::read(&mut fresh, &mut byte);
    assert_eq!(n.ok(), Some(0), "closed without a word (MB-3113)");
    old.send(b"set k 0 0 1\r\nx\r\n");
    old.expect(b"SERVER_ERROR proxy write to downstream\r\n");
}

#[test]
fn requests_in_flight_finish_on_their_snapshot() {
    let gate = testkit::rest_server::Feed::new();
    let g2 = gate.clone();
    let old = testkit::mock::MockServer::start(move |conn| {
        let mut run = Vec::new();
        while let Some(testkit::mock::Received::Binary(req)) = conn.read_request() {
            if req.opcode != op::NOOP {
                run.push(req);
                continue;
            }
            g2.next();
            for r in run.drain(..) {
                conn.send(&testkit::mock::binary_reply(
                    &r, 0, 1, &[0; 4], &r.key, b"old",
                ));
            }
            conn.send(&testkit::mock::empty_cache_binary_reply(&req));
        }
    })
    .unwrap();
    let new = Node::start();
    new.put("k", "new");
    let g = Gateway::new(DefaultBucket::First, protocol::Limits::default());
    let l = common::start_gateway(g.clone());
    let apply = |addr| {
        let body = buckets_json(&[bucket_json("default", "", &[addr], &[0])]);
        g.apply_body(body.as_bytes(), &Behaviors::default())
            .unwrap();
    };
    apply(old.addr());
    let mut c = Client::connect(l.local_addrs()[0]);
    c.send(b"get k\r\n");
    let asked = |b: &[u8]| b.windows(2).any(|w| w == [0x80, op::NOOP]);
    assert!(old.wait_for(common::CLIENT_TIMEOUT, asked));
    apply(new.addr());
    gate.push(Vec::new());
    c.expect(b"VALUE k 0 3\r\nold\r\nEND\r\n");
    c.send(b"get k\r\n");
    c.expect(b"VALUE k 0 3\r\nnew\r\nEND\r\n");
}
