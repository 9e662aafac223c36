//! CAS races between connections: several clients increment one counter
//! with gets/cas loops. Every successful cas must count exactly once, and
//! losers must see EXISTS.

use std::sync::{Arc, Barrier};

use crate::client::{settings, start, Conn};

const CLIENTS: usize = 4;
const INCREMENTS: usize = 50;

/// gets the counter: (value, cas).
fn read_counter(c: &mut Conn) -> (u64, u64) {
    let hits = c.retrieve("gets counter");
    assert_eq!(hits.len(), 1, "counter missing");
    let value = std::str::from_utf8(&hits[0].data).unwrap().parse().unwrap();
    (value, hits[0].cas.expect("gets shows a CAS"))
}

fn try_cas(c: &mut Conn, value: u64, cas: u64) -> String {
    let data = value.to_string();
    c.store(
        &format!("cas counter 0 0 {} {cas}", data.len()),
        data.as_bytes(),
    )
}

#[test]
fn concurrent_cas_increments_count_exactly_once() {
    let server = start(settings());
    let addr = server.local_addrs()[0];
    let mut setup = Conn::open(addr);
    assert_eq!(setup.set("counter", 0, b"0"), "STORED");
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut c = Conn::open(addr);
                let mut exists = 0;
                // A forced race first: everyone reads the same CAS, then all
                // try it at once; exactly one may win.
                let (v, cas) = read_counter(&mut c);
                barrier.wait();
                let first = try_cas(&mut c, v + 1, cas);
                let mut done = match first.as_str() {
                    "STORED" => 1,
                    "EXISTS" => {
                        exists += 1;
                        0
                    }
                    other => panic!("cas answered {other:?}"),
                };
                while done < INCREMENTS {
                    let (v, cas) = read_counter(&mut c);
                    match try_cas(&mut c, v + 1, cas).as_str() {
                        "STORED" => done += 1,
                        "EXISTS" => exists += 1,
                        other => panic!("cas answered {other:?}"),
                    }
                }
                (first == "STORED", exists)
            })
        })
        .collect();
    let results: Vec<(bool, usize)> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let first_winners = results.iter().filter(|(won, _)| *won).count();
    assert_eq!(first_winners, 1, "the forced race must have one winner");
    let exists: usize = results.iter().map(|(_, e)| e).sum();
    assert!(exists >= CLIENTS - 1, "losers must see EXISTS ({exists})");
    let (value, _) = read_counter(&mut setup);
    assert_eq!(
        value,
        (CLIENTS * INCREMENTS) as u64,
        "lost or doubled updates"
    );
    let stats = setup.stats("");
    let stat = |name: &str| -> usize {
        let (_, v) = stats.iter().find(|(n, _)| n == name).unwrap();
        v.parse().unwrap()
    };
    assert_eq!(stat("cas_hits"), CLIENTS * INCREMENTS);
    assert_eq!(stat("cas_badval"), exists);
    assert_eq!(stat("cas_misses"), 0);
}

#[test]
fn cas_on_a_missing_or_replaced_item() {
    let server = start(settings());
    let mut a = Conn::open(server.local_addrs()[0]);
    let mut b = Conn::open(server.local_addrs()[0]);
    assert_eq!(a.store("cas nothing 0 0 1 1", b"x"), "NOT_FOUND");
    assert_eq!(a.set("k", 0, b"1"), "STORED");
    let cas = a.retrieve("gets k")[0].cas.unwrap();
    // Any change by another connection invalidates the CAS, even a touch-free
    // rewrite of the same bytes.
    assert_eq!(b.set("k", 0, b"1"), "STORED");
    assert_eq!(a.store(&format!("cas k 0 0 1 {cas}"), b"2"), "EXISTS");
    let cas = a.retrieve("gets k")[0].cas.unwrap();
    assert_eq!(b.call("incr k 1"), "2");
    assert_eq!(a.store(&format!("cas k 0 0 1 {cas}"), b"9"), "EXISTS");
    let cas = a.retrieve("gets k")[0].cas.unwrap();
    assert_eq!(b.call("delete k"), "DELETED");
    assert_eq!(a.store(&format!("cas k 0 0 1 {cas}"), b"9"), "NOT_FOUND");
}
