//! The ascii request decoder against a real memcached 1.6.18.
//!
//! Each case is client input and the exact bytes memcached 1.6.18 answers on
//! a flushed cache. Our side turns the decoder's outcomes into bytes the way
//! a server with an empty cache would (a get misses, `set` stores, `replace`
//! does not, ...), so error replies, `noreply` silence, swallowed data blocks
//! and closed connections must match byte for byte. The memcached side runs
//! when a memcached binary is found (`$MEMCACHED_BIN`, else
//! `/usr/bin/memcached`) and is skipped otherwise; it talks over a unix
//! socket so no TCP port is needed.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use protocol::ascii::{encode_response, Decoded, RequestDecoder};
use protocol::{Command, Limits, Response, StoreMode};

/// Input, memcached's reply, and whether memcached then closes.
struct Case {
    input: Vec<u8>,
    reply: Vec<u8>,
    closes: bool,
}

fn case(input: &str, reply: &str) -> Case {
    Case {
        input: input.as_bytes().to_vec(),
        reply: reply.as_bytes().to_vec(),
        closes: false,
    }
}

fn closing(input: &str, reply: &str) -> Case {
    Case {
        closes: true,
        ..case(input, reply)
    }
}

const BAD_FORMAT: &str = "CLIENT_ERROR bad command line format\r\n";
const USAGE: &str = "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n";
const TOO_LARGE: &str = "SERVER_ERROR object too large for cache\r\n";
const BAD_EXPTIME: &str = "CLIENT_ERROR invalid exptime argument\r\n";
const BAD_DELTA: &str = "CLIENT_ERROR invalid numeric delta argument\r\n";

fn cases() -> Vec<Case> {
    let long = "a".repeat(251);
    let mut cases = vec![
        case("get a b\r\n", "END\r\n"),
        case("gat 10\r\n", "END\r\n"),
        case("gat x k\r\n", BAD_EXPTIME),
        case(&format!("get a {long}\r\n"), BAD_FORMAT),
        case("get\r\n", "ERROR\r\n"),
        case("\r\n\n a\r\n", "ERROR\r\nERROR\r\nERROR\r\n"),
        case(
            "set k 0 0 5\r\nhello\r\nadd k2 0 0 1\r\nx\r\n",
            "STORED\r\nSTORED\r\n",
        ),
        case(
            "replace q 0 0 1\r\nx\r\ncas q 0 0 1 5\r\nx\r\n",
            "NOT_STORED\r\nNOT_FOUND\r\n",
        ),
        case(
            "set k 0 0 1 junk\r\nz\r\nset k 0 0 1 \r\nz\r\n",
            "STORED\r\nSTORED\r\n",
        ),
        case("set k 0 0 5 noreply\r\nhello\r\n", ""),
        case(
            "set k 0 0 5\r\nhelloXX\r\n",
            "CLIENT_ERROR bad data chunk\r\nERROR\r\n",
        ),
        case("set k 0 0 5 noreply\r\nhelloXX\r\n", "ERROR\r\n"),
        case(
            "set k 0 0 1\r\na\nget k\r\n",
            "CLIENT_ERROR bad data chunk\r\nERROR\r\n",
        ),
        case("set k 0 0 -1\r\nz\r\n", &format!("{BAD_FORMAT}ERROR\r\n")),
        case("set k -1 0 1 noreply\r\nz\r\n", "ERROR\r\n"),
        case("set k 0 0 2147483648\r\n", BAD_FORMAT),
        case("set k 0 0 4294967301\r\nhello\r\n", "STORED\r\n"),
        case("set k 0 0 noreply\r\n", ""),
        case(
            &format!("set {long} 0 0 1\r\na\r\n"),
            &format!("{BAD_FORMAT}ERROR\r\n"),
        ),
        case("cas k 0 0 1 x\r\na\r\n", &format!("{BAD_FORMAT}ERROR\r\n")),
        case("set k 0 0\r\ncas k 0 0 1\r\n", "ERROR\r\nERROR\r\n"),
        case("incr k 1\r\ndecr k 1 noreply\r\n", "NOT_FOUND\r\n"),
        case("incr k x\r\nincr k -1\r\n", &BAD_DELTA.repeat(2)),
        case("incr k\r\nincr k x noreply\r\n", "ERROR\r\n"),
        case(
            "delete k 0\r\ndelete k noreply\r\ndelete k 0 noreply\r\n",
            "NOT_FOUND\r\n",
        ),
        case(
            "delete k 1\r\ndelete k foo noreply\r\ndelete a b c d\r\n",
            &format!("{USAGE}ERROR\r\n"),
        ),
        case(
            &format!("delete {long}\r\ndelete {long} 1\r\n"),
            &format!("{BAD_FORMAT}{USAGE}"),
        ),
        case(
            "touch k 10\r\ntouch k x\r\ntouch k x noreply\r\n",
            &format!("NOT_FOUND\r\n{BAD_EXPTIME}"),
        ),
        case(
            "verbosity\r\nverbosity x\r\nverbosity 0 5\r\nverbosity noreply\r\n",
            &format!("ERROR\r\n{BAD_FORMAT}OK\r\n"),
        ),
        case(
            "flush_all x\r\nflush_all noreply 10\r\nflush_all 0 20\r\n",
            &format!("{BAD_EXPTIME}{BAD_EXPTIME}OK\r\n"),
        ),
        case("flush_all 1 2 3\r\nflush_all noreply\r\n", "ERROR\r\n"),
        case("stats  reset  \r\n", "RESET\r\n"),
        case("version foo\r\n", "VERSION 1.6.18\r\n"),
        case("sx HTTP/1.0\r\nmx HTTP/1.0\r\n", "ERROR\r\nERROR\r\n"),
    ];
    cases.extend(lenient_and_pipelined_cases());
    cases.extend(limit_cases());
    cases
}

/// Closed connections, long lines, swallowed values.
fn limit_cases() -> Vec<Case> {
    let mut cases = vec![
        closing("GET / HTTP/1.1\r\n", ""),
        closing("mxx HTTP/1.0\r\nversion\r\n", ""),
        closing("quit\r\nversion\r\n", ""),
        closing(&format!("set {}", "x".repeat(3000)), ""),
        closing(&format!("gat 0 {}", "x ".repeat(1100)), ""),
        closing(&format!("{}get {}", " ".repeat(101), "x ".repeat(1100)), ""),
        case(&format!("get {}\r\n", "x ".repeat(1100)), "END\r\n"),
    ];
    // A value over the item size limit is answered, then swallowed whole.
    let mut big = b"set k 0 0 1\r\na\r\nset k 0 0 2000000\r\n".to_vec();
    big.extend(std::iter::repeat_n(b'x', 2_000_000));
    big.extend_from_slice(b"XYappend k 0 0 2000000 noreply\r\n");
    big.extend(std::iter::repeat_n(b'x', 2_000_002));
    cases.push(Case {
        input: big,
        reply: format!("STORED\r\n{TOO_LARGE}").into_bytes(),
        closes: false,
    });
    cases
}

/// Numbers read like C, NUL bytes, odd tokens, pipelines.
fn lenient_and_pipelined_cases() -> Vec<Case> {
    let long = "a".repeat(251);
    vec![
        case("get a\0b\r\nbget k\r\n", "END\r\nEND\r\n"),
        case("x\0 get\r\nGETS k\r\nget\tk\r\nmx k\r\n", &"ERROR\r\n".repeat(4)),
        case("gats 1.5 k\r\n", BAD_EXPTIME),
        case("set k +1 0 1\r\nz\r\nset k 1\t 0 1\r\nz\r\nset k 0 0 1\r\r\nz\r\n", &"STORED\r\n".repeat(3)),
        case("set k 4294967297 0 1\r\nz\r\nset k 0 -1 1\r\nz\r\n", &"STORED\r\n".repeat(2)),
        case("set k 18446744073709551616 0 1\r\nz\r\n", &format!("{BAD_FORMAT}ERROR\r\n")),
        case("cas k 0 0 1 noreply\r\na\r\ncas k 0 0 1 -1\r\na\r\n", &format!("ERROR\r\n{BAD_FORMAT}ERROR\r\n")),
        case("set k 0 0 1 noreply extra\r\nappend k 0 0 1\r\na\r\n", "ERROR\r\nNOT_STORED\r\n"),
        case("incr k -18446744073709551615\r\ndecr k 18446744073709551616\r\n", &format!("NOT_FOUND\r\n{BAD_DELTA}")),
        case(&format!("incr {long} 1\r\ndecr {long} 1 noreply\r\n"), BAD_FORMAT),
        case(&format!("delete k 0 foo\r\ndelete {long} 0\r\ndelete {long} noreply\r\n"), &format!("{USAGE}{BAD_FORMAT}")),
        case(&format!("touch {long} 1\r\n"), BAD_FORMAT),
        case(&format!("delete {}\r\n", ["k"; 30].join(" ")), "ERROR\r\n"),
        case("verbosity -1\r\nverbosity 4294967297 noreply\r\nflush_all -1\r\n", &format!("{BAD_FORMAT}OK\r\n")),
        case(&format!("{}gets {}\r\n", " ".repeat(100), "x ".repeat(1100)), "END\r\n"),
        case(
            "set a 0 0 1\r\n1\r\nget b\r\nbogus\r\nincr a 2 noreply\r\ndelete q\r\nset b 0 0 2 noreply\r\nxyz\r\n",
            "STORED\r\nEND\r\nERROR\r\nNOT_FOUND\r\nERROR\r\n",
        ),
    ]
}

/// What a server with an empty cache answers, driven by our decoder.
fn our_reply(input: &[u8]) -> (Vec<u8>, bool) {
    let mut decoder = RequestDecoder::new(Limits::default());
    let mut buf = BytesMut::from(input);
    let mut out = BytesMut::new();
    loop {
        let decoded = match decoder.decode(&mut buf) {
            Ok(Some(decoded)) => decoded,
            Ok(None) => return (out.to_vec(), false),
            Err(close) => {
                if let Some(reply) = close.reply {
                    encode_response(&reply, false, &mut out);
                }
                return (out.to_vec(), true);
            }
        };
        let reply = match decoded {
            Decoded::Invalid(reply) => reply,
            Decoded::TooLarge(req) => {
                (!req.quiet).then(|| Response::server_error("object too large for cache"))
            }
            Decoded::Request(req) if matches!(req.command, Command::Quit) => {
                return (out.to_vec(), true);
            }
            Decoded::Request(req) => (!req.quiet).then(|| empty_cache_reply(&req.command)),
        };
        if let Some(reply) = reply {
            encode_response(&reply, false, &mut out);
        }
    }
}

fn empty_cache_reply(command: &Command) -> Response {
    match command {
        Command::Get(_) => Response::End,
        Command::Store(store) => match store.mode {
            StoreMode::Set | StoreMode::Add => Response::Stored { cas: 0 },
            StoreMode::Cas => Response::NotFound,
            _ => Response::NotStored,
        },
        Command::Arith(_) | Command::Delete { .. } | Command::Touch { .. } => Response::NotFound,
        Command::FlushAll { .. } | Command::Verbosity { .. } => Response::Ok,
        Command::Version => Response::Version("1.6.18".into()),
        Command::Stats { group } if &group[..] == b"reset" => Response::Reset,
        other => panic!("no empty-cache reply for {other:?}"),
    }
}

#[test]
fn decoder_answers_like_memcached() {
    for case in cases() {
        let (reply, closes) = our_reply(&case.input);
        let shown = String::from_utf8_lossy(&case.input[..case.input.len().min(60)]).into_owned();
        assert_eq!(
            String::from_utf8_lossy(&reply),
            String::from_utf8_lossy(&case.reply),
            "{shown:?}"
        );
        assert_eq!(closes, case.closes, "{shown:?}");
    }
}

/// A memcached on a unix socket, killed on drop.
struct Memcached {
    child: Child,
    socket: PathBuf,
}

impl Memcached {
    fn start() -> Option<Memcached> {
        let bin = std::env::var_os("MEMCACHED_BIN")
            .map_or_else(|| PathBuf::from("/usr/bin/memcached"), PathBuf::from);
        if !bin.exists() {
            eprintln!("skipped: no memcached at {}", bin.display());
            return None;
        }
        let socket = std::env::temp_dir().join(format!("moxi-ascii-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&socket);
        let mut cmd = Process::new(bin);
        cmd.arg("-s").arg(&socket).args(["-U", "0", "-m", "64"]);
        if is_root() {
            cmd.args(["-u", "root"]);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let server = Memcached { child, socket };
        let deadline = Instant::now() + Duration::from_secs(10);
        while UnixStream::connect(&server.socket).is_err() {
            assert!(Instant::now() < deadline, "memcached did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        Some(server)
    }
}

impl Drop for Memcached {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.socket);
    }
}

fn is_root() -> bool {
    Process::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Sends `input` (after a silent flush, and followed by `version` unless
/// the server is expected to close) and reads until `expected_len` bytes
/// ending in the version reply arrived, or the server closed.
fn talk(socket: &Path, input: &[u8], closes: bool, expected_len: usize) -> (Vec<u8>, bool) {
    let mut conn = UnixStream::connect(socket).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    conn.write_all(b"flush_all noreply\r\n").unwrap();
    // The peer may close mid-write; that is an answer too.
    // A line left open would swallow the sentinel: send none then.
    let sentinel: &[u8] = if closes { b"" } else { b"version\r\n" };
    let _ = conn
        .write_all(input)
        .and_then(|()| conn.write_all(sentinel));
    let mut got = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        match conn.read(&mut chunk) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (got, true),
            Err(e) => panic!("read: {e} after {:?}", String::from_utf8_lossy(&got)),
        }
        if got.len() >= expected_len && got.ends_with(b"VERSION 1.6.18\r\n") {
            return (got, false);
        }
    }
}

#[test]
fn memcached_answers_as_the_cases_say() {
    let Some(server) = Memcached::start() else {
        return;
    };
    for case in cases() {
        let shown = String::from_utf8_lossy(&case.input[..case.input.len().min(60)]).into_owned();
        let mut expected = case.reply.clone();
        if !case.closes {
            expected.extend_from_slice(b"VERSION 1.6.18\r\n");
        }
        let (got, closed) = talk(&server.socket, &case.input, case.closes, expected.len());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected),
            "{shown:?}"
        );
        assert_eq!(closed, case.closes, "{shown:?}");
    }
}
