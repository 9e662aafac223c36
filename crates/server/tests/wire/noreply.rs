//! noreply and quiet commands produce no bytes: each is followed by a
//! command with a known reply, and the very next bytes must be that reply.
//! Failures of binary quiet commands are still sent.

use crate::client::{bin, op, settings, start, status, store_extras, Conn};

/// Sends `req` then `version`; the next line must be the version.
fn silent(c: &mut Conn, req: &[u8]) {
    let mut bytes = req.to_vec();
    bytes.extend_from_slice(b"version\r\n");
    c.send(bytes);
    let line = c.line();
    assert!(
        line.starts_with("VERSION "),
        "{:?} was answered: {line:?}",
        String::from_utf8_lossy(req)
    );
}

#[test]
fn every_ascii_noreply_command_is_silent() {
    let server = start(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    let cases: &[&[u8]] = &[
        b"set a 0 0 1 noreply\r\nx\r\n",
        b"add a 0 0 1 noreply\r\nz\r\n", // NOT_STORED, silently
        b"add b 0 0 1 noreply\r\nb\r\n",
        b"replace b 0 0 1 noreply\r\nc\r\n",
        b"replace zz 0 0 1 noreply\r\nc\r\n", // NOT_STORED
        b"append a 0 0 1 noreply\r\ny\r\n",
        b"prepend a 0 0 1 noreply\r\np\r\n",
        b"append zz 0 0 1 noreply\r\ny\r\n", // NOT_STORED
        b"cas a 0 0 1 1 noreply\r\nq\r\n",   // EXISTS
        b"cas zz 0 0 1 1 noreply\r\nq\r\n",  // NOT_FOUND
        b"set n 0 0 2 noreply\r\n10\r\n",
        b"incr n 5 noreply\r\n",
        b"decr n 4 noreply\r\n",
        b"incr zz 1 noreply\r\n", // NOT_FOUND
        b"delete b noreply\r\n",
        b"delete zz noreply\r\n", // NOT_FOUND
        b"touch a 100 noreply\r\n",
        b"touch zz 100 noreply\r\n", // NOT_FOUND
        b"verbosity 1 noreply\r\n",
    ];
    for req in cases {
        silent(&mut c, req);
    }
    // The silent commands took effect.
    let hits = c.retrieve("get a b n");
    let got: Vec<(&str, &[u8])> = hits
        .iter()
        .map(|h| (h.key.as_str(), h.data.as_slice()))
        .collect();
    assert_eq!(got, [("a", &b"pxy"[..]), ("n", b"11")]);
    // A cas with the right unique, silently.
    let cas = c.retrieve("gets a")[0].cas.unwrap();
    silent(
        &mut c,
        format!("cas a 3 0 1 {cas} noreply\r\nC\r\n").as_bytes(),
    );
    let hits = c.retrieve("get a");
    assert_eq!((hits[0].flags, hits[0].data.as_slice()), (3, &b"C"[..]));
    silent(&mut c, b"flush_all noreply\r\n");
    assert_eq!(c.value("a"), None, "flush_all noreply did not flush");
    silent(&mut c, b"flush_all 0 noreply\r\n");
}

#[test]
fn noreply_replies_do_not_leak_into_a_pipeline() {
    let server = start(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    // Many silent commands in one write, then a get: the first bytes back
    // must be the get's reply.
    let mut batch = Vec::new();
    for i in 0..200 {
        batch.extend_from_slice(format!("set k{i} 0 0 1 noreply\r\n{}\r\n", i % 10).as_bytes());
        batch.extend_from_slice(format!("add k{i} 0 0 1 noreply\r\nz\r\n").as_bytes());
        batch.extend_from_slice(format!("incr k{i} 1 noreply\r\n").as_bytes());
    }
    batch.extend_from_slice(b"get k0 k199\r\n");
    c.send(batch);
    assert_eq!(c.line(), "VALUE k0 0 1");
    assert_eq!(c.line(), "1");
    assert_eq!(c.line(), "VALUE k199 0 2");
    assert_eq!(c.line(), "10");
    assert_eq!(c.line(), "END");
}

#[test]
fn binary_quiet_commands_are_silent_unless_they_fail() {
    let server = start(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    let ex = store_extras(0, 0);
    let mut batch = Vec::new();
    for req in [
        bin(op::SETQ, b"k", &ex, b"v", 1),        // success: silent
        bin(op::GETQ, b"missing", b"", b"", 2),   // miss: silent
        bin(op::ADDQ, b"k", &ex, b"w", 3),        // exists: sent
        bin(op::REPLACEQ, b"nope", &ex, b"w", 4), // not found: sent
        bin(op::DELETEQ, b"nope", b"", b"", 5),   // not found: sent
        bin(op::INCRQ, b"k", &[0; 20], b"", 6),   // non-numeric: sent
        bin(op::GETQ, b"k", b"", b"", 7),         // hit: sent
        bin(op::NOOP, b"", b"", b"", 8),          // always sent
    ] {
        req.encode_into(&mut batch);
    }
    c.send(batch);
    let got: Vec<(u8, u16, u32)> = (0..6)
        .map(|_| {
            let f = c.frame();
            (f.opcode, f.status, f.opaque)
        })
        .collect();
    assert_eq!(
        got,
        [
            (op::ADDQ, status::EXISTS, 3),
            (op::REPLACEQ, status::NOT_FOUND, 4),
            (op::DELETEQ, status::NOT_FOUND, 5),
            (op::INCRQ, status::NON_NUMERIC, 6),
            (op::GETQ, status::OK, 7),
            (op::NOOP, status::OK, 8),
        ]
    );
    // SETQ stored without a word; a successful DELETEQ is silent too.
    let r = c.request(&bin(op::GET, b"k", b"", b"", 9));
    assert_eq!((r.status, r.value.as_slice()), (status::OK, &b"v"[..]));
    let mut batch = bin(op::DELETEQ, b"k", b"", b"", 10).to_bytes();
    batch.extend_from_slice(&bin(op::VERSION, b"", b"", b"", 11).to_bytes());
    c.send(batch);
    let f = c.frame();
    assert_eq!((f.opcode, f.opaque), (op::VERSION, 11), "DELETEQ answered");
    assert_eq!(
        c.request(&bin(op::GET, b"k", b"", b"", 12)).status,
        status::NOT_FOUND
    );
}
