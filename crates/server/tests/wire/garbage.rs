//! Hostile input never takes the server down: deterministic garbage on
//! several connections, then fresh and older connections still work; an
//! endless command line closes only its own connection.

use crate::client::{eventually, settings, start, Conn};

/// xorshift64*: a tiny deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Text that looks like commands with broken numbers, keys and lengths
/// (no `flush_all`: the test checks that data survives).
fn commandish(rng: &mut Rng, n: usize) -> Vec<u8> {
    const WORDS: &[&[u8]] = &[
        b"get",
        b"gets",
        b"set",
        b"add",
        b"cas",
        b"incr",
        b"decr",
        b"touch",
        b"gat",
        b"delete",
        b"stats",
        b"verbosity",
        b"noreply",
        b"-1",
        b"0",
        b"18446744073709551616",
        b"4294967296",
        b"99999999999",
        b"\r\n",
        b"\n",
        b"\r",
        b" ",
        b"\0",
        b"\x80",
        b"END",
        b"k",
        b"x",
    ];
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let w = WORDS[(rng.next() % WORDS.len() as u64) as usize];
        out.extend_from_slice(w);
        if rng.next().is_multiple_of(3) {
            out.push(b' ');
        }
    }
    out
}

/// Sends `junk`, half-closes, and requires the server to close in turn.
fn throw(addr: std::net::SocketAddr, junk: &[u8]) {
    let mut c = Conn::open(addr);
    c.send_lossy(junk);
    c.shutdown_write();
    c.until_closed();
}

#[test]
fn garbage_does_not_hurt_other_connections() {
    let server = start(settings());
    let addr = server.local_addrs()[0];
    let mut before = Conn::open(addr);
    assert_eq!(before.set("safe", 0, b"kept"), "STORED");
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for round in 0..4 {
        let mut random = rng.bytes(4096);
        random[0] = b'g'; // an ascii connection
        throw(addr, &random);
        let mut binary = rng.bytes(4096);
        binary[0] = 0x80; // a binary connection
        throw(addr, &binary);
        throw(addr, &rng.bytes(4096)); // whatever the first byte says
        throw(addr, &commandish(&mut rng, 4096));
        assert!(
            before.call("version").starts_with("VERSION "),
            "round {round}"
        );
    }
    // Several at once, none closed by the client first.
    let mut open: Vec<Conn> = (0..4).map(|_| Conn::open(addr)).collect();
    for c in &mut open {
        c.send_lossy(&commandish(&mut rng, 2048));
    }
    let mut fresh = Conn::open(addr);
    assert_eq!(fresh.value("safe").as_deref(), Some(&b"kept"[..]));
    assert_eq!(fresh.set("new", 0, b"ok"), "STORED");
    assert_eq!(before.value("new").as_deref(), Some(&b"ok"[..]));
    drop(open);
    eventually("garbage connections to be closed", || {
        fresh.stat("curr_connections") == 2
    });
}

#[test]
fn endless_line_closes_only_its_connection() {
    let server = start(settings());
    let addr = server.local_addrs()[0];
    let mut bystander = Conn::open(addr);
    assert_eq!(bystander.set("a", 0, b"x"), "STORED");
    let mut long = Conn::open(addr);
    assert_eq!(long.value("a").as_deref(), Some(&b"x"[..]));
    let mut line = b"set ".to_vec();
    line.extend_from_slice(&[b'x'; 3000]);
    long.send(&line);
    long.until_closed();
    assert_eq!(bystander.value("a").as_deref(), Some(&b"x"[..]));
    assert_eq!(Conn::open(addr).value("a").as_deref(), Some(&b"x"[..]));
}

#[test]
fn long_multiget_lines_are_allowed() {
    let server = start(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    let key = |i: usize| format!("{i:0>200}");
    assert_eq!(c.set(&key(7), 0, b"seven"), "STORED");
    // 40 keys of 200 bytes: an 8 KB line, sent in pieces.
    let line = format!("get {}\r\n", (0..40).map(key).collect::<Vec<_>>().join(" "));
    for chunk in line.as_bytes().chunks(1000) {
        c.send(chunk);
    }
    let hits = c.values();
    assert_eq!(hits.len(), 1);
    assert_eq!(
        (hits[0].key.clone(), hits[0].data.clone()),
        (key(7), b"seven".to_vec())
    );
}
