//! Test helpers: the golden vectors in `shared/vectors`, found by walking up
//! from this crate, and a pure file reader for the `./file` forms.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// `shared/vectors`, or a panic that says where it was looked for.
pub fn vectors_dir() -> PathBuf {
    let start = Path::new(env!("CARGO_MANIFEST_DIR"));
    start
        .ancestors()
        .map(|dir| dir.join("shared").join("vectors"))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| {
            panic!(
                "golden vectors not found: no shared/vectors directory in {} or any parent; \
                 CI checks out shared/ beside the repository",
                start.display()
            )
        })
}

/// Reads a file under `shared/vectors`.
pub fn read(name: &str) -> String {
    let path = vectors_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A JSON-lines vector file.
pub fn jsonl(name: &str) -> Vec<Value> {
    read(name)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("parsing {name}: {e}")))
        .collect()
}

/// The keys of `keys.json` as raw bytes.
pub fn keys() -> Vec<Vec<u8>> {
    let doc: Value = serde_json::from_str(&read("keys.json")).expect("keys.json");
    doc["keys"]
        .as_array()
        .expect("keys array")
        .iter()
        .map(|k| {
            let hex = k["hex"].as_str().expect("hex");
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit"))
                .collect()
        })
        .collect()
}

/// An `index` array: `null` becomes `None`.
pub fn indices(v: &Value) -> Vec<Option<usize>> {
    v.as_array()
        .expect("index array")
        .iter()
        .map(|i| i.as_u64().map(|i| usize::try_from(i).expect("usize")))
        .collect()
}

/// A reader that serves `contents` for `path` and fails otherwise.
pub fn one_file(path: &'static str, contents: String) -> impl Fn(&str) -> io::Result<String> {
    move |p: &str| {
        if p == path {
            Ok(contents.clone())
        } else {
            Err(io::Error::new(io::ErrorKind::NotFound, p.to_owned()))
        }
    }
}

/// A reader for values that must not name a file.
pub fn no_files(p: &str) -> io::Result<String> {
    panic!("unexpected file read: {p}")
}

/// Compares `got(key)` with the expected index for every key that has one.
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
    for (i, (key, want)) in keys.iter().zip(expected).enumerate() {
        let Some(want) = *want else { continue };
        checked += 1;
        assert_eq!(got(key), want, "{case}: key #{i}");
    }
    assert!(checked > 0, "{case}: nothing checked");
}
