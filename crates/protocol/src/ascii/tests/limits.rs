//! Line and value limits: memory stays bounded whatever the input.

use bytes::{Bytes, BytesMut};

use super::*;
use crate::model::{Store, StoreMode};

fn small() -> Limits {
    Limits {
        max_value_len: 10,
        max_line_len: 2048,
        max_keys: 4,
    }
}

fn too_large(mode: StoreMode, k: &str, quiet: bool) -> Outcome {
    let store = Store {
        mode,
        key: key(k),
        flags: 0,
        exptime: 0,
        value: Bytes::new(),
        cas: 0,
    };
    Ok(Decoded::TooLarge(Request {
        quiet,
        ..Request::new(Command::Store(store))
    }))
}

#[test]
fn too_large_value_is_swallowed_whatever_it_holds() {
    // 11 bytes + 2 are swallowed, even when the last two are not \r\n.
    let input = b"set k 0 0 11\r\nhello worldXYversion\r\n";
    assert_eq!(
        decode_with(small(), input),
        vec![
            too_large(StoreMode::Set, "k", false),
            loud(Command::Version)
        ]
    );
    let input = b"append k 0 0 11 noreply\r\nhello world\r\nversion\r\n";
    assert_eq!(
        decode_with(small(), input),
        vec![
            too_large(StoreMode::Append, "k", true),
            loud(Command::Version)
        ]
    );
    // Exactly the limit is fine.
    let input = b"set k 0 0 10\r\n0123456789\r\n";
    assert!(matches!(
        decode_with(small(), input)[..],
        [Ok(Decoded::Request(_))]
    ));
}

#[test]
fn huge_declared_length_is_never_buffered() {
    let mut decoder = RequestDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&b"set k 0 0 2147483645\r\n"[..]);
    assert!(matches!(
        decoder.decode(&mut buf),
        Ok(Some(Decoded::TooLarge(_)))
    ));
    assert!(
        buf.capacity() < 1 << 20,
        "reserved for a value that was refused"
    );
    for _ in 0..64 {
        buf.extend_from_slice(&[b'x'; 4096]);
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        assert!(buf.is_empty());
    }
}

#[test]
fn value_within_limit_is_reserved_once_then_sliced() {
    let mut decoder = RequestDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&b"set k 0 0 100000\r\n"[..]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    assert!(buf.capacity() >= 100_002);
    buf.extend_from_slice(&vec![b'v'; 100_000]);
    buf.extend_from_slice(b"\r\n");
    let Ok(Some(Decoded::Request(req))) = decoder.decode(&mut buf) else {
        panic!("no request")
    };
    let Command::Store(store) = req.command else {
        panic!("not a store")
    };
    assert_eq!(store.value.len(), 100_000);
}

#[test]
fn long_line_that_is_not_a_get_closes_silently() {
    let mut input = b"set ".to_vec();
    input.extend(std::iter::repeat_n(b'x', 3000));
    expect(&input, vec![close()]);
    input.extend_from_slice(b"\r\n");
    expect(&input, vec![close()]);
    // gat may not be long either (memcached only lets get/gets grow).
    let gat = format!("gat 0 {}\r\n", "x ".repeat(1100));
    expect(gat.as_bytes(), vec![close()]);
    let stats = format!("stats {}\r\n", "x".repeat(2100));
    expect(stats.as_bytes(), vec![close()]);
}

#[test]
fn line_at_the_limit_is_fine() {
    // 2048 bytes before the \n (the \r counts).
    let line = format!("stats {}\r\n", "x".repeat(2048 - 7));
    assert!(matches!(
        decode(line.as_bytes())[..],
        [Ok(Decoded::Request(_))]
    ));
    let line = format!("stats {}\r\n", "x".repeat(2048 - 6));
    expect(line.as_bytes(), vec![close()]);
}

#[test]
fn long_multiget_is_allowed_up_to_max_keys() {
    let keys = vec!["k"; 1500];
    let line = format!("get {}\r\n", keys.join(" "));
    let outcomes = decode(line.as_bytes());
    let [Ok(Decoded::Request(req))] = &outcomes[..] else {
        panic!("{outcomes:?}")
    };
    let Command::Get(get) = &req.command else {
        panic!("not a get")
    };
    assert_eq!(get.keys.len(), 1500);
    // Up to 100 leading spaces are allowed before a long get.
    let line = format!("{}gets {}\r\n", " ".repeat(100), keys.join(" "));
    assert!(matches!(
        decode(line.as_bytes())[..],
        [Ok(Decoded::Request(_))]
    ));
    let line = format!("{}gets {}\r\n", " ".repeat(101), keys.join(" "));
    expect(line.as_bytes(), vec![close()]);
}

#[test]
fn multiget_bounds_of_our_own() {
    let limits = Limits {
        max_keys: 4,
        ..Limits::default()
    };
    // 4 * 251 + 128 = 1132 < 2048: the line limit still applies.
    let line = format!("get {}\r\n", ["k"; 5].join(" "));
    assert_eq!(
        decode_with(limits, line.as_bytes()),
        vec![reply("CLIENT_ERROR too many keys")]
    );
    let limits = Limits {
        max_keys: 10,
        ..Limits::default()
    };
    // 10 * 251 + 128 = 2638 bytes at most.
    let line = format!("get {}\r\n", "k ".repeat(1400));
    let too_long = Err(CloseConnection {
        reply: Some(parse_reply("CLIENT_ERROR line too long")),
    });
    assert_eq!(decode_with(limits, line.as_bytes()), vec![too_long]);
    let line = format!("get {}\r\n", "k ".repeat(1200));
    assert_eq!(
        decode_with(limits, line.as_bytes()),
        vec![reply("CLIENT_ERROR too many keys")]
    );
}

#[test]
fn line_limit_never_below_128() {
    let limits = Limits {
        max_line_len: 10,
        ..Limits::default()
    };
    let line = format!("get {}\r\n", "a".repeat(100));
    assert!(matches!(
        decode_with(limits, line.as_bytes())[..],
        [Ok(Decoded::Request(_))]
    ));
}

#[test]
fn newline_search_resumes_where_it_stopped() {
    // Feeding a long get line in small pieces must stay linear; this also
    // checks that the remembered offset is right.
    let mut decoder = RequestDecoder::new(Limits::default());
    let mut buf = BytesMut::new();
    let line = format!("get {}\r\n", "key ".repeat(20_000));
    for chunk in line.as_bytes().chunks(7) {
        buf.extend_from_slice(chunk);
        if let Some(decoded) = decoder.decode(&mut buf).unwrap() {
            let Decoded::Request(req) = decoded else {
                panic!("{decoded:?}")
            };
            let Command::Get(get) = req.command else {
                panic!("not a get")
            };
            assert_eq!(get.keys.len(), 20_000);
            assert!(buf.is_empty());
            return;
        }
    }
    panic!("the get never completed");
}
