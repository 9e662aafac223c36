//! Mutation fuzzing of the binary decoders from the committed seed corpus:
//! a fixed-seed xorshift flips, inserts, deletes and splices bytes of the
//! seeds, and every mutant goes through the fuzz entry points (which check
//! split invariance, bounded buffering and round trips). Deterministic, so a
//! failure reproduces; `BINARY_MUTATIONS=N` runs N mutants per seed.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

use protocol::binary::fuzz::{fuzz_request_decoder, fuzz_response_decoder};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }
}

/// One random edit of `data` (spliced with `other` sometimes).
fn mutate(rng: &mut XorShift, data: &mut Vec<u8>, other: &[u8]) {
    let at = rng.below(data.len() + 1);
    match rng.below(6) {
        0 if at < data.len() => data[at] ^= 1 << rng.below(8),
        1 if at < data.len() => data[at] = [0, 0x80, 0x81, 0xff, 0x7f][rng.below(5)],
        2 => data.insert(at, rng.next() as u8),
        3 if at < data.len() => {
            data.remove(at);
        }
        4 => {
            let from = rng.below(other.len() + 1);
            let len = rng.below(other.len() - from + 1);
            data.splice(at..at, other[from..from + len].iter().copied());
        }
        _ => data.truncate(at),
    }
}

#[test]
fn mutated_seeds_hold_the_invariants() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz-corpus/binary");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .expect("seed corpus")
        .map(|e| std::fs::read(e.expect("entry").path()).expect("seed"))
        .collect();
    seeds.sort();
    let rounds: usize = std::env::var("BINARY_MUTATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for seed in &seeds {
        for _ in 0..rounds {
            let mut data = seed.clone();
            for _ in 0..=rng.below(4) {
                let other = &seeds[rng.below(seeds.len())];
                mutate(&mut rng, &mut data, other);
            }
            fuzz_request_decoder(&data);
            fuzz_response_decoder(&data);
        }
    }
}
