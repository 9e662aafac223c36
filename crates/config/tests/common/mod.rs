//! The golden vectors (from `testkit::vectors`) plus pure file readers for
//! the `./file` forms.

#![allow(dead_code, unused_imports)]

use std::io;

pub use testkit::vectors::{assert_all, indices, jsonl, keys, read, testdata_dir, vectors_dir};

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
