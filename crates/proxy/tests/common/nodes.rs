//! Mock vBucket servers: a tiny binary memcached per mock (set, get
//! family, delete, and SASL_AUTH accepting anyone) that answers
//! NOT_MY_VBUCKET for the vBuckets a test chooses, and logs every request
//! it sees (opcode, key, vBucket, value).
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use testkit::mock::{binary_reply, empty_cache_binary_reply, BinaryRequest, MockServer, Received};

/// One request a node saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub opcode: u8,
    pub key: Vec<u8>,
    pub vbucket: u16,
    pub value: Vec<u8>,
}

/// A mock vBucket server.
pub struct Node {
    pub mock: MockServer,
    log: Arc<Mutex<Vec<Seen>>>,
    store: Arc<Mutex<HashMap<Vec<u8>, Vec<u8>>>>,
    refuse: Arc<Mutex<HashSet<u16>>>,
}

const NOT_MY_VBUCKET: u16 = 0x0007;
const KEYLESS: &[u8] = &[
    0x07, 0x08, 0x0a, 0x0b, 0x10, 0x17, 0x18, 0x1b, 0x20, 0x21, 0x22,
];

impl Node {
    pub fn start() -> Node {
        let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let store: Arc<Mutex<HashMap<Vec<u8>, Vec<u8>>>> = Arc::default();
        let refuse: Arc<Mutex<HashSet<u16>>> = Arc::default();
        let (l, s, r) = (log.clone(), store.clone(), refuse.clone());
        let mock = MockServer::start(move |conn| {
            while let Some(Received::Binary(req)) = conn.read_request() {
                l.lock().unwrap().push(Seen {
                    opcode: req.opcode,
                    key: req.key.clone(),
                    vbucket: req.vbucket,
                    value: req.value.clone(),
                });
                let refused =
                    !KEYLESS.contains(&req.opcode) && r.lock().unwrap().contains(&req.vbucket);
                let reply = if refused {
                    binary_reply(&req, NOT_MY_VBUCKET, 0, &[], &[], b"Not my vbucket")
                } else {
                    serve(&req, &mut s.lock().unwrap())
                };
                if !conn.send(&reply) {
                    return;
                }
            }
        })
        .unwrap();
        Node {
            mock,
            log,
            store,
            refuse,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.mock.addr()
    }

    /// Answer NOT_MY_VBUCKET for `vb` from now on.
    pub fn refuse(&self, vb: u16) {
        self.refuse.lock().unwrap().insert(vb);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    /// Keys of the requests with `opcode`.
    pub fn keys(&self, opcode: u8) -> Vec<String> {
        self.seen()
            .into_iter()
            .filter(|s| s.opcode == opcode)
            .map(|s| String::from_utf8(s.key).unwrap())
            .collect()
    }

    pub fn put(&self, key: &str, value: &str) {
        self.store
            .lock()
            .unwrap()
            .insert(key.as_bytes().to_vec(), value.as_bytes().to_vec());
    }

    pub fn value(&self, key: &str) -> Option<String> {
        let store = self.store.lock().unwrap();
        store
            .get(key.as_bytes())
            .map(|v| String::from_utf8(v.clone()).unwrap())
    }
}

fn serve(req: &BinaryRequest, store: &mut HashMap<Vec<u8>, Vec<u8>>) -> Vec<u8> {
    let flags = [0u8; 4];
    match req.opcode {
        // SET / SETQ (proxies send loud requests only).
        0x01 | 0x11 => {
            store.insert(req.key.clone(), req.value.clone());
            binary_reply(req, 0, 1, &[], &[], &[])
        }
        // GET, GETQ, GETK, GETKQ.
        0x00 | 0x09 | 0x0c | 0x0d => {
            let with_key = matches!(req.opcode, 0x0c | 0x0d);
            let key: &[u8] = if with_key { &req.key } else { &[] };
            match store.get(&req.key) {
                Some(v) => binary_reply(req, 0, 1, &flags, key, v),
                None if matches!(req.opcode, 0x09 | 0x0d) => Vec::new(),
                None if with_key => binary_reply(req, 1, 0, &[], key, &[]),
                None => binary_reply(req, 1, 0, &[], &[], b"Not found"),
            }
        }
        // SASL_AUTH: any credentials will do (tests check what was sent).
        0x21 => binary_reply(req, 0, 0, &[], &[], b"Authenticated"),
        0x04 => match store.remove(&req.key) {
            Some(_) => binary_reply(req, 0, 0, &[], &[], &[]),
            None => binary_reply(req, 1, 0, &[], &[], b"Not found"),
        },
        _ => empty_cache_binary_reply(req),
    }
}
