//! Fuzz entry points for the config parsers. Each takes arbitrary bytes and
//! panics when an invariant breaks, so cargo-fuzz (the crate in `fuzz/` at
//! the repository root) drives them directly, and the tests here run the
//! same checks over the committed seed corpora in
//! `crates/config/fuzz-corpus/<target>/`.
//!
//! - [`fuzz_command_line`]: the `-z` cluster grammar and the `-Z` behaviors;
//! - [`fuzz_vbucket_json`]: vBucket / ketama JSON and the `{"buckets":[..]}`
//!   REST body;
//! - [`fuzz_rest_stream`]: an HTTP response carrying a config stream (head,
//!   Content-Length or chunked body, `\n\n\n\n` framing, JSON).
//!
//! What "invariant" means for each is listed on the function. Renderers used
//! for round trips live here, not in the library: they exist to prove that
//! what the parsers accept has one meaning, and are not a supported output
//! format.

mod cli;
mod stream;
mod vbucket;

pub use cli::fuzz_command_line;
pub use stream::fuzz_rest_stream;
pub use vbucket::fuzz_vbucket_json;

/// Runs `check` over every file of `crates/config/fuzz-corpus/<target>/`
/// (at least `min` of them), in name order.
#[cfg(test)]
pub(crate) fn run_corpus(target: &str, min: usize, check: fn(&[u8])) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz-corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut paths: Vec<_> = entries
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    assert!(
        paths.len() >= min,
        "seed corpus {} is missing",
        dir.display()
    );
    for path in paths {
        eprintln!("seed {}", path.display());
        check(&std::fs::read(&path).expect("corpus file"));
    }
}
