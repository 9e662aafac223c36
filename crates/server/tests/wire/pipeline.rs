//! Pipelining and protocol detection: a thousand mixed requests in one
//! write are answered completely and in order, ascii and binary clients
//! share a port, and `-B` refuses the other protocol.

use std::io::Write;
use std::thread;

use server::settings::{Binding, Settings};
use server::stats::VERSION;

use crate::client::{arith_extras, bin, op, settings, start, status, store_extras, Conn};

const REQUESTS: usize = 1000;
const VALUE_LEN: usize = 4000;

/// The ascii batch and the exact bytes it must produce.
fn ascii_batch(version: &str) -> (Vec<u8>, Vec<u8>) {
    let (mut req, mut want) = (Vec::new(), Vec::new());
    req.extend_from_slice(b"set ctr 0 0 1\r\n0\r\n");
    want.extend_from_slice(b"STORED\r\n");
    let data = |i: usize| vec![b'a' + (i % 26) as u8; VALUE_LEN];
    let mut ctr = 0;
    for i in 0..REQUESTS {
        let base = i - i % 8;
        let (line, reply): (String, Vec<u8>) = match i % 8 {
            0 => (format!("set p{i} 0 0 {VALUE_LEN}"), b"STORED\r\n".to_vec()),
            1 => {
                let mut r = format!("VALUE p{base} 0 {VALUE_LEN}\r\n").into_bytes();
                r.extend_from_slice(&data(base));
                r.extend_from_slice(b"\r\nEND\r\n");
                (format!("get p{base}"), r)
            }
            2 => (format!("add p{base} 0 0 1"), b"NOT_STORED\r\n".to_vec()),
            3 => {
                ctr += 1;
                ("incr ctr 1".into(), format!("{ctr}\r\n").into_bytes())
            }
            4 => (format!("delete p{base}"), b"DELETED\r\n".to_vec()),
            5 => (format!("get p{base} p{i}"), b"END\r\n".to_vec()),
            6 => ("version".into(), format!("{version}\r\n").into_bytes()),
            _ => (format!("touch p{base} 0"), b"NOT_FOUND\r\n".to_vec()),
        };
        req.extend_from_slice(line.as_bytes());
        req.extend_from_slice(b"\r\n");
        match i % 8 {
            0 => req.extend_from_slice(&data(i)),
            2 => req.extend_from_slice(b"x"),
            _ => {}
        }
        if i % 8 == 0 || i % 8 == 2 {
            req.extend_from_slice(b"\r\n");
        }
        want.extend_from_slice(&reply);
    }
    (req, want)
}

/// The binary batch and the (opcode, status, opaque) of each reply.
fn binary_batch() -> (Vec<u8>, Vec<(u8, u16, u32)>) {
    let (mut req, mut want) = (Vec::new(), Vec::new());
    let ex = store_extras(0, 0);
    for i in 0..REQUESTS as u32 {
        let key = format!("b{}", i - i % 4);
        let frame = match i % 4 {
            0 => bin(op::SET, key.as_bytes(), &ex, &[b'z'; 100], i),
            1 => bin(op::GETK, key.as_bytes(), b"", b"", i),
            2 => bin(op::INCR, b"bctr", &arith_extras(1, 0, 0), b"", i),
            _ => bin(op::ADD, key.as_bytes(), &ex, b"x", i),
        };
        frame.encode_into(&mut req);
        let st = if i % 4 == 3 {
            status::EXISTS
        } else {
            status::OK
        };
        want.push((frame.opcode, st, i));
    }
    (req, want)
}

fn run_ascii(mut c: Conn) {
    let version = c.call("version");
    let (req, want) = ascii_batch(&version);
    let mut w = c.writer();
    let writer = thread::spawn(move || w.write_all(&req).unwrap());
    let got = c.bytes(want.len());
    writer.join().unwrap();
    if got != want {
        let at = got.iter().zip(&want).position(|(a, b)| a != b).unwrap_or(0);
        let show = |b: &[u8]| String::from_utf8_lossy(&b[at..(at + 80).min(b.len())]).into_owned();
        panic!(
            "replies differ at byte {at}: got {:?}, want {:?}",
            show(&got),
            show(&want)
        );
    }
    // Nothing extra was sent.
    assert_eq!(c.call("version"), version);
}

fn run_binary(mut c: Conn) {
    let (req, want) = binary_batch();
    let mut w = c.writer();
    let writer = thread::spawn(move || w.write_all(&req).unwrap());
    let mut counter = 0u64;
    for &(opcode, st, opaque) in &want {
        let f = c.frame();
        assert_eq!(
            (f.opcode, f.status, f.opaque),
            (opcode, st, opaque),
            "out of order"
        );
        if opcode == op::INCR {
            // The first one creates the key with its initial value, 0.
            assert_eq!(f.value, counter.to_be_bytes());
            counter += 1;
        }
        if opcode == op::GETK {
            let key = format!("b{}", opaque - opaque % 4);
            assert_eq!((f.key, f.value.len()), (key.into_bytes(), 100));
        }
    }
    writer.join().unwrap();
    let r = c.request(&bin(op::NOOP, b"", b"", b"", 4242));
    assert_eq!(
        (r.opcode, r.opaque),
        (op::NOOP, 4242),
        "extra replies were sent"
    );
}

#[test]
fn pipelined_ascii_and_binary_on_one_port() {
    let server = start(settings());
    let addr = server.local_addrs()[0];
    let (a, b) = (Conn::open(addr), Conn::open(addr));
    let ascii = thread::spawn(move || run_ascii(a));
    let binary = thread::spawn(move || run_binary(b));
    ascii.join().unwrap();
    binary.join().unwrap();
    // Both protocols see the same cache.
    let mut c = Conn::open(addr);
    assert_eq!(c.value("bctr").as_deref(), Some(&b"249"[..]));
}

#[test]
fn binding_ascii_closes_binary_clients() {
    let server = start(Settings {
        binding: Binding::Ascii,
        ..settings()
    });
    let addr = server.local_addrs()[0];
    let mut b = Conn::open(addr);
    b.send(bin(op::NOOP, b"", b"", b"", 1).to_bytes());
    assert_eq!(
        b.until_closed(),
        b"",
        "a binary client must be closed unanswered"
    );
    let mut a = Conn::open(addr);
    assert_eq!(a.call("version"), format!("VERSION {VERSION}"));
}

#[test]
fn binding_binary_closes_ascii_clients() {
    let server = start(Settings {
        binding: Binding::Binary,
        ..settings()
    });
    let addr = server.local_addrs()[0];
    let mut a = Conn::open(addr);
    // More than a binary header's worth, so that a server that reads it as
    // one (memcached) sees the bad magic too.
    a.send(b"version\r\nversion\r\nversion\r\n");
    assert_eq!(
        a.until_closed(),
        b"",
        "an ascii client must be closed unanswered"
    );
    let mut b = Conn::open(addr);
    let r = b.request(&bin(op::VERSION, b"", b"", b"", 7));
    assert_eq!(
        (r.status, r.opaque, r.value.as_slice()),
        (status::OK, 7, VERSION.as_bytes())
    );
}
