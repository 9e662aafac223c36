//! Bad input and memcached 1.6.18's exact answers to it (each checked
//! against a running memcached; `noreply` silences every one of them).

use super::*;

const BAD_FORMAT: &str = "CLIENT_ERROR bad command line format";
const BAD_EXPTIME: &str = "CLIENT_ERROR invalid exptime argument";
const BAD_DELTA: &str = "CLIENT_ERROR invalid numeric delta argument";
const DELETE_USAGE: &str = "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]";

fn long_key() -> String {
    "a".repeat(251)
}

#[test]
fn unknown_commands_and_empty_lines() {
    for input in [
        &b"\r\n"[..],
        b"\n",
        b"a\r\n",
        b"   \r\n",
        b"bogus\r\n",
        b"GETS k\r\n",
        b"get\r\n",
        b"gets\r\n",
        b"gat\r\n",
        b"getx k\r\n",
        b"get\tk\r\n",
        b"x\0 get\r\n",
        b"sx HTTP/1.0\r\n",
        b"mx HTTP/1.0\r\n",
        b"lru_crawler HTTP/1.1\r\n",
    ] {
        expect(input, vec![error()]);
    }
}

#[test]
fn meta_commands_are_not_implemented() {
    for input in [
        &b"mn\r\n"[..],
        b"mg k v\r\n",
        b"md k\r\n",
        b"ma k\r\n",
        b"me k\r\n",
    ] {
        expect(input, vec![error()]);
    }
    // `ms` has a data block; unknown to us, it is parsed as a second line.
    expect(b"ms k 1\r\na\r\n", vec![error(), error()]);
}

#[test]
fn http_requests_close_the_connection() {
    expect(b"GET / HTTP/1.1\r\nHost: x\r\n", vec![close()]);
    expect(b"HTTP/1.1\r\n", vec![close()]);
    expect(b"mxx HTTP/1.0\r\n", vec![close()]);
    // A get family word is dispatched first: these are keys.
    assert!(matches!(
        decode(b"get / HTTP/1.1\r\n")[..],
        [Ok(Decoded::Request(_))]
    ));
}

#[test]
fn wrong_token_counts() {
    for input in [
        &b"set k 0 0\r\n"[..],
        b"set k 0 0 1 noreply extra\r\n",
        b"cas k 0 0 1\r\n",
        b"cas k 0 0 1 2 noreply extra\r\n",
        b"incr k\r\n",
        b"incr k 1 noreply x\r\n",
        b"delete\r\n",
        b"delete a b c d\r\n",
        b"touch k\r\n",
        b"verbosity\r\n",
        b"verbosity 1 2 3\r\n",
        b"flush_all 1 2 3\r\n",
    ] {
        expect(input, vec![error()]);
    }
    // memcached reads 23 tokens at most; more look like 23 and fail the count.
    let many = format!("delete {}\r\n", ["k"; 30].join(" "));
    expect(many.as_bytes(), vec![error()]);
}

#[test]
fn storage_header_errors_leave_the_data_block_to_be_parsed() {
    for header in [
        "set k 0 0 -1",
        "set k -1 0 1",
        "set k abc 0 1",
        "set k 0 x 1",
        "set k 0 0 x",
        "set k 0 0 2147483648",
        "set k 18446744073709551616 0 1",
        "cas k 0 0 1 x",
        "cas k 0 0 1 -1",
    ] {
        let input = format!("{header}\r\nz\r\n");
        expect(input.as_bytes(), vec![reply(BAD_FORMAT), error()]);
        let input = format!("{header} noreply\r\nz\r\n");
        expect(input.as_bytes(), vec![silent(), error()]);
    }
    let input = format!("set {} 0 0 1\r\na\r\n", long_key());
    expect(input.as_bytes(), vec![reply(BAD_FORMAT), error()]);
    let input = format!("set {} 0 0 1 noreply\r\na\r\n", long_key());
    expect(input.as_bytes(), vec![silent(), error()]);
    // `noreply` in the <bytes> position is still noreply.
    expect(b"set k 0 0 noreply\r\n", vec![silent()]);
    expect(b"cas k 0 0 1 noreply\r\na\r\n", vec![silent(), error()]);
}

#[test]
fn bad_data_chunk_consumes_bytes_plus_two() {
    expect(
        b"set k 0 0 5\r\nhelloXX\r\n",
        vec![reply("CLIENT_ERROR bad data chunk"), error()],
    );
    expect(
        b"set k 0 0 5 noreply\r\nhelloXX\r\nversion\r\n",
        vec![silent(), error(), loud(Command::Version)],
    );
    // A bare \n does not end a data block: the next bytes are taken instead.
    expect(
        b"set k 0 0 1\r\na\nget k\r\n",
        vec![reply("CLIENT_ERROR bad data chunk"), error()],
    );
}

#[test]
fn retrieval_errors() {
    let input = format!("get a {} b\r\n", long_key());
    expect(input.as_bytes(), vec![reply(BAD_FORMAT)]);
    let input = format!("gets {}\r\n", long_key());
    expect(input.as_bytes(), vec![reply(BAD_FORMAT)]);
    expect(b"gat x k\r\n", vec![reply(BAD_EXPTIME)]);
    expect(b"gats 1.5 k\r\n", vec![reply(BAD_EXPTIME)]);
    // gat with an exptime and no key: memcached answers an empty result.
    expect(b"gat 10\r\n", vec![reply("END")]);
    expect(b"", vec![]);
    let ok = format!("get {}\r\n", "a".repeat(250));
    assert!(matches!(
        decode(ok.as_bytes())[..],
        [Ok(Decoded::Request(_))]
    ));
}

#[test]
fn arithmetic_errors() {
    expect(b"incr k x\r\n", vec![reply(BAD_DELTA)]);
    expect(b"incr k -1\r\n", vec![reply(BAD_DELTA)]);
    expect(b"decr k 18446744073709551616\r\n", vec![reply(BAD_DELTA)]);
    expect(b"incr k x noreply\r\n", vec![silent()]);
    let input = format!("incr {} 1\r\n", long_key());
    expect(input.as_bytes(), vec![reply(BAD_FORMAT)]);
    let input = format!("decr {} 1 noreply\r\n", long_key());
    expect(input.as_bytes(), vec![silent()]);
}

#[test]
fn delete_errors() {
    expect(b"delete k 1\r\n", vec![reply(DELETE_USAGE)]);
    expect(b"delete k 0 foo\r\n", vec![reply(DELETE_USAGE)]);
    expect(b"delete k foo noreply\r\n", vec![silent()]);
    let input = format!("delete {}\r\n", long_key());
    expect(input.as_bytes(), vec![reply(BAD_FORMAT)]);
    let input = format!("delete {} 0\r\n", long_key());
    expect(input.as_bytes(), vec![reply(BAD_FORMAT)]);
    let input = format!("delete {} 1\r\n", long_key());
    expect(input.as_bytes(), vec![reply(DELETE_USAGE)]);
    let input = format!("delete {} noreply\r\n", long_key());
    expect(input.as_bytes(), vec![silent()]);
}

#[test]
fn touch_verbosity_flush_errors() {
    expect(b"touch k x\r\n", vec![reply(BAD_EXPTIME)]);
    expect(b"touch k x noreply\r\n", vec![silent()]);
    let input = format!("touch {} 1\r\n", long_key());
    expect(input.as_bytes(), vec![reply(BAD_FORMAT)]);
    expect(b"verbosity x\r\n", vec![reply(BAD_FORMAT)]);
    expect(b"verbosity -1\r\n", vec![reply(BAD_FORMAT)]);
    expect(b"verbosity noreply\r\n", vec![silent()]);
    expect(b"flush_all x\r\n", vec![reply(BAD_EXPTIME)]);
    expect(b"flush_all noreply 10\r\n", vec![reply(BAD_EXPTIME)]);
    expect(b"flush_all x noreply\r\n", vec![silent()]);
}
