//! Well-formed commands, including memcached's lenient corners.

use bytes::Bytes;

use super::*;
use crate::model::{Arith, Get, GetKind, Store, StoreMode};

fn get(kind: GetKind, exptime: i64, keys: &[&str]) -> Command {
    Command::Get(Get {
        kind,
        keys: keys.iter().map(|k| key(k)).collect(),
        exptime,
        with_key: true,
    })
}

fn store(mode: StoreMode, k: &str, flags: u32, exptime: i64, value: &str, cas: u64) -> Command {
    Command::Store(Store {
        mode,
        key: key(k),
        flags,
        exptime,
        value: Bytes::copy_from_slice(value.as_bytes()),
        cas,
    })
}

fn arith(incr: bool, k: &str, delta: u64) -> Command {
    Command::Arith(Arith {
        incr,
        key: key(k),
        delta,
        initial: 0,
        exptime: Arith::NO_CREATE,
        cas: 0,
    })
}

#[test]
fn retrievals() {
    expect(b"get a\r\n", vec![loud(get(GetKind::Get, 0, &["a"]))]);
    expect(
        b"get a b a\r\n",
        vec![loud(get(GetKind::Get, 0, &["a", "b", "a"]))],
    );
    expect(
        b"gets a b\r\n",
        vec![loud(get(GetKind::Gets, 0, &["a", "b"]))],
    );
    expect(
        b"gat 10 a b\r\n",
        vec![loud(get(GetKind::Gat, 10, &["a", "b"]))],
    );
    expect(b"gats -1 a\r\n", vec![loud(get(GetKind::Gats, -1, &["a"]))]);
    // The ancient `bget` is a plain get.
    expect(b"bget a\r\n", vec![loud(get(GetKind::Get, 0, &["a"]))]);
    // Spaces anywhere, bare \n, tabs belong to keys, NUL ends the line.
    expect(
        b"  get   a  b  \n",
        vec![loud(get(GetKind::Get, 0, &["a", "b"]))],
    );
    expect(b"get a\tb\r\n", vec![loud(get(GetKind::Get, 0, &["a\tb"]))]);
    expect(b"get a\0b c\r\n", vec![loud(get(GetKind::Get, 0, &["a"]))]);
    // `noreply` is just a key for a get.
    expect(
        b"get noreply\r\n",
        vec![loud(get(GetKind::Get, 0, &["noreply"]))],
    );
    // gat truncates its exptime to 32 bits like memcached.
    expect(
        b"gat 4294967306 a\r\n",
        vec![loud(get(GetKind::Gat, 10, &["a"]))],
    );
}

#[test]
fn many_keys_beyond_the_token_window() {
    let keys: Vec<String> = (0..100).map(|i| format!("k{i}")).collect();
    let line = format!("get {}\r\n", keys.join(" "));
    let names: Vec<&str> = keys.iter().map(String::as_str).collect();
    assert_eq!(
        decode(line.as_bytes()),
        vec![loud(get(GetKind::Get, 0, &names))]
    );
}

#[test]
fn storage() {
    expect(
        b"set k 1 2 5\r\nhello\r\n",
        vec![loud(store(StoreMode::Set, "k", 1, 2, "hello", 0))],
    );
    expect(
        b"add k 0 0 0\r\n\r\n",
        vec![loud(store(StoreMode::Add, "k", 0, 0, "", 0))],
    );
    expect(
        b"replace k 0 0 1\r\nx\r\n",
        vec![loud(store(StoreMode::Replace, "k", 0, 0, "x", 0))],
    );
    expect(
        b"append k 0 0 1\r\nx\r\n",
        vec![loud(store(StoreMode::Append, "k", 0, 0, "x", 0))],
    );
    expect(
        b"prepend k 0 0 1\r\nx\r\n",
        vec![loud(store(StoreMode::Prepend, "k", 0, 0, "x", 0))],
    );
    expect(
        b"cas k 0 0 1 77\r\nx\r\n",
        vec![loud(store(StoreMode::Cas, "k", 0, 0, "x", 77))],
    );
    expect(
        b"set k 0 0 5 noreply\r\nhello\r\n",
        vec![quiet(store(StoreMode::Set, "k", 0, 0, "hello", 0))],
    );
    expect(
        b"cas k 0 0 1 77 noreply\r\nx\r\n",
        vec![quiet(store(StoreMode::Cas, "k", 0, 0, "x", 77))],
    );
    // The data block may hold \r\n and NUL; the header may end in a bare \n.
    expect(
        b"set k 0 0 4\na\r\n\0\r\n",
        vec![loud(store(StoreMode::Set, "k", 0, 0, "a\r\n\0", 0))],
    );
}

#[test]
fn storage_numbers_as_memcached_reads_them() {
    // Flags wrap at 32 bits, signs and trailing tabs are accepted.
    expect(
        b"set k 4294967297 0 1\r\nx\r\n",
        vec![loud(store(StoreMode::Set, "k", 1, 0, "x", 0))],
    );
    expect(
        b"set k +1 0 1\r\nx\r\n",
        vec![loud(store(StoreMode::Set, "k", 1, 0, "x", 0))],
    );
    expect(
        b"set k 1\t 0 1\r\nx\r\n",
        vec![loud(store(StoreMode::Set, "k", 1, 0, "x", 0))],
    );
    // <bytes> is truncated to 32 bits: 4294967301 means 5.
    expect(
        b"set k 0 0 4294967301\r\nhello\r\n",
        vec![loud(store(StoreMode::Set, "k", 0, 0, "hello", 0))],
    );
    // A stray \r before \r\n stays in the last token, which strtol accepts.
    expect(
        b"set k 0 0 1\r\r\nz\r\n",
        vec![loud(store(StoreMode::Set, "k", 0, 0, "z", 0))],
    );
    // Negative exptime is kept raw.
    expect(
        b"set k 0 -1 1\r\nz\r\n",
        vec![loud(store(StoreMode::Set, "k", 0, -1, "z", 0))],
    );
}

#[test]
fn storage_extra_token_is_ignored_unless_noreply() {
    expect(
        b"set k 0 0 1 junk\r\nz\r\n",
        vec![loud(store(StoreMode::Set, "k", 0, 0, "z", 0))],
    );
    expect(
        b"set k 0 0 1 \r\nz\r\n",
        vec![loud(store(StoreMode::Set, "k", 0, 0, "z", 0))],
    );
    expect(
        b"cas k 0 0 1 9 junk\r\nz\r\n",
        vec![loud(store(StoreMode::Cas, "k", 0, 0, "z", 9))],
    );
}

#[test]
fn arithmetic() {
    expect(b"incr k 5\r\n", vec![loud(arith(true, "k", 5))]);
    expect(b"decr k 5 noreply\r\n", vec![quiet(arith(false, "k", 5))]);
    expect(
        b"incr k 18446744073709551615\r\n",
        vec![loud(arith(true, "k", u64::MAX))],
    );
    // strtoull wraps a large negative number: memcached adds 1 here.
    expect(
        b"incr k -18446744073709551615\r\n",
        vec![loud(arith(true, "k", 1))],
    );
    expect(b"incr k 1 junk\r\n", vec![loud(arith(true, "k", 1))]);
}

#[test]
fn deletion() {
    let del = || Command::Delete {
        key: key("k"),
        cas: 0,
    };
    expect(b"delete k\r\n", vec![loud(del())]);
    expect(b"delete k noreply\r\n", vec![quiet(del())]);
    expect(b"delete k 0\r\n", vec![loud(del())]);
    expect(b"delete k 0 noreply\r\n", vec![quiet(del())]);
}

#[test]
fn touch_flush_verbosity() {
    let touch = |exptime| Command::Touch {
        key: key("k"),
        exptime,
    };
    expect(b"touch k 10\r\n", vec![loud(touch(10))]);
    expect(b"touch k 10 noreply\r\n", vec![quiet(touch(10))]);
    expect(b"touch k 10 junk\r\n", vec![loud(touch(10))]);
    expect(b"touch k 4294967296\r\n", vec![loud(touch(0))]);
    let flush = |delay| Command::FlushAll { delay };
    expect(b"flush_all\r\n", vec![loud(flush(0))]);
    expect(b"flush_all 10\r\n", vec![loud(flush(10))]);
    expect(b"flush_all -1\r\n", vec![loud(flush(-1))]);
    expect(b"flush_all noreply\r\n", vec![quiet(flush(0))]);
    expect(b"flush_all 10 noreply\r\n", vec![quiet(flush(10))]);
    expect(b"flush_all 10 20\r\n", vec![loud(flush(10))]);
    let verbosity = |level| Command::Verbosity { level };
    expect(b"verbosity 1\r\n", vec![loud(verbosity(1))]);
    expect(b"verbosity 1 noreply\r\n", vec![quiet(verbosity(1))]);
    expect(b"verbosity 1 2\r\n", vec![loud(verbosity(1))]);
    expect(b"verbosity 4294967297\r\n", vec![loud(verbosity(1))]);
}

#[test]
fn stats_version_quit() {
    let stats = |g: &'static str| Command::Stats {
        group: Bytes::from_static(g.as_bytes()),
    };
    expect(b"stats\r\n", vec![loud(stats(""))]);
    expect(b"stats   \r\n", vec![loud(stats(""))]);
    expect(b"stats items\r\n", vec![loud(stats("items"))]);
    expect(b"stats  detail  on \r\n", vec![loud(stats("detail  on"))]);
    expect(b"version\r\n", vec![loud(Command::Version)]);
    expect(b"version foo bar\r\n", vec![loud(Command::Version)]);
    expect(b"quit\r\n", vec![loud(Command::Quit)]);
    expect(b"quit now\n", vec![loud(Command::Quit)]);
}

#[test]
fn pipelined_mix() {
    let input = b"set a 0 0 1\r\n1\r\nget a b\r\nbogus\r\nincr a 2 noreply\r\n\
                  delete a\r\nset b 0 0 2 noreply\r\nxyz\r\nversion\r\nget";
    expect(
        input,
        vec![
            loud(store(StoreMode::Set, "a", 0, 0, "1", 0)),
            loud(get(GetKind::Get, 0, &["a", "b"])),
            error(),
            quiet(arith(true, "a", 2)),
            loud(Command::Delete {
                key: key("a"),
                cas: 0,
            }),
            silent(), // bad data chunk, silenced by noreply
            error(),  // the "\n" left over from that block, parsed as a line
            loud(Command::Version),
        ],
    );
}
