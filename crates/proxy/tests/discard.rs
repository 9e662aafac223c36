//! A connection dropped after one request's timeout must not take the
//! other requests already sent on it down with it: failed, they would be
//! re-sent (`downstream_retry`) on a new connection while the server may
//! still execute the copy it already has. The soak found this as writes
//! applied twice and stale writes landing late in a chain of moxis.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::time::Duration;

use common::Client;
use config::Behaviors;
use testkit::mock::{MockServer, Received};

#[test]
fn requests_behind_a_timed_out_one_are_not_sent_twice() {
    // Answers in order; `set slow` takes longer than downstream_timeout.
    let mock = MockServer::start(|conn| {
        while let Some(Received::Ascii { line, .. }) = conn.read_request() {
            if line.starts_with(b"set slow") {
                std::thread::sleep(Duration::from_millis(1200));
            }
            conn.send(b"STORED\r\n");
        }
    })
    .unwrap();
    let mut b = Behaviors::default();
    b.apply("downstream_protocol=ascii,downstream_timeout=1000,downstream_conn_max=1,downstream_retry=1")
        .unwrap();
    let topo = proxy::topology::build::hashed(&common::servers_of(&[mock.addr()]), &b).unwrap();
    let p = common::start_on(topo, 1);
    let mut slow = Client::connect(p.addr());
    slow.send(b"set slow 0 0 1\r\nx\r\n");
    assert!(mock.wait_for(Duration::from_secs(5), |all| all.starts_with(b"set slow")));
    // On the same connection (one per server), sent before the first
    // times out, answered by the server after it did.
    std::thread::sleep(Duration::from_millis(600));
    let mut behind = Client::connect(p.addr());
    behind.send(b"set behind 0 0 1\r\nx\r\n");
    slow.expect(b"SERVER_ERROR proxy downstream timeout 127.0.0.1\r\n");
    let reply = behind.read_line();
    // The first connection has had its say too (its copy of `set behind`
    // reaches the server after the slow reply): nothing was sent twice.
    let first_has_it = || {
        mock.received()
            .first()
            .is_some_and(|b| b.windows(10).any(|w| w == b"set behind"))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !first_has_it() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let all = mock.received_all();
    let count = all.windows(10).filter(|w| *w == b"set behind").count();
    assert_eq!(count, 1, "sent twice: {}", testkit::escape_bytes(&all));
    assert_eq!(reply, b"STORED\r\n", "answered on the first connection");
}
