//! The fuzz entry points run over the committed seed corpus
//! (`crates/protocol/fuzz-corpus/binary/`): one file per opcode, replies,
//! pipelines, and truncated or garbage inputs.

use crate::binary::fuzz::{fuzz_request_decoder, fuzz_response_decoder};

#[test]
fn seed_corpus_holds_the_invariants() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz-corpus/binary");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 20,
        "seed corpus in {} has {} files",
        dir.display(),
        files.len()
    );
    for path in files {
        let data = std::fs::read(&path).unwrap();
        // Each decoder gets every seed: a request seed is noise to the
        // response decoder and the other way round, which is fine.
        fuzz_request_decoder(&data);
        fuzz_response_decoder(&data);
    }
}
