//! The REST config watcher against testkit's scripted REST server: configs
//! streamed with chunked encoding apply live (client connections stay open,
//! downstream connections to servers that stay are kept), whatever the
//! writes (a delimiter split across them, two configs in one); invalid
//! JSON is refused and the old config stays; a config before a broken
//! chunk still applies; stalls, closed streams and 401s are survived with
//! retries and backoff.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::nodes::Node;
use common::{bucket_json, Client};
use config::{Behaviors, DefaultBucket, HttpUrl};
use proxy::buckets::watch::{WatchOptions, Watcher};
use proxy::buckets::Gateway;
use testkit::rest_server::{Feed, RestConn, RestServer};

const DELIM: &str = "\n\n\n\n";
const LIMIT: Duration = Duration::from_secs(10);

fn options() -> WatchOptions {
    WatchOptions {
        repoll: Duration::from_millis(50),
        min_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        connect_timeout: Duration::from_secs(1),
        head_timeout: Duration::from_millis(300),
    }
}

fn watch(urls: &[String], creds: Option<(&str, &str)>) -> (Arc<Gateway>, Watcher) {
    let g = Gateway::new(DefaultBucket::First, protocol::Limits::default());
    let urls: Vec<HttpUrl> = urls.iter().map(|u| HttpUrl::parse(u).unwrap()).collect();
    let creds = creds.map(|(u, p)| (u.to_owned(), p.to_owned()));
    let w = proxy::buckets::watch::spawn(g.clone(), urls, creds, Behaviors::default(), options())
        .unwrap();
    (g, w)
}

/// Polls until `done` holds (bounded).
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < LIMIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn wait_version(g: &Gateway, v: u64) {
    wait_until(&format!("config version {v}"), || g.config_version() >= v);
}

/// A single-bucket config (no `buckets` envelope): `default` over `addrs`
/// with every vBucket on server `master`.
fn config(addrs: &[SocketAddr], master: i32) -> String {
    bucket_json("default", "", addrs, &[master; 4])
}

/// Which server `key` goes to in the gateway's default bucket now.
fn server_of(g: &Gateway, key: &str) -> usize {
    g.default_pool()
        .topology()
        .locate(key.as_bytes())
        .unwrap()
        .server
}

fn streaming(feed: &Feed) -> RestServer {
    let f = feed.clone();
    RestServer::start(move |conn| {
        conn.start_chunked();
        while let Some(chunk) = f.next() {
            conn.chunk(&chunk);
        }
        conn.end_chunks();
    })
    .unwrap()
}

#[test]
fn streamed_configs_apply_live_and_keep_connections() {
    let nodes = [Node::start(), Node::start()];
    let addrs = [nodes[0].addr(), nodes[1].addr()];
    let feed = Feed::new();
    let rest = streaming(&feed);
    let (g, _w) = watch(
        &[rest.url("/pools/default/bucketsStreamingConfig/default")],
        None,
    );
    let l = common::start_gateway(g.clone());
    feed.push(format!("{}{DELIM}", config(&addrs, 0)).into_bytes());
    wait_version(&g, 1);
    let mut c = Client::connect(l.local_addrs()[0]);
    c.send(b"set k1 0 0 1\r\na\r\n");
    c.expect(b"STORED\r\n");
    assert_eq!(nodes[0].value("k1").as_deref(), Some("a"));
    // The next config, split mid-JSON and mid-delimiter across writes.
    let next = format!("{}{DELIM}", config(&addrs, 1));
    let (a, rest_of) = next.split_at(next.len() / 2);
    let (b, tail) = rest_of.split_at(rest_of.len() - 2);
    for part in [a, b, tail] {
        feed.push(part.as_bytes().to_vec());
    }
    wait_version(&g, 2);
    assert_eq!(g.config_version(), 2, "applied once");
    c.send(b"set k2 0 0 1\r\nb\r\n");
    c.expect(b"STORED\r\n");
    assert_eq!(nodes[1].value("k2").as_deref(), Some("b"), "keys moved");
    feed.push(format!("{}{DELIM}", config(&addrs, 0)).into_bytes());
    wait_version(&g, 3);
    c.send(b"get k1\r\n");
    c.expect(b"VALUE k1 0 1\r\na\r\nEND\r\n");
    assert_eq!(
        nodes[0].mock.sessions(),
        1,
        "server 0's connection was kept"
    );
    assert_eq!(rest.requests().len(), 1, "one streaming request");
}

#[test]
fn two_configs_in_one_write() {
    let nodes = [Node::start(), Node::start()];
    let addrs = [nodes[0].addr(), nodes[1].addr()];
    let feed = Feed::new();
    let rest = streaming(&feed);
    let (g, _w) = watch(&[rest.url("/s")], None);
    let both = format!("{}{DELIM}{}{DELIM}", config(&addrs, 0), config(&addrs, 1));
    feed.push(both.into_bytes());
    wait_version(&g, 2);
    assert_eq!(server_of(&g, "k"), 1, "the later config wins");
}

/// Found by the `rest_stream` fuzz target: a config and a broken chunk
/// arriving in one read. The config applies, as it did when the reads
/// happened to split the two.
#[test]
fn a_config_before_a_broken_chunk_applies() {
    let node = Node::start();
    let body = format!("{}{DELIM}", config(&[node.addr()], 0));
    let rest = RestServer::start(move |conn| {
        conn.start_chunked();
        let mut wire = format!("{:x}\r\n{body}\r\n", body.len()).into_bytes();
        wire.extend_from_slice(b"zz\r\n");
        conn.raw(&wire);
    })
    .unwrap();
    let (g, _w) = watch(&[rest.url("/s")], None);
    wait_version(&g, 1);
}

#[test]
fn invalid_json_is_refused_and_the_old_config_stays() {
    let nodes = [Node::start(), Node::start()];
    let addrs = [nodes[0].addr(), nodes[1].addr()];
    let feed = Feed::new();
    let rest = streaming(&feed);
    let (g, _w) = watch(&[rest.url("/s")], None);
    feed.push(format!("{}{DELIM}", config(&addrs, 1)).into_bytes());
    wait_version(&g, 1);
    let bad_map = bucket_json("default", "", &addrs, &[0, 0, 0]);
    feed.push(format!("{{not json{DELIM}{bad_map}{DELIM}").into_bytes());
    feed.push(format!("{}{DELIM}", config(&addrs, 0)).into_bytes());
    wait_version(&g, 2);
    assert_eq!(g.config_version(), 2, "the two bad ones were refused");
    assert_eq!(server_of(&g, "k"), 0);
    assert_eq!(rest.requests().len(), 1, "the stream stayed open");
}

#[test]
fn a_first_url_answering_garbage_fails_over_to_the_next() {
    let node = Node::start();
    let bad = RestServer::start(|conn| {
        conn.respond(200, "OK", b"this is not json");
    })
    .unwrap();
    let good_config = format!("{}{DELIM}", config(&[node.addr()], 0));
    let good = RestServer::start(move |conn| {
        conn.respond(200, "OK", good_config.as_bytes());
    })
    .unwrap();
    let (g, _w) = watch(&[bad.url("/a"), good.url("/b")], None);
    wait_version(&g, 1);
    assert!(!bad.requests().is_empty());
    assert_eq!(server_of(&g, "k"), 0);
    // Non-streaming URLs are polled again.
    wait_until("a second poll", || good.requests().len() >= 2);
}

#[test]
fn stalls_are_survived() {
    let node = Node::start();
    let cfg = format!("{}{DELIM}", config(&[node.addr()], 0));
    let conns = Arc::new(AtomicUsize::new(0));
    let n = conns.clone();
    let rest = RestServer::start(move |conn: &mut RestConn| {
        match n.fetch_add(1, Ordering::SeqCst) {
            // No response head at all: the watcher gives up on it.
            0 => conn.hold(Duration::from_secs(5)),
            // Half a config, a pause, the rest.
            _ => {
                conn.start_chunked();
                let (a, b) = cfg.split_at(cfg.len() / 2);
                conn.chunk(a.as_bytes());
                std::thread::sleep(Duration::from_millis(300));
                conn.chunk(b.as_bytes());
                conn.hold(Duration::from_secs(5));
            }
        }
    })
    .unwrap();
    let (g, _w) = watch(&[rest.url("/s")], None);
    wait_version(&g, 1);
    assert_eq!(rest.requests().len(), 2);
}

#[test]
fn closed_streams_are_reconnected_with_backoff() {
    let nodes = [Node::start(), Node::start()];
    let addrs = [nodes[0].addr(), nodes[1].addr()];
    let conns = Arc::new(AtomicUsize::new(0));
    let n = conns.clone();
    let configs = [config(&addrs, 0), config(&addrs, 1)];
    let rest = RestServer::start(move |conn: &mut RestConn| {
        match n.fetch_add(1, Ordering::SeqCst) {
            0 => {
                conn.start_chunked();
                conn.chunk(format!("{}{DELIM}", configs[0]).as_bytes());
                // Closed mid-stream, without the last chunk.
            }
            1..=3 => {} // closed before the response head
            _ => {
                conn.start_chunked();
                conn.chunk(format!("{}{DELIM}", configs[1]).as_bytes());
                conn.hold(Duration::from_secs(5));
            }
        }
    })
    .unwrap();
    let (g, _w) = watch(&[rest.url("/s")], None);
    wait_version(&g, 1);
    let failing = Instant::now();
    wait_version(&g, 2);
    // Three failed passes back off 20 + 40 + 80 ms before the fifth try.
    assert!(
        failing.elapsed() >= Duration::from_millis(140),
        "{:?}",
        failing.elapsed()
    );
    assert_eq!(server_of(&g, "k"), 1);
    assert_eq!(rest.requests().len(), 5);
}

#[test]
fn unauthorized_is_retried_and_the_old_config_stays() {
    let nodes = [Node::start(), Node::start()];
    let addrs = [nodes[0].addr(), nodes[1].addr()];
    let conns = Arc::new(AtomicUsize::new(0));
    let welcome = Arc::new(AtomicBool::new(false));
    let (n, w) = (conns.clone(), welcome.clone());
    let configs = [config(&addrs, 0), config(&addrs, 1)];
    let rest = RestServer::start(move |conn: &mut RestConn| {
        let first = n.fetch_add(1, Ordering::SeqCst) == 0;
        let allowed = first || w.load(Ordering::SeqCst);
        if conn.authorization() != Some("Basic dXNlcjpwYXNz") || !allowed {
            conn.respond(401, "Unauthorized", b"");
            return;
        }
        conn.start_chunked();
        let cfg = if first { &configs[0] } else { &configs[1] };
        conn.chunk(format!("{cfg}{DELIM}").as_bytes());
        if first {
            conn.end_chunks();
        } else {
            conn.hold(Duration::from_secs(5));
        }
    })
    .unwrap();
    let (g, _w) = watch(&[rest.url("/s")], Some(("user", "pass")));
    let l = common::start_gateway(g.clone());
    wait_version(&g, 1);
    wait_until("two refusals", || rest.requests().len() >= 3);
    let mut c = Client::connect(l.local_addrs()[0]);
    c.send(b"set k 0 0 1\r\nx\r\n");
    c.expect(b"STORED\r\n");
    assert_eq!(
        nodes[0].value("k").as_deref(),
        Some("x"),
        "old config still serves"
    );
    assert_eq!(g.config_version(), 1);
    welcome.store(true, Ordering::SeqCst);
    wait_version(&g, 2);
    assert_eq!(server_of(&g, "k"), 1);
}
