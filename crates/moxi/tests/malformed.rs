//! Malformed input through the real binary, differentially: the same bytes
//! go to memcached 1.6.18, to `moxi -p` and through `moxi -z`, and the
//! replies and the connection's fate (a request after the bad one is
//! answered, or not) must match. Then the few places where moxi answers
//! differently on purpose, asserted with moxi's own words, and declared
//! lengths of 2^31 and more, refused without allocating.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::time::Duration;

use common::targets::{Kind, Line, Target};
use testkit::frames::parse_response;
use testkit::{
    first_difference, load_conversations, parse_conversation, render, try_run_conversation,
    Conversation, Memcached,
};

/// Corpus files of malformed input (run through the proxy too; the whole
/// corpus runs against `moxi -p`).
const MALFORMED: &[&str] = &[
    "ascii/errors_",
    "ascii/noreply_errors",
    "ascii/incr_decr_errors",
    "ascii/delete_errors",
    "ascii/verbosity_errors",
    "ascii/flush_all_errors",
    "ascii/line_too_long",
    "ascii/too_large",
    "ascii/quit_with_args",
    "binary/bad_",
    "binary/key_too_long",
    "binary/too_large",
];

/// Binary requests that lie about their lengths or carry the wrong parts
/// for their opcode. Each runs on a fresh connection after a flush and is
/// followed by a noop, whose reply shows whether the connection survived.
const BINARY_LIES: &[(&str, &str)] = &[
    ("251-byte key: get", "req get key={k*251}"),
    ("251-byte key: getk", "req getk key={k*251}"),
    ("251-byte key: getq", "req getq key={k*251}"),
    ("251-byte key: getkq", "req getkq key={k*251}"),
    ("251-byte key: delete", "req delete key={k*251}"),
    (
        "251-byte key: incr",
        "req incr key={k*251} extras=delta:1,initial:0,exptime:0",
    ),
    (
        "251-byte key: touch",
        "req touch key={k*251} extras=exptime:0",
    ),
    ("251-byte key: gat", "req gat key={k*251} extras=exptime:0"),
    ("251-byte key: append", "req append key={k*251} value=x"),
    (
        "251-byte key: setq",
        "req setq key={k*251} extras=flags:0,exptime:0 value=x",
    ),
    (
        "key past the body",
        "req get key=abc bodylen=2\nraw 61 62 63",
    ),
    (
        "extras past the body",
        "req set extlen=8 bodylen=4\nraw 00 00 00 00",
    ),
    (
        "key and extras past the body",
        "req set key=k extras=flags:0,exptime:0 bodylen=5",
    ),
    ("get with a 4 GiB body", "req get key=k bodylen=0xffffffff"),
    (
        "delete with a 2 GiB body",
        "req delete key=k bodylen=0x7fffffff",
    ),
    ("noop with a 4 GiB body", "req noop bodylen=0xffffffff"),
    ("get without a key", "req get"),
    (
        "set without a key",
        "req set extras=flags:0,exptime:0 value=x",
    ),
    (
        "incr without a key",
        "req incr extras=delta:1,initial:0,exptime:0",
    ),
    ("delete with extras", "req delete key=a extras=u32:0"),
    ("delete with a value", "req delete key=a value=x"),
    ("touch without extras", "req touch key=a"),
    (
        "touch with 8 bytes of extras",
        "req touch key=a extras=u64:0",
    ),
    ("gat without extras", "req gat key=a"),
    ("flush with 8 bytes of extras", "req flush extras=u64:0"),
    ("flush with a key", "req flush key=a"),
    ("version with extras", "req version extras=u32:0"),
    ("quit with a key", "req quit key=a"),
    (
        "append with extras",
        "req append key=a extras=flags:0,exptime:0 value=x",
    ),
    (
        "incr with a value",
        "req incr key=a extras=delta:1,initial:0,exptime:0 value=x",
    ),
    (
        "set with 4 bytes of extras",
        "req set key=a extras=u32:0 value=x",
    ),
    (
        "set with 12 bytes of extras",
        "req set key=a extras=u32:0,u64:0 value=x",
    ),
    ("stat with extras", "req stat extras=u32:0"),
    ("noop with extras", "req noop extras=u32:0"),
    ("verbosity without extras", "req verbosity"),
    ("a datatype that is not raw", "req get key=a datatype=1"),
];

const BAD_LINE: &str = "CLIENT_ERROR bad command line format";

fn binary_lies() -> Vec<Conversation> {
    BINARY_LIES
        .iter()
        .map(|(name, case)| {
            // A `raw` line after the request continues its frame.
            let (req, rest) = case.split_once('\n').unwrap_or((case, ""));
            let text =
                format!("req flush opaque=100\n{req} opaque=1\n{rest}\nreq noop opaque=99\n");
            parse_conversation(name, &text, true).unwrap()
        })
        .collect()
}

/// Runs `convs` on memcached and on `target`; returns the differences.
fn differences(reference: &Memcached, target: &Target, convs: &[Conversation]) -> Vec<String> {
    let limit = Duration::from_secs(10);
    let mut out = Vec::new();
    for conv in convs {
        let want = try_run_conversation(reference.addr(), conv, limit).unwrap();
        let got = match try_run_conversation(target.entry, conv, limit) {
            Ok(got) => got,
            Err(e) => {
                out.push(format!("{}: {e}", conv.name));
                continue;
            }
        };
        match (first_difference(&want, &got, conv.binary), &conv.optional) {
            (None, _) => {}
            (Some(d), Some(why)) => eprintln!("optional {} differs ({why}): {d}", conv.name),
            (Some(d), None) => out.push(format!(
                "{}: {d}\nmemcached:\n{}moxi:\n{}",
                conv.name,
                render(&want, conv.binary),
                render(&got, conv.binary)
            )),
        }
    }
    out
}

fn same_as_memcached(kind: Kind) {
    if !testkit::require_tool("memcached") {
        return;
    }
    let reference = Memcached::start_for_corpus().unwrap();
    let target = Target::start(kind, &[]);
    let corpus = load_conversations(testkit::corpus_dir());
    let mut convs: Vec<Conversation> = match kind {
        Kind::Server => corpus,
        Kind::Proxy => corpus
            .into_iter()
            .filter(|c| MALFORMED.iter().any(|m| c.name.starts_with(m)))
            .collect(),
    };
    convs.extend(binary_lies());
    let failures = differences(&reference, &target, &convs);
    assert!(
        failures.is_empty(),
        "{kind:?}: {} of {} conversations differ from memcached:\n{}",
        failures.len(),
        convs.len(),
        failures.join("\n")
    );
}

#[test]
fn server_answers_malformed_input_as_memcached_does() {
    same_as_memcached(Kind::Server);
}

#[test]
fn proxy_answers_malformed_input_as_memcached_does() {
    same_as_memcached(Kind::Proxy);
}

/// A binary reply frame read from `c`: (opcode, status, opaque, value).
fn read_frame(c: &mut Line) -> (u8, u16, u32, Vec<u8>) {
    let mut bytes = c.bytes(24);
    let body = u32::from_be_bytes(bytes[8..12].try_into().unwrap()) as usize;
    bytes.extend(c.bytes(body));
    let (f, _) = parse_response(&bytes).unwrap();
    (f.opcode, f.status, f.opaque, f.value.to_vec())
}

fn binary_request(line: &str) -> Vec<u8> {
    let conv = parse_conversation("request", line, true).unwrap();
    conv.static_input().unwrap()
}

/// Where moxi answers differently from memcached on purpose.
fn own_limits(kind: Kind) {
    let t = Target::start(kind, &[]);
    // At most 24,576 keys in one get (memcached has no limit): refused,
    // the connection goes on.
    let mut c = Line::connect(t.entry);
    let mut get = b"get".to_vec();
    for i in 0..30_000 {
        get.extend_from_slice(format!(" k{i}").as_bytes());
    }
    get.extend_from_slice(b"\r\n");
    c.send(&get);
    assert_eq!(c.line(), "CLIENT_ERROR too many keys", "{kind:?}");
    assert!(c.call("version").starts_with("VERSION "));
    // A command line over 2048 bytes closes the connection even when its
    // end arrives in the same packet (memcached then reads it, leading
    // spaces and all; it closes only when the first read has no newline).
    let mut c = Line::connect(t.entry);
    c.send(format!("{}get a\r\n", " ".repeat(3000)).as_bytes());
    assert_eq!(c.until_closed(), b"", "{kind:?}");
    // A binary key length of 65535: invalid_arguments, then closed
    // (memcached closes without a reply).
    let mut c = Line::connect(t.entry);
    // (moxi may close before the key is all sent.)
    let _ = c.try_send(&binary_request("req get key={k*65535} opaque=7"));
    assert_eq!(
        read_frame(&mut c),
        (0x00, 0x04, 7, b"Invalid arguments".to_vec())
    );
    assert_eq!(c.until_closed(), b"", "{kind:?}");
}

#[test]
fn server_own_limits() {
    own_limits(Kind::Server);
}

#[test]
fn proxy_own_limits() {
    if testkit::require_tool("memcached") {
        own_limits(Kind::Proxy);
    }
}

/// Lines without a newline, 1 MiB long: closed without a reply, as
/// memcached does; a `get` line may be that long (memcached allows long
/// multi-gets) and is answered once its newline arrives.
fn megabyte_lines(addr: std::net::SocketAddr, who: &str) {
    for junk in [
        b"x".repeat(1 << 20),
        format!("set {}", "k".repeat(1 << 20)).into_bytes(),
    ] {
        let mut c = Line::connect(addr);
        // The server may close before it has all of it.
        let _ = c.try_send(&junk);
        assert_eq!(
            c.until_closed(),
            b"",
            "{who}: a 1 MiB line without a newline"
        );
    }
    let mut c = Line::connect(addr);
    let keys: Vec<String> = (0..4000).map(|i| format!("{i:0>250}")).collect();
    c.send(format!("get {}", keys.join(" ")).as_bytes());
    assert!(
        c.quiet_for(Duration::from_millis(200)),
        "{who}: waits for the newline"
    );
    c.send(b"\r\n");
    assert_eq!(c.line(), "END", "{who}");
    assert!(c.call("version").starts_with("VERSION "), "{who}");
}

#[test]
fn megabyte_lines_like_memcached() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let reference = Memcached::start_for_corpus().unwrap();
    megabyte_lines(reference.addr(), "memcached");
    for kind in [Kind::Server, Kind::Proxy] {
        megabyte_lines(Target::start(kind, &[]).entry, &format!("{kind:?}"));
    }
}

/// Sends `mib` MiB that look like commands into a value being swallowed:
/// nothing may be answered, and moxi's RSS may not grow with them.
fn swallow(t: &Target, c: &mut Line, mib: usize, base: f64) {
    let chunk = b"get k\r\nversion\r\n".repeat(64 * 1024);
    for _ in 0..mib {
        c.send(&chunk);
    }
    assert!(
        c.quiet_for(Duration::from_millis(200)),
        "{:?}: answered",
        t.kind
    );
    let rss = t.rss_mib();
    assert!(
        rss - base < 8.0,
        "{:?}: RSS {base:.1} -> {rss:.1} MiB while swallowing",
        t.kind
    );
}

/// Declared lengths of 2^31 and more: refused without allocating.
fn huge_lengths(kind: Kind) {
    let t = Target::start(kind, &[]);
    let base = t.rss_mib();
    let mut c = Line::connect(t.entry);
    for len in ["2147483648", "4294967295", "18446744073709551615"] {
        assert_eq!(
            c.call(&format!("set k 0 0 {len}")),
            BAD_LINE,
            "{kind:?} {len}"
        );
    }
    assert_eq!(c.set("k", b"v"), "STORED", "{kind:?}: still open");
    // INT_MAX - 2 is a length: too large, and the data is swallowed as it
    // streams by (memcached answers once it has swallowed it all).
    c.send(b"set k 0 0 2147483645\r\n");
    assert_eq!(c.line(), "SERVER_ERROR object too large for cache");
    swallow(&t, &mut c, 16, base);
    // Binary: a body length of 2^32 - 1 on a set is too_large at once,
    // and the body is swallowed (memcached 1.6.18 reads the length as a
    // negative int and goes on reading frames after the key instead).
    let mut b = Line::connect(t.entry);
    b.send(&binary_request(
        "req set key=k extras=flags:0,exptime:0 bodylen=0xffffffff opaque=5",
    ));
    assert_eq!(read_frame(&mut b), (0x01, 0x03, 5, b"Too large.".to_vec()));
    swallow(&t, &mut b, 16, base);
    eprintln!(
        "{kind:?}: RSS {base:.1} MiB before, {:.1} MiB after 32 MiB swallowed",
        t.rss_mib()
    );
}

#[test]
fn server_huge_lengths_are_refused_without_allocating() {
    huge_lengths(Kind::Server);
}

#[test]
fn proxy_huge_lengths_are_refused_without_allocating() {
    if testkit::require_tool("memcached") {
        huge_lengths(Kind::Proxy);
    }
}
