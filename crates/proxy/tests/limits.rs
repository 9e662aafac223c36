//! The queues and limits of `-Z`, against scripted servers: the wait queue
//! (`downstream_max`, `wait_queue_timeout`), the connection queue
//! (`downstream_conn_max` × `downstream_conn_pipeline`,
//! `downstream_conn_queue_timeout`) and `downstream_retry`. Topologies are
//! built from `Behaviors` as the binary builds them; the proxy runs one
//! worker so that every client shares the per-worker queues.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{bin, op, set_extras, status, Client};
use config::Behaviors;
use testkit::mock::{MockServer, Received};

fn behaviors(list: &str) -> Behaviors {
    let mut b = Behaviors::default();
    b.apply(&format!("downstream_protocol=ascii,{list}"))
        .unwrap();
    b
}

fn proxy(addr: SocketAddr, b: &Behaviors) -> common::Proxy {
    let topo = proxy::topology::build::hashed(&common::servers_of(&[addr]), b).unwrap();
    common::start_on(topo, 1)
}

/// Answers every request with `STORED` after `delay`.
fn slow_mock(delay: Duration) -> MockServer {
    MockServer::start(move |conn| {
        while let Some(Received::Ascii { .. }) = conn.read_request() {
            std::thread::sleep(delay);
            conn.send(b"STORED\r\n");
        }
    })
    .unwrap()
}

fn saw(mock: &MockServer, what: &'static [u8]) -> bool {
    mock.wait_for(Duration::from_secs(5), |b| {
        b.windows(what.len()).any(|w| w == what)
    })
}

#[test]
fn a_full_wait_queue_times_out_with_moxis_line_and_its_crlf() {
    let mock = MockServer::stalling().unwrap();
    let b = behaviors("downstream_max=1,wait_queue_timeout=100,downstream_timeout=3000");
    let p = proxy(mock.addr(), &b);
    let mut first = Client::connect(p.addr());
    first.send(b"set a 0 0 1\r\nx\r\n");
    assert!(
        saw(&mock, b"set a"),
        "the first request holds the only place"
    );
    let mut c = Client::connect(p.addr());
    let started = Instant::now();
    c.send(b"set b 0 0 1\r\nx\r\n");
    c.expect(b"SERVER_ERROR proxy wait queue timeout\r\n");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(100), "{waited:?}");
    assert!(waited < Duration::from_millis(2000), "{waited:?}");
    c.send(b"get b\r\n");
    c.expect(b"END\r\n");
    let mut bc = Client::connect(p.addr());
    bc.send(&bin(op::SET, b"b", &set_extras(0, 0), b"x", 9));
    let f = bc.read_frame();
    assert_eq!((f.status, f.opaque), (status::EBUSY, 9));
    assert_eq!(f.value, b"System is busy");
    assert!(
        !mock.received_all().windows(5).any(|w| w == b"set b"),
        "requests that timed out in the wait queue were never sent"
    );
    assert_eq!(p.shared.runtime().totals().tot_wait_queue_timeout, 3);
    first.expect(b"SERVER_ERROR proxy downstream timeout 127.0.0.1\r\n");
}

#[test]
fn the_wait_queue_hands_the_place_on() {
    let mock = slow_mock(Duration::from_millis(150));
    let b = behaviors("downstream_max=1,wait_queue_timeout=5000");
    let p = proxy(mock.addr(), &b);
    let mut first = Client::connect(p.addr());
    let mut second = Client::connect(p.addr());
    let started = Instant::now();
    first.send(b"set a 0 0 1\r\nx\r\n");
    assert!(saw(&mock, b"set a"));
    second.send(b"set b 0 0 1\r\nx\r\n");
    first.expect(b"STORED\r\n");
    second.expect(b"STORED\r\n");
    // One at a time: the second waited for the first's 150 ms, then took
    // its own.
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(p.shared.runtime().totals().tot_wait_queue_timeout, 0);
}

#[test]
fn unlimited_downstream_max_has_no_wait_queue() {
    let mock = MockServer::stalling().unwrap();
    let b = behaviors("downstream_max=0,wait_queue_timeout=50,downstream_timeout=400");
    let p = proxy(mock.addr(), &b);
    let mut clients: Vec<Client> = (0..3).map(|_| Client::connect(p.addr())).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        c.send(format!("set k{i} 0 0 1\r\nx\r\n").as_bytes());
    }
    for c in &mut clients {
        c.expect(b"SERVER_ERROR proxy downstream timeout 127.0.0.1\r\n");
    }
}

#[test]
fn a_full_connection_queue_times_out_as_a_downstream_timeout() {
    let mock = MockServer::stalling().unwrap();
    let b = behaviors(
        "downstream_conn_max=1,downstream_conn_pipeline=1,\
         downstream_conn_queue_timeout=100,downstream_timeout=3000",
    );
    let p = proxy(mock.addr(), &b);
    let mut first = Client::connect(p.addr());
    first.send(b"set a 0 0 1\r\nx\r\n");
    assert!(saw(&mock, b"set a"));
    let mut c = Client::connect(p.addr());
    let started = Instant::now();
    c.send(b"set b 0 0 1\r\nx\r\n");
    c.expect(b"SERVER_ERROR proxy downstream timeout 127.0.0.1\r\n");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(100), "{waited:?}");
    assert!(waited < Duration::from_millis(2000), "{waited:?}");
    assert!(!mock.received_all().windows(5).any(|w| w == b"set b"));
    let t = p.shared.runtime().totals();
    assert_eq!(t.tot_downstream_conn_queue_timeout, 1);
    first.expect(b"SERVER_ERROR proxy downstream timeout 127.0.0.1\r\n");
    assert_eq!(p.shared.runtime().totals().tot_downstream_timeout, 1);
}

#[test]
fn the_connection_queue_serves_one_request_at_a_time() {
    let mock = slow_mock(Duration::from_millis(100));
    let b = behaviors(
        "downstream_conn_max=1,downstream_conn_pipeline=1,downstream_conn_queue_timeout=5000",
    );
    let p = proxy(mock.addr(), &b);
    let mut c = Client::connect(p.addr());
    let started = Instant::now();
    c.send(b"set a 0 0 1\r\nx\r\nset b 0 0 1\r\nx\r\nset c 0 0 1\r\nx\r\n");
    for _ in 0..3 {
        c.expect(b"STORED\r\n");
    }
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn downstream_retry_sets_how_often_a_closed_request_is_sent_again() {
    for retries in [0usize, 1, 3] {
        let mock = MockServer::start(|conn| {
            let _ = conn.read_request();
        })
        .unwrap();
        let b = behaviors(&format!("downstream_retry={retries}"));
        let p = proxy(mock.addr(), &b);
        let mut c = Client::connect(p.addr());
        c.send(b"set k 0 0 1\r\nx\r\n");
        c.expect(b"SERVER_ERROR proxy downstream closed 127.0.0.1\r\n");
        assert_eq!(mock.sessions(), retries + 1, "downstream_retry={retries}");
        assert_eq!(p.shared.runtime().totals().tot_retry, retries as u64);
    }
}
