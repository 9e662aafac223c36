//! The golden vectors in the workspace's `testdata/vectors` (key -> server
//! placements computed by libmemcached, twemproxy, moxi and libvbucket; their
//! `README.md` specifies each algorithm). They are part of the repository, so
//! a fresh clone runs every placement test with nothing beside it.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The workspace's `testdata/` folder (test data copied into the repository).
pub fn testdata_dir() -> PathBuf {
    // testkit lives at crates/testkit: the workspace root is two levels up.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// `testdata/vectors`: the golden vectors.
pub fn vectors_dir() -> PathBuf {
    testdata_dir().join("vectors")
}

/// Reads a file under `testdata/vectors`.
pub fn read(name: &str) -> String {
    let path = vectors_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A JSON vector file.
pub fn json(name: &str) -> Value {
    serde_json::from_str(&read(name)).unwrap_or_else(|e| panic!("parsing {name}: {e}"))
}

/// A JSON-lines vector file, one value per non-empty line.
pub fn jsonl(name: &str) -> Vec<Value> {
    read(name)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("parsing a line of {name}: {e}"))
        })
        .collect()
}

fn unhex(hex: &str) -> Vec<u8> {
    let pairs = hex.as_bytes().chunks_exact(2);
    assert!(pairs.remainder().is_empty(), "odd hex length in keys.json");
    pairs
        .map(|pair| {
            let pair = std::str::from_utf8(pair).expect("ascii hex");
            u8::from_str_radix(pair, 16).expect("hex digit in keys.json")
        })
        .collect()
}

/// Every key of `keys.json` as raw bytes, with its `ascii_ok` flag (whether
/// it can be sent over the text protocol).
pub fn keys_with_ascii_ok() -> Vec<(Vec<u8>, bool)> {
    let doc = json("keys.json");
    let keys: Vec<(Vec<u8>, bool)> = doc["keys"]
        .as_array()
        .expect("keys array")
        .iter()
        .map(|k| {
            (
                unhex(k["hex"].as_str().expect("hex field")),
                k["ascii_ok"] == true,
            )
        })
        .collect();
    assert_eq!(keys.len() as u64, doc["count"].as_u64().expect("count"));
    keys
}

/// The keys of `keys.json`, as raw bytes.
pub fn keys() -> Vec<Vec<u8>> {
    keys_with_ascii_ok().into_iter().map(|(k, _)| k).collect()
}

/// An `index`-style array; `null` (key not sent) becomes `None`.
pub fn indices(v: &Value) -> Vec<Option<usize>> {
    v.as_array()
        .expect("index array")
        .iter()
        .map(|i| {
            i.as_u64()
                .map(|i| usize::try_from(i).expect("index fits usize"))
        })
        .collect()
}

/// An array of string values.
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("string array")
        .iter()
        .map(|s| s.as_str().expect("string").to_owned())
        .collect()
}

/// Compares `got(key)` with the expected index for every key whose
/// expectation is not `None`; panics listing the first mismatches.
pub fn assert_all(
    case: &str,
    keys: &[Vec<u8>],
    expected: &[Option<usize>],
    got: impl Fn(&[u8]) -> usize,
) {
    assert_eq!(
        keys.len(),
        expected.len(),
        "{case}: one expectation per key"
    );
    let mut checked = 0;
    let mut bad = Vec::new();
    for (i, (key, want)) in keys.iter().zip(expected).enumerate() {
        let Some(want) = *want else { continue };
        checked += 1;
        let have = got(key);
        if have != want {
            bad.push(format!(
                "key #{i} {:02x?}: want {want}, got {have}",
                &key[..key.len().min(16)]
            ));
        }
    }
    assert!(checked > 0, "{case}: nothing to check");
    assert!(
        bad.is_empty(),
        "{case}: {} of {checked} keys differ; first: {:#?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
}
