//! vBucket pools: binary requests carry the key's vBucket id and go to its
//! master; NOT_MY_VBUCKET moves the vBucket (forward map, else next server)
//! and the request is re-sent, up to twice the number of servers; a
//! multi-get re-sends only the refused keys. Played by mock servers
//! (`common::nodes`), then by real memcached.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use common::nodes::Node;
use common::{bin, key_in_vbucket, op, set_extras, vbucket_topology, Client};

const GETKQ: u8 = op::GETKQ;

#[test]
fn binary_requests_carry_the_keys_vbucket_to_its_master() {
    let nodes = [Node::start(), Node::start()];
    let addrs = [nodes[0].addr(), nodes[1].addr()];
    let map = [0, 1, 1, 0, 0, 1, 1, 0];
    let proxy = common::start(vbucket_topology(&addrs, &map, None));
    let mut c = Client::connect(proxy.addr());
    let keys: Vec<String> = (0..8).map(|vb| key_in_vbucket("k", vb, 8)).collect();
    for k in &keys {
        c.send(format!("set {k} 0 0 1\r\nx\r\n").as_bytes());
        c.expect(b"STORED\r\n");
    }
    c.send(format!("get {}\r\n", keys.join(" ")).as_bytes());
    for k in &keys {
        c.expect(format!("VALUE {k} 0 1\r\nx\r\n").as_bytes());
    }
    c.expect(b"END\r\n");
    let mut b = Client::connect(proxy.addr());
    b.send(&bin(op::DELETE, keys[5].as_bytes(), &[], &[], 9));
    assert_eq!(b.read_frame().status, 0);
    for (i, node) in nodes.iter().enumerate() {
        for seen in node.seen() {
            if seen.opcode == op::NOOP {
                continue;
            }
            let vb = routing::vbucket_id(&seen.key, 8);
            assert_eq!(seen.vbucket, vb, "{seen:?}");
            assert_eq!(map[usize::from(vb)], i as i32, "{seen:?} on server {i}");
        }
    }
    assert_eq!(nodes[1].keys(op::DELETE), [keys[5].clone()]);
}

#[test]
fn not_my_vbucket_moves_the_vbucket_to_the_next_server() {
    let nodes = [Node::start(), Node::start()];
    nodes[0].refuse(1);
    let addrs = [nodes[0].addr(), nodes[1].addr()];
    let proxy = common::start(vbucket_topology(&addrs, &[0, 0], None));
    let before = proxy::stats::totals();
    let (k1, k2) = (key_in_vbucket("a", 1, 2), key_in_vbucket("b", 1, 2));
    let mut c = Client::connect(proxy.addr());
    c.send(format!("set {k1} 0 0 2\r\nv1\r\n").as_bytes());
    c.expect(b"STORED\r\n");
    assert_eq!(nodes[0].keys(op::SET), [k1.as_str()], "refused first");
    assert_eq!(nodes[1].value(&k1).as_deref(), Some("v1"), "then re-sent");
    // The map remembers: the next key of vBucket 1 goes straight to 1.
    let mut b = Client::connect(proxy.addr());
    b.send(&bin(op::SET, k2.as_bytes(), &set_extras(0, 0), b"v2", 3));
    let f = b.read_frame();
    assert_eq!((f.status, f.opaque), (0, 3));
    assert_eq!(nodes[0].keys(op::SET), [k1.as_str()]);
    assert_eq!(nodes[1].value(&k2).as_deref(), Some("v2"));
    let after = proxy::stats::totals();
    assert!(after.tot_retry_vbucket > before.tot_retry_vbucket);
    assert!(after.tot_retry > before.tot_retry);
}

#[test]
fn the_forward_map_names_the_new_master() {
    let nodes = [Node::start(), Node::start(), Node::start()];
    nodes[0].refuse(0);
    let addrs = [nodes[0].addr(), nodes[1].addr(), nodes[2].addr()];
    let proxy = common::start(vbucket_topology(&addrs, &[0, 0], Some(&[2, 2])));
    let k = key_in_vbucket("f", 0, 2);
    let mut b = Client::connect(proxy.addr());
    b.send(&bin(op::SET, k.as_bytes(), &set_extras(0, 0), b"v", 1));
    b.send(&bin(op::GETK, k.as_bytes(), &[], &[], 2));
    assert_eq!(b.read_frame().status, 0);
    let f = b.read_frame();
    assert_eq!(
        (f.status, f.key, f.value),
        (0, k.clone().into_bytes(), b"v".to_vec())
    );
    assert!(nodes[1].seen().is_empty(), "not the next server");
    assert_eq!(nodes[2].value(&k).as_deref(), Some("v"));
}

#[test]
fn retries_stop_after_twice_the_servers() {
    let nodes = [Node::start(), Node::start()];
    for n in &nodes {
        n.refuse(0);
    }
    let addrs = [nodes[0].addr(), nodes[1].addr()];
    let proxy = common::start(vbucket_topology(&addrs, &[0], None));
    let mut c = Client::connect(proxy.addr());
    c.send(b"set k 0 0 1\r\nx\r\n");
    c.expect(b"SERVER_ERROR a2b not_my_vbucket\r\n");
    let sets = nodes[0].keys(op::SET).len() + nodes[1].keys(op::SET).len();
    assert_eq!(sets, 1 + 4, "first try and 2 x 2 retries");
    c.send(b"get k x\r\n");
    c.expect(b"SERVER_ERROR a2b not_my_vbucket\r\n");
    let mut b = Client::connect(proxy.addr());
    b.send(&bin(op::GETK, b"k", &[], &[], 5));
    let f = b.read_frame();
    assert_eq!((f.status, f.opaque), (0x0007, 5), "raw status for binary");
}

#[test]
fn multi_get_straddling_a_moved_vbucket_returns_each_hit_once() {
    let nodes = [Node::start(), Node::start()];
    let addrs = [nodes[0].addr(), nodes[1].addr()];
    // vBucket 1 moved to server 1; the map still says server 0.
    let stay: Vec<String> = (0..3)
        .map(|i| key_in_vbucket(&format!("s{i}-"), 0, 2))
        .collect();
    let moved: Vec<String> = (0..3)
        .map(|i| key_in_vbucket(&format!("m{i}-"), 1, 2))
        .collect();
    for k in &stay {
        nodes[0].put(k, &format!("{k}@0"));
    }
    for k in &moved {
        nodes[1].put(k, &format!("{k}@1"));
    }
    nodes[0].refuse(1);
    let proxy = common::start(vbucket_topology(&addrs, &[0, 0], None));
    let order: Vec<&str> = vec![
        &stay[0], &moved[0], &moved[1], &stay[1], &moved[0], &stay[2], &moved[2], "missing",
    ];
    let mut c = Client::connect(proxy.addr());
    c.send(format!("get {}\r\n", order.join(" ")).as_bytes());
    for k in &order[..7] {
        let home = if stay.iter().any(|s| s == k) { 0 } else { 1 };
        let v = format!("{k}@{home}");
        c.expect(format!("VALUE {k} 0 {}\r\n{v}\r\n", v.len()).as_bytes());
    }
    c.expect(b"END\r\n");
    // Round one: every distinct key to server 0 (the map's master).
    let mut first = nodes[0].keys(GETKQ);
    first.sort();
    let mut all: Vec<String> = stay.iter().chain(&moved).cloned().collect();
    all.push("missing".into());
    all.sort();
    assert_eq!(first, all, "every distinct key asked once");
    // Round two: only the refused keys, to server 1.
    let mut resent = nodes[1].keys(GETKQ);
    resent.sort();
    let mut refused: Vec<String> = all
        .into_iter()
        .filter(|k| routing::vbucket_id(k.as_bytes(), 2) == 1)
        .collect();
    refused.sort();
    assert_eq!(resent, refused, "only the refused keys are re-sent");
}

#[test]
fn real_memcached_behind_a_vbucket_map() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mcs = common::memcacheds(2);
    let addrs: Vec<_> = mcs.iter().map(|m| m.addr()).collect();
    let map: Vec<i32> = (0..64).map(|vb| vb % 2).collect();
    let proxy = common::start(vbucket_topology(&addrs, &map, None));
    let mut c = Client::connect(proxy.addr());
    let keys: Vec<String> = (0..40).map(|i| format!("key:{i}")).collect();
    for k in &keys {
        c.send(format!("set {k} 7 0 {}\r\n{k}\r\n", k.len()).as_bytes());
        c.expect(b"STORED\r\n");
    }
    c.send(format!("get {}\r\n", keys.join(" ")).as_bytes());
    for k in &keys {
        c.expect(format!("VALUE {k} 7 {}\r\n{k}\r\n", k.len()).as_bytes());
    }
    c.expect(b"END\r\n");
    c.send(b"set n 0 0 1\r\n5\r\nincr n 3\r\n");
    c.expect(b"STORED\r\n8\r\n");
    for k in &keys {
        let vb = routing::vbucket_id(k.as_bytes(), 64);
        let owner = map[usize::from(vb)] as usize;
        let mut direct = Client::connect(addrs[owner]);
        direct.send(format!("get {k}\r\n").as_bytes());
        direct.expect(format!("VALUE {k} 7 {}\r\n{k}\r\nEND\r\n", k.len()).as_bytes());
        let mut other = Client::connect(addrs[1 - owner]);
        other.send(format!("get {k}\r\n").as_bytes());
        other.expect(b"END\r\n");
    }
    let mut b = Client::connect(proxy.addr());
    b.send(&bin(op::GETK, b"key:3", &[], &[], 1));
    let f = b.read_frame();
    assert_eq!((f.status, f.value), (0, b"key:3".to_vec()));
}

#[test]
fn memccapable_through_a_vbucket_pool() {
    if !testkit::require_tool("memccapable") || !testkit::require_tool("memcached") {
        return;
    }
    let mcs = common::memcacheds(2);
    let addrs: Vec<_> = mcs.iter().map(|m| m.addr()).collect();
    let map: Vec<i32> = (0..16).map(|vb| vb % 2).collect();
    let proxy = common::start(vbucket_topology(&addrs, &map, None));
    let (passed, output) = testkit::run_memccapable(proxy.addr());
    let passes = output.lines().filter(|l| l.ends_with("[pass]")).count();
    assert!(passed && passes == 54, "{passes} of 54 passed:\n{output}");
}
