//! A mock downstream that stores and serves like a memcached (set, get,
//! delete; ascii and binary) and misbehaves for keys starting with
//! [`POISON`]: it resets the connection in the middle of the value, or
//! answers garbage. What a real server cannot be made to do, played with
//! testkit's mock; the faults are counted, and each garbage session's end
//! is timed, so a test can tell that moxi closed it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use testkit::mock::{
    binary_reply, empty_cache_ascii_reply, empty_cache_binary_reply, BinaryRequest, MockConn,
    MockServer, Received,
};

/// Keys the mock misbehaves for.
pub const POISON: &str = "poison";

/// What the mock does for a poisoned key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Gets: half the value, then a TCP reset. Other commands work.
    ResetMidValue,
    /// Every command: a reply that is no reply at all; the session goes on
    /// answering whatever else it is sent.
    Garbage,
    /// Sets: the right reply twice; the session goes on answering.
    ExtraReply,
}

/// What the faults did.
#[derive(Default)]
pub struct FaultLog {
    /// Faults played, in order.
    pub played: Mutex<Vec<Instant>>,
    /// For each garbage session that ended: how long after the garbage.
    pub closed_after: Mutex<Vec<Duration>>,
}

impl FaultLog {
    /// How many faults were played.
    pub fn played(&self) -> usize {
        self.played.lock().unwrap().len()
    }
}

type Store = Mutex<HashMap<Vec<u8>, (Vec<u8>, Vec<u8>)>>;

/// Starts the mock.
pub fn start(fault: Fault) -> (MockServer, Arc<FaultLog>) {
    let log = Arc::new(FaultLog::default());
    let store: Arc<Store> = Arc::default();
    let l = log.clone();
    let mock = MockServer::start(move |conn| session(conn, fault, &store, &l)).unwrap();
    (mock, log)
}

fn session(conn: &mut MockConn, fault: Fault, store: &Store, log: &FaultLog) {
    let mut garbage_at = None;
    while let Some(req) = conn.read_request() {
        let poisoned = match &req {
            Received::Ascii { line, .. } => {
                let mut words = line.split(|&b| b == b' ');
                let cmd = words.next().unwrap_or_default();
                let poisoned = words.any(|w| w.starts_with(POISON.as_bytes()));
                poisoned
                    && match fault {
                        Fault::ResetMidValue => cmd.starts_with(b"get"),
                        Fault::Garbage => true,
                        Fault::ExtraReply => cmd == b"set",
                    }
            }
            Received::Binary(b) => {
                b.key.starts_with(POISON.as_bytes())
                    && match fault {
                        Fault::ResetMidValue => is_get(b.opcode),
                        Fault::Garbage => true,
                        Fault::ExtraReply => b.opcode == 0x01,
                    }
            }
        };
        if !poisoned {
            serve(conn, store, &req);
            continue;
        }
        log.played.lock().unwrap().push(Instant::now());
        match fault {
            Fault::ResetMidValue => {
                reset_mid_value(conn, &req);
                return;
            }
            Fault::Garbage => {
                let garbage: &[u8] = match req {
                    Received::Ascii { .. } => b"HELLO THERE\r\n",
                    Received::Binary(_) => b"\x00garbage garbage garbage garbage\r\n",
                };
                conn.send(garbage);
                garbage_at.get_or_insert_with(Instant::now);
            }
            Fault::ExtraReply => {
                let reply = match &req {
                    Received::Ascii { line, data } => serve_ascii(store, line, data.as_deref()),
                    Received::Binary(b) => serve_binary(store, b),
                };
                conn.send(&[&reply[..], &reply[..]].concat());
                garbage_at.get_or_insert_with(Instant::now);
            }
        }
    }
    if let Some(at) = garbage_at {
        log.closed_after.lock().unwrap().push(at.elapsed());
    }
}

/// GET, GETQ, GETK, GETKQ.
fn is_get(opcode: u8) -> bool {
    matches!(opcode, 0x00 | 0x09 | 0x0c | 0x0d)
}

fn reset_mid_value(conn: &mut MockConn, req: &Received) {
    let value = b"0123456789";
    match req {
        Received::Ascii { line, .. } => {
            let key = line.split(|&b| b == b' ').nth(1).unwrap_or_default();
            let mut head = b"VALUE ".to_vec();
            head.extend_from_slice(key);
            head.extend_from_slice(b" 0 10\r\n01234");
            conn.send(&head);
        }
        Received::Binary(b) => {
            let full = binary_reply(b, 0, 1, &[0; 4], &b.key, value);
            conn.send(&full[..full.len() - 5]);
        }
    }
    // Let the half value arrive before the reset.
    std::thread::sleep(Duration::from_millis(5));
    conn.reset();
}

fn serve(conn: &mut MockConn, store: &Store, req: &Received) {
    match req {
        Received::Ascii { line, data } => {
            let reply = serve_ascii(store, line, data.as_deref());
            conn.send(&reply);
        }
        Received::Binary(b) => {
            let reply = serve_binary(store, b);
            conn.send(&reply);
        }
    }
}

fn serve_ascii(store: &Store, line: &[u8], data: Option<&[u8]>) -> Vec<u8> {
    let words: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    let mut map = store.lock().unwrap();
    match (words[0], data) {
        (b"set", Some(data)) => {
            let flags = words.get(2).unwrap_or(&&b"0"[..]).to_vec();
            map.insert(words[1].to_vec(), (flags, data.to_vec()));
            b"STORED\r\n".to_vec()
        }
        (b"get" | b"gets", _) => {
            let mut out = Vec::new();
            for key in &words[1..] {
                if let Some((flags, value)) = map.get(*key) {
                    out.extend_from_slice(b"VALUE ");
                    out.extend_from_slice(key);
                    out.push(b' ');
                    out.extend_from_slice(flags);
                    let cas = if words[0] == b"gets" { " 1" } else { "" };
                    out.extend_from_slice(format!(" {}{cas}\r\n", value.len()).as_bytes());
                    out.extend_from_slice(value);
                    out.extend_from_slice(b"\r\n");
                }
            }
            out.extend_from_slice(b"END\r\n");
            out
        }
        (b"delete", _) => match map.remove(words[1]) {
            Some(_) => b"DELETED\r\n".to_vec(),
            None => b"NOT_FOUND\r\n".to_vec(),
        },
        _ => empty_cache_ascii_reply(line).to_vec(),
    }
}

fn serve_binary(store: &Store, b: &BinaryRequest) -> Vec<u8> {
    let mut map = store.lock().unwrap();
    match b.opcode {
        0x01 => {
            let flags = b.extras.get(..4).unwrap_or(&[0; 4]).to_vec();
            map.insert(b.key.clone(), (flags, b.value.clone()));
            binary_reply(b, 0, 1, &[], &[], &[])
        }
        op if is_get(op) => {
            let with_key = matches!(op, 0x0c | 0x0d);
            let key: &[u8] = if with_key { &b.key } else { &[] };
            match map.get(&b.key) {
                Some((flags, value)) => binary_reply(b, 0, 1, flags, key, value),
                None if matches!(op, 0x09 | 0x0d) => Vec::new(),
                None => binary_reply(b, 1, 0, &[], key, b"Not found"),
            }
        }
        0x04 => match map.remove(&b.key) {
            Some(_) => binary_reply(b, 0, 0, &[], &[], &[]),
            None => binary_reply(b, 1, 0, &[], &[], b"Not found"),
        },
        _ => empty_cache_binary_reply(b),
    }
}
