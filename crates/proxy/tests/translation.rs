//! What ascii cannot say in binary (a2b) and binary cannot say in ascii
//! (b2a), checked against a real memcached: each case gets memcached's
//! exact answer through the proxy, or a clear refusal, never a silent
//! change of meaning. The README's "What translation cannot say" table
//! lists the cases and their outcomes.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::net::SocketAddr;

use common::{bin, op, set_extras, status, Client, Frame};
use proxy::topology::DownstreamProtocol;

/// Runs `conversation` on a fresh connection to `addr` after emptying the
/// cache and storing `k` = `a`; returns everything the server answered.
fn ascii_run(addr: SocketAddr, conversation: &[u8]) -> Vec<u8> {
    let mut setup = Client::connect(addr);
    setup.send(b"flush_all\r\nset k 0 0 1\r\na\r\n");
    setup.expect(b"OK\r\nSTORED\r\n");
    let mut cl = Client::connect(addr);
    cl.send(conversation);
    cl.finish()
}

/// memcached, a proxy with a binary downstream (a2b) and one with an ascii
/// downstream (a2a), each in front of its own memcached.
struct Three {
    _mcs: Vec<testkit::Memcached>,
    memcached: SocketAddr,
    a2b: common::Proxy,
    ascii: common::Proxy,
}

fn three() -> Three {
    let mcs = common::memcacheds(3);
    let memcached = mcs[0].addr();
    let a2b = common::proxy_for(&[mcs[1].addr()], DownstreamProtocol::Binary);
    let ascii = common::proxy_for(&[mcs[2].addr()], DownstreamProtocol::Ascii);
    Three {
        _mcs: mcs,
        memcached,
        a2b,
        ascii,
    }
}

/// Asserts that each conversation gets memcached's bytes through both
/// proxies.
fn assert_ascii_like_memcached(t: &Three, conversations: &[&[u8]]) {
    for c in conversations {
        let want = ascii_run(t.memcached, c);
        for (path, p) in [("a2b", &t.a2b), ("a2a", &t.ascii)] {
            let got = ascii_run(p.addr(), c);
            assert_eq!(
                testkit::escape_bytes(&got),
                testkit::escape_bytes(&want),
                "{path}: {}",
                testkit::escape_bytes(c)
            );
        }
    }
}

/// ascii `cas` with CAS unique 0: binary would read CAS 0 as "no CAS" and
/// store; memcached answers EXISTS (item present) or NOT_FOUND (absent)
/// and stores nothing, noreply or not.
#[test]
fn cas_unique_zero_answers_as_memcached_and_stores_nothing() {
    if !testkit::require_tool("memcached") {
        return;
    }
    assert_ascii_like_memcached(
        &three(),
        &[
            b"cas k 0 0 6 0\r\nfoobar\r\nget k\r\n",
            b"cas zz 0 0 6 0\r\nfoobar\r\nget zz\r\n",
            b"cas k 0 0 6 0 noreply\r\nfoobar\r\ncas zz 0 0 6 0 noreply\r\nfoobar\r\nget k zz\r\n",
        ],
    );
}

/// The same in a vBucket pool, whose requests take the general path with
/// the key's vBucket id.
#[test]
fn cas_unique_zero_in_a_vbucket_pool_answers_as_memcached() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mcs = common::memcacheds(2);
    let topo = common::vbucket_topology(&[mcs[1].addr()], &[0, 0, 0, 0], None);
    let proxy = common::start(topo);
    for c in [
        &b"cas k 0 0 6 0\r\nfoobar\r\nget k\r\n"[..],
        b"cas zz 0 0 6 0\r\nfoobar\r\nget zz\r\n",
    ] {
        let want = ascii_run(mcs[0].addr(), c);
        let got = ascii_run(proxy.addr(), c);
        assert_eq!(
            testkit::escape_bytes(&got),
            testkit::escape_bytes(&want),
            "{}",
            testkit::escape_bytes(c)
        );
    }
}

/// ascii forms whose binary request differs (arith on values and
/// lengths, touch and gat exptimes, flush_all delays and noreply,
/// verbosity, append/prepend, negative exptimes, the largest CAS): the
/// proxy answers each byte for byte as memcached does.
#[test]
fn ascii_forms_binary_says_differently_answer_as_memcached() {
    if !testkit::require_tool("memcached") {
        return;
    }
    assert_ascii_like_memcached(
        &three(),
        &[
            b"incr k 1\r\ndecr zz 1\r\n",
            b"set n 0 0 2\r\n10\r\nincr n 18446744073709551615\r\nget n\r\n",
            b"incr n 18446744073709551616\r\nincr n -1\r\nincr n abc\r\n",
            b"set n 0 0 20\r\n18446744073709551615\r\nincr n 1\r\nget n\r\n",
            b"set n 0 0 2\r\n99\r\nincr n 1\r\nget n\r\n",
            b"set n 0 0 3\r\n100\r\ndecr n 1\r\nget n\r\ndecr n 1000\r\n",
            b"set n 0 0 3\r\n 12\r\nincr n 1\r\nset n 0 0 3\r\n12 \r\nincr n 1\r\n",
            b"set n 0 0 21\r\n000000000000000000001\r\nincr n 1\r\nget n\r\n",
            b"set n 0 0 2\r\n0x\r\nincr n 1\r\nincr n 1 noreply\r\nget n\r\n",
            b"touch k 10\r\ntouch zz 10\r\ntouch k abc\r\n",
            b"touch k -1\r\nget k\r\n",
            b"gat 100 k zz\r\ngat abc k\r\ngat 100\r\n",
            b"gat -1 k\r\nget k\r\n",
            b"flush_all 0\r\nget k\r\n",
            b"flush_all noreply\r\nget k\r\n",
            b"flush_all 10 noreply\r\nget k\r\n",
            b"flush_all -1\r\nflush_all abc\r\n",
            b"verbosity 1\r\nverbosity\r\nverbosity 1 noreply\r\nverbosity abc\r\n",
            b"append k 0 0 1\r\nb\r\nprepend k 0 0 1\r\nc\r\nappend zz 0 0 1\r\nb\r\nget k\r\n",
            b"cas k 0 0 1 18446744073709551615\r\nb\r\nget k\r\n",
            b"delete k 0\r\ndelete k 5\r\ndelete k noreply\r\nget k\r\n",
            b"set k 0 -1 1\r\na\r\nget k\r\n",
            b"touch k 10 noreply\r\ntouch zz 10 noreply\r\nget k\r\n",
            b"set k 0 4294967295 1\r\na\r\nget k\r\n",
            b"set k 0 2147483648 1\r\na\r\nget k\r\n",
            b"set k 0 -2147483649 1\r\na\r\nget k\r\n",
            b"set k 0 2592001 1\r\na\r\nget k\r\n",
            b"set k 4294967296 0 1\r\na\r\nget k\r\n",
            b"touch k 4294967296\r\nget k\r\n",
            b"touch k 2147483648\r\nget k\r\n",
            b"gat 2147483648 k\r\nget k\r\n",
            b"gat 4294967296 k\r\nget k\r\n",
            b"flush_all 2147483648\r\nget k\r\n",
            b"flush_all 4294967296\r\nget k\r\n",
            b"incr zz 1 noreply\r\nincr k 1 noreply\r\nget k\r\n",
            b"cas k 0 0 1 18446744073709551616\r\nb\r\ncas k 0 0 1 -1\r\nb\r\n",
            b"cas k 0 0 1 1 noreply\r\nb\r\nget k\r\n",
            b"set n 0 0 1\r\n5\r\ndecr n 0\r\nincr n 0\r\nincr k 0\r\n",
            b"set n 0 0 4\r\n1 \x002\r\nincr n 1\r\n",
        ],
    );
}

/// A binary client, as memcached sees it, the proxy with a binary
/// downstream (b2b) and with an ascii one (b2a).
struct Paths {
    _mcs: Vec<testkit::Memcached>,
    memcached: SocketAddr,
    b2b: common::Proxy,
    b2a: common::Proxy,
}

fn paths() -> Paths {
    let mcs = common::memcacheds(3);
    Paths {
        memcached: mcs[0].addr(),
        b2b: common::proxy_for(&[mcs[1].addr()], DownstreamProtocol::Binary),
        b2a: common::proxy_for(&[mcs[2].addr()], DownstreamProtocol::Ascii),
        _mcs: mcs,
    }
}

/// A binary request frame with a CAS.
fn with_cas(opcode: u8, key: &[u8], extras: &[u8], value: &[u8], cas: u64) -> Vec<u8> {
    let mut f = testkit::frames::RequestFrame::new(opcode);
    f.key = key.to_vec();
    f.extras = extras.to_vec();
    f.value = value.to_vec();
    f.cas = cas;
    f.to_bytes()
}

/// Empties `addr`'s cache, stores `k` = `a` and returns its CAS.
fn binary_setup(addr: SocketAddr) -> u64 {
    let mut cl = Client::connect(addr);
    cl.send(&bin(op::FLUSH, b"", b"", b"", 0));
    assert_eq!(cl.read_frame().status, status::OK);
    cl.send(&bin(op::SET, b"k", &set_extras(0, 0), b"a", 0));
    let stored = cl.read_frame();
    assert_eq!(stored.status, status::OK);
    stored.cas
}

/// Sends the frames `conversation` builds from `k`'s CAS and reads `n`
/// replies, with CAS values reduced to "some" or 0 (they differ per server).
fn binary_run(addr: SocketAddr, conversation: &dyn Fn(u64) -> Vec<u8>, n: usize) -> Vec<Frame> {
    let cas = binary_setup(addr);
    let mut cl = Client::connect(addr);
    cl.send(&conversation(cas));
    (0..n)
        .map(|_| {
            let mut f = cl.read_frame();
            f.cas = u64::from(f.cas != 0);
            f
        })
        .collect()
}

/// Request bytes built from `k`'s CAS.
type Conversation<'a> = Box<dyn Fn(u64) -> Vec<u8> + 'a>;

const EXTRAS_TOUCH: [u8; 4] = 10u32.to_be_bytes();

fn arith_extras(delta: u64, initial: u64, exptime: u32) -> Vec<u8> {
    let mut e = delta.to_be_bytes().to_vec();
    e.extend_from_slice(&initial.to_be_bytes());
    e.extend_from_slice(&exptime.to_be_bytes());
    e
}

/// Binary requests that ascii says differently and the proxy translates
/// (SET/REPLACE/ADD with a CAS, DELETE with a CAS as a `cas` to an expired
/// empty item, TOUCH and GAT, incr with create and its exptime, flush with
/// a delay, quiet flush, keys with bytes over 0x7f): b2b and b2a answer as
/// memcached does.
#[test]
fn binary_forms_ascii_says_differently_answer_as_memcached() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let p = paths();
    let e = set_extras(0, 0);
    let get_k = || bin(op::GET, b"k", b"", b"", 0);
    let cases: Vec<(&str, Conversation, usize)> = vec![
        (
            "set cas wrong",
            Box::new(|c| with_cas(op::SET, b"k", &e, b"b", c + 1000)),
            1,
        ),
        (
            "set cas missing",
            Box::new(|_| with_cas(op::SET, b"zz", &e, b"b", 5)),
            1,
        ),
        (
            "replace cas right",
            Box::new(|c| {
                [
                    with_cas(op::REPLACE, b"k", &e, b"b", c),
                    bin(op::GET, b"k", b"", b"", 0),
                ]
                .concat()
            }),
            2,
        ),
        (
            "touch",
            Box::new(|_| {
                [
                    bin(op::TOUCH, b"k", &EXTRAS_TOUCH, b"", 0),
                    bin(op::TOUCH, b"zz", &EXTRAS_TOUCH, b"", 0),
                ]
                .concat()
            }),
            2,
        ),
        (
            "gat, gatk miss",
            Box::new(|_| {
                [
                    bin(op::GAT, b"k", &EXTRAS_TOUCH, b"", 0),
                    bin(op::GATK, b"zz", &EXTRAS_TOUCH, b"", 0),
                ]
                .concat()
            }),
            2,
        ),
        (
            "incr create",
            Box::new(|_| {
                [
                    bin(op::INCR, b"c", &arith_extras(1, 7, 0), b"", 0),
                    bin(op::INCR, b"c", &arith_extras(1, 7, 0), b"", 0),
                ]
                .concat()
            }),
            2,
        ),
        (
            "decr non-numeric",
            Box::new(|_| bin(op::DECR, b"k", &arith_extras(1, 7, 0), b"", 0)),
            1,
        ),
        (
            "incr create, exptime over i32",
            Box::new(|_| {
                [
                    bin(op::INCR, b"c", &arith_extras(1, 7, 0xffff_fffe), b"", 0),
                    bin(op::GET, b"c", b"", b"", 0),
                ]
                .concat()
            }),
            2,
        ),
        (
            "set exptime over i32",
            Box::new(|_| {
                [
                    bin(op::SET, b"k", &set_extras(0, 0xffff_fffe), b"b", 0),
                    bin(op::GET, b"k", b"", b"", 0),
                ]
                .concat()
            }),
            2,
        ),
        (
            "flush with delay",
            Box::new(|_| {
                [
                    bin(op::FLUSH, b"", &100u32.to_be_bytes(), b"", 0),
                    bin(op::GET, b"k", b"", b"", 0),
                ]
                .concat()
            }),
            2,
        ),
        (
            "quiet flush",
            Box::new(|_| {
                [
                    bin(op::FLUSHQ, b"", b"", b"", 0),
                    bin(op::GET, b"k", b"", b"", 0),
                ]
                .concat()
            }),
            1,
        ),
        (
            "delete, right cas",
            Box::new(|c| [with_cas(op::DELETE, b"k", b"", b"", c), get_k()].concat()),
            2,
        ),
        (
            "delete, wrong cas",
            Box::new(|c| [with_cas(op::DELETE, b"k", b"", b"", c + 1000), get_k()].concat()),
            2,
        ),
        (
            "delete, cas, missing",
            Box::new(|_| with_cas(op::DELETE, b"zz", b"", b"", 5)),
            1,
        ),
        (
            "quiet delete, right cas",
            Box::new(|c| [with_cas(op::DELETEQ, b"k", b"", b"", c), get_k()].concat()),
            1,
        ),
        (
            "quiet delete, wrong cas",
            Box::new(|c| [with_cas(op::DELETEQ, b"k", b"", b"", c + 1000), get_k()].concat()),
            2,
        ),
        (
            "add, right cas",
            Box::new(|c| [with_cas(op::ADD, b"k", &e, b"b", c), get_k()].concat()),
            2,
        ),
        (
            "add, wrong cas",
            Box::new(|c| [with_cas(op::ADD, b"k", &e, b"b", c + 1000), get_k()].concat()),
            2,
        ),
        (
            "add, cas, missing",
            Box::new(|_| {
                [
                    with_cas(op::ADD, b"zz", &e, b"b", 5),
                    bin(op::GET, b"zz", b"", b"", 0),
                ]
                .concat()
            }),
            2,
        ),
        (
            "key with a byte over 0x7f",
            Box::new(|_| {
                [
                    bin(op::SET, b"a\x80b", &e, b"x", 0),
                    bin(op::GET, b"a\x80b", b"", b"", 0),
                ]
                .concat()
            }),
            2,
        ),
    ];
    for (name, conversation, n) in &cases {
        let want = binary_run(p.memcached, conversation, *n);
        for (path, proxy) in [("b2b", &p.b2b), ("b2a", &p.b2a)] {
            assert_eq!(
                binary_run(proxy.addr(), conversation, *n),
                want,
                "{path}: {name}"
            );
        }
    }
}

/// Binary VERBOSITY: memcached 1.6.18 no longer knows the opcode and
/// answers "Unknown command" (status 0x81), then skips the body counted
/// after extras and key, over-reading the next frame by the extras (here
/// the NOOP's first 4 bytes, so the NOOP goes unanswered). The proxy
/// answers the same on either downstream protocol, and without waiting for
/// the next request's bytes as memcached does before it replies.
#[test]
fn binary_verbosity_answers_as_memcached() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let p = paths();
    let noop = bin(op::NOOP, b"", b"", b"", 9);
    let with_level = [
        bin(op::VERBOSITY, b"", &1u32.to_be_bytes(), b"", 7),
        noop.clone(),
    ]
    .concat();
    let bare = [bin(op::VERBOSITY, b"", b"", b"", 7), noop].concat();
    for (name, conversation, n) in [("with a level", with_level, 1), ("bare", bare, 2)] {
        let want = binary_run(p.memcached, &|_| conversation.clone(), n);
        assert_eq!(want[0].status, status::UNKNOWN_COMMAND, "{name}");
        assert_eq!(want[0].value, b"Unknown command", "{name}");
        for (path, proxy) in [("b2b", &p.b2b), ("b2a", &p.b2a)] {
            let got = binary_run(proxy.addr(), &|_| conversation.clone(), n);
            assert_eq!(got, want, "{path}: verbosity {name}");
        }
        // Nothing more: the NOOP after a levelled VERBOSITY was swallowed.
        if n == 1 {
            let mut cl = Client::connect(p.b2b.addr());
            cl.send(&conversation);
            assert_eq!(cl.read_frame().status, status::UNKNOWN_COMMAND);
            cl.expect_silence(std::time::Duration::from_millis(100));
        }
    }
}

/// Binary requests an ascii server cannot be asked (b2a): a CAS on APPEND,
/// PREPEND or INCR (ascii has a CAS only on `cas`, and emulating them with
/// gets and cas would lose the item's exptime, which ascii cannot read),
/// and keys holding a space, a control byte or DEL (an ascii command line
/// cannot carry them; a meta downstream could, base64-encoded). b2a refuses each with EINVAL "Invalid arguments" and
/// changes nothing; b2b answers as memcached does.
#[test]
fn binary_forms_ascii_cannot_say_are_refused_on_b2a() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let p = paths();
    let e = set_extras(0, 0);
    let incr = arith_extras(1, 0, 0xffff_ffff);
    let get_k = || bin(op::GET, b"k", b"", b"", 0);
    let cases: Vec<(&str, Conversation)> = vec![
        (
            "append, right cas",
            Box::new(|c| with_cas(op::APPEND, b"k", b"", b"b", c)),
        ),
        (
            "prepend, wrong cas",
            Box::new(|c| with_cas(op::PREPEND, b"k", b"", b"b", c + 1000)),
        ),
        (
            "incr, cas",
            Box::new(|c| with_cas(op::INCR, b"k", &incr, b"", c)),
        ),
        (
            "incr with create, cas, missing",
            Box::new(|_| with_cas(op::INCR, b"zz", &arith_extras(1, 7, 0), b"", 5)),
        ),
        (
            "quiet append, wrong cas",
            Box::new(|c| with_cas(op::APPENDQ, b"k", b"", b"b", c + 1000)),
        ),
        (
            "set, key with a space",
            Box::new(|_| bin(op::SET, b"a b", &e, b"x", 0)),
        ),
        (
            "get, key with a control byte",
            Box::new(|_| bin(op::GET, b"a\x01b", b"", b"", 0)),
        ),
        (
            "getk, key with a newline",
            Box::new(|_| bin(op::GETK, b"a\nb", b"", b"", 0)),
        ),
        (
            "get, key with DEL",
            Box::new(|_| bin(op::GET, b"a\x7fb", b"", b"", 0)),
        ),
        (
            "delete, key with a space",
            Box::new(|_| bin(op::DELETE, b"a b", b"", b"", 0)),
        ),
        (
            "incr, key with a space",
            Box::new(|_| bin(op::INCR, b"a b", &incr, b"", 0)),
        ),
        (
            "touch, key with a space",
            Box::new(|_| bin(op::TOUCH, b"a b", &EXTRAS_TOUCH, b"", 0)),
        ),
    ];
    for (name, request) in &cases {
        let conversation = |c| [request(c), get_k()].concat();
        let want = binary_run(p.memcached, &conversation, 2);
        assert_eq!(
            binary_run(p.b2b.addr(), &conversation, 2),
            want,
            "b2b: {name}"
        );
        let got = binary_run(p.b2a.addr(), &conversation, 2);
        assert_eq!(got[0].status, status::EINVAL, "b2a: {name}: {got:?}");
        assert_eq!(got[0].value, b"Invalid arguments", "b2a: {name}");
        assert_eq!(got[1].value, b"a", "b2a: {name}: k unchanged");
    }
}
