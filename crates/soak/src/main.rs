//! `moxi-soak`: see `moxi-soak --help` and docs/reliability-crosstalk.md.

fn main() {}
