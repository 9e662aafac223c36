//! Many threads at once: CAS races and a random-operation hammer.

use std::sync::Barrier;
use std::thread;

use super::*;
use crate::{ArithOutcome, MIB};

#[test]
fn exactly_one_cas_winner_per_round() {
    const THREADS: usize = 8;
    const ROUNDS: usize = 200;
    let (e, _c) = engine();
    let e = Arc::new(e);
    set(&e, "k", "0", 0);
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (e, barrier) = (e.clone(), barrier.clone());
            thread::spawn(move || {
                let mut wins = 0;
                for round in 0..ROUNDS {
                    // Everyone reads the same CAS, then everyone races to replace it.
                    let seen = e.get(b"k").unwrap().cas;
                    barrier.wait();
                    let v = Bytes::from(format!("{t}:{round}"));
                    if let StoreOutcome::Stored { .. } =
                        e.store(StoreMode::Cas, b"k", 0, 0, v, seen)
                    {
                        wins += 1;
                    }
                    barrier.wait();
                }
                wins
            })
        })
        .collect();
    let wins: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(wins, ROUNDS);
    let s = e.stats();
    assert_eq!(s.cas_hits, ROUNDS as u64);
    assert_eq!(s.cas_badval, (ROUNDS * (THREADS - 1)) as u64);
}

#[test]
fn concurrent_incr_loses_no_update() {
    const THREADS: u64 = 8;
    const EACH: u64 = 2000;
    let (e, _c) = engine();
    let e = Arc::new(e);
    set(&e, "n", "0", 0);
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let e = e.clone();
            thread::spawn(move || {
                for _ in 0..EACH {
                    assert!(matches!(
                        e.arith(b"n", true, 1, None, 0),
                        ArithOutcome::Value { .. }
                    ));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(
        value(&e, "n").unwrap().trim_end(),
        (THREADS * EACH).to_string()
    );
}

#[test]
fn hammer_random_ops_without_deadlock() {
    const THREADS: u64 = 8;
    const OPS: u64 = 20_000;
    let config = Config {
        max_bytes: MIB,
        item_size_max: 64 * 1024,
        shards: 16,
        ..Config::default()
    };
    let (e, clock) = engine_with(config);
    let e = Arc::new(e);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (e, clock) = (e.clone(), clock.clone());
            thread::spawn(move || {
                let mut rng = t.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                for _ in 0..OPS {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    random_op(&e, &clock, rng);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let s = e.stats();
    assert!(s.bytes <= MIB as u64);
    // The gauges agree with a full walk after the dust settles.
    e.flush_all(0);
    clock.advance(1);
    e.crawl();
    let s = e.stats();
    assert_eq!((s.curr_items, s.bytes), (0, 0));
    assert!(
        e.memory.try_reserve(MIB),
        "every reserved byte was given back"
    );
}

fn random_op(e: &Engine, clock: &ManualClock, r: u64) {
    let key = format!("key{}", (r >> 8) % 500);
    let key = key.as_bytes();
    let len = ((r >> 20) % 8000) as usize;
    let cas = if r & (1 << 40) != 0 {
        (r >> 41) % 64
    } else {
        0
    };
    let exptime = [0, 0, 0, 1, 5, -1][((r >> 50) % 6) as usize];
    match r % 16 {
        0..=4 => drop(e.get(key)),
        5..=7 => drop(e.store(
            StoreMode::Set,
            key,
            0,
            exptime,
            Bytes::from(vec![b'1'; len]),
            cas,
        )),
        8 => drop(e.store(
            StoreMode::Add,
            key,
            1,
            exptime,
            Bytes::from(vec![b'2'; len]),
            0,
        )),
        9 => drop(e.store(
            StoreMode::Append,
            key,
            0,
            0,
            Bytes::from(vec![b'3'; len / 8]),
            cas,
        )),
        10 => drop(e.store(
            StoreMode::Prepend,
            key,
            0,
            0,
            Bytes::from(vec![b'4'; len / 8]),
            0,
        )),
        11 => drop(e.arith(key, r & 1 == 0, r >> 32, Some((r >> 16, 0)), 0)),
        12 => drop(e.delete(key, cas)),
        13 => drop(e.touch_get(key, exptime)),
        14 if r % 1000 == 14 => e.flush_all(0),
        14 => clock.advance(1),
        _ => drop(e.stats()),
    }
}
