//! The connection limit (`-c`): the connection over the limit is told so
//! and closed, a closed connection frees its slot, and `stats` counts it.

use server::settings::Settings;

use crate::client::{eventually, settings, start, Conn};

const LIMIT_REPLY: &[u8] = b"ERROR Too many open connections\r\n";

/// Opens a connection and proves the server serves it.
fn served(addr: std::net::SocketAddr) -> Conn {
    let mut c = Conn::open(addr);
    assert!(c.call("version").starts_with("VERSION "));
    c
}

#[test]
fn fourth_connection_is_refused_until_one_closes() {
    let server = start(Settings {
        max_conns: 3,
        ..settings()
    });
    let addr = server.local_addrs()[0];
    let mut first = served(addr);
    let second = served(addr);
    let _third = served(addr);
    let mut fourth = Conn::open(addr);
    assert_eq!(fourth.until_closed(), LIMIT_REPLY);
    assert_eq!(first.stat("curr_connections"), 3);
    assert_eq!(first.stat("rejected_connections"), 1);
    assert_eq!(first.stat("total_connections"), 3);
    assert_eq!(first.stat("max_connections"), 3);
    drop(second);
    // The slot is released when the server notices the close.
    eventually("the closed connection's slot to be released", || {
        first.stat("curr_connections") == 2
    });
    let mut again = served(addr);
    assert_eq!(again.set("k", 0, b"v"), "STORED");
    let stats = again.stats("");
    let stat = |name: &str| stats.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert_eq!(stat("curr_connections"), "3");
    assert_eq!(stat("total_connections"), "4");
    assert_eq!(stat("rejected_connections"), "1");
    // Still full: the next one is refused again.
    let mut fifth = Conn::open(addr);
    assert_eq!(fifth.until_closed(), LIMIT_REPLY);
    assert_eq!(first.stat("rejected_connections"), 2);
}

#[test]
fn quit_releases_the_slot() {
    let server = start(Settings {
        max_conns: 2,
        ..settings()
    });
    let addr = server.local_addrs()[0];
    let mut observer = served(addr);
    let mut other = served(addr);
    let mut refused = Conn::open(addr);
    assert_eq!(refused.until_closed(), LIMIT_REPLY);
    other.send(b"quit\r\n");
    assert_eq!(other.until_closed(), b"", "quit answers nothing");
    eventually("the slot to be released after quit", || {
        observer.stat("curr_connections") == 1
    });
    let mut next = served(addr);
    assert_eq!(next.stat("total_connections"), 3);
}
