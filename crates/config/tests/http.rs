//! The sans-io HTTP pieces: URLs, the GET request, response heads, and body
//! decoding split at every byte boundary (plus proptest round trips).
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

use config::{
    BodyDecoder, BodyFraming, ChunkedDecoder, HttpError, HttpUrl, ResponseHead, MAX_HEAD_LEN,
};
use proptest::prelude::*;

#[test]
fn urls() {
    let u = HttpUrl::parse("http://10.0.0.1:8091/pools/default/bucketsStreaming/default").unwrap();
    assert_eq!(
        (u.host(), u.port(), u.path()),
        ("10.0.0.1", 8091, "/pools/default/bucketsStreaming/default")
    );
    assert_eq!(u.host_header(), "10.0.0.1:8091");
    assert_eq!(u.to_string(), u.as_str());
    let u = HttpUrl::parse("http://example.com").unwrap();
    assert_eq!(
        (u.host(), u.port(), u.path(), u.host_header().as_str()),
        ("example.com", 80, "/", "example.com")
    );
    let u = HttpUrl::parse("http://h?x=1").unwrap();
    assert_eq!(u.path(), "/?x=1");
    let u = HttpUrl::parse("http://Admin:pa:ss@[::1]:8091/p").unwrap();
    assert_eq!((u.host(), u.port()), ("[::1]", 8091));
    assert_eq!(u.userinfo(), Some(("Admin", "pa:ss")));
    for bad in [
        "https://h/",
        "ftp://h",
        "http://",
        "http://h:0/",
        "http://h:x/",
        "http://h:65536/",
        "http://h h/",
        "http://h/a b",
        "http://[::1/",
        "http://[::1]x/",
    ] {
        assert_eq!(
            HttpUrl::parse(bad),
            Err(HttpError::BadUrl(bad.into())),
            "{bad}"
        );
    }
}

#[test]
fn get_request_bytes() {
    let u = HttpUrl::parse("http://h:8091/pools/default/saslBucketsStreaming").unwrap();
    assert_eq!(
        String::from_utf8(u.get_request(None)).unwrap(),
        "GET /pools/default/saslBucketsStreaming HTTP/1.1\r\nHost: h:8091\r\n\
         User-Agent: moxi\r\nAccept: */*\r\n\r\n"
    );
    let req = String::from_utf8(u.get_request(Some(("Administrator", "password")))).unwrap();
    assert!(req.contains("\r\nAuthorization: Basic QWRtaW5pc3RyYXRvcjpwYXNzd29yZA==\r\n\r\n"));
    let u = HttpUrl::parse("http://a:b@h/").unwrap();
    let req = String::from_utf8(u.get_request(None)).unwrap();
    assert!(req.contains("Authorization: Basic YTpi\r\n"), "{req}");
    // Every padding length.
    for (user, b64) in [("u", "dTo="), ("us", "dXM6"), ("use", "dXNlOg==")] {
        let req = String::from_utf8(u.get_request(Some((user, "")))).unwrap();
        assert!(req.contains(&format!("Basic {b64}\r\n")), "{user}");
    }
}

fn head(text: &str) -> Result<Option<(ResponseHead, usize)>, HttpError> {
    ResponseHead::parse(text.as_bytes(), MAX_HEAD_LEN)
}

#[test]
fn response_heads() {
    let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nbody";
    let (h, n) = head(text).unwrap().unwrap();
    assert_eq!(
        (h.status, h.reason.as_str(), h.body),
        (200, "OK", BodyFraming::Chunked)
    );
    assert_eq!(&text[n..], "body");
    assert_eq!(h.header("content-type"), Some("application/json"));
    for i in 0..text.len() - 4 {
        assert_eq!(head(&text[..i]), Ok(None), "prefix {i}");
    }
    let (h, _) = head("HTTP/1.0 200 OK\nContent-Length: 12\n\n")
        .unwrap()
        .unwrap();
    assert_eq!(h.body, BodyFraming::Length(12));
    let (h, _) = head("HTTP/1.1 401 Unauthorized\r\n\r\n").unwrap().unwrap();
    assert_eq!((h.status, h.body), (401, BodyFraming::UntilClose));
    let (h, _) = head("HTTP/1.1 100 Continue\r\n\r\n").unwrap().unwrap();
    assert!(h.is_informational());
    assert_eq!(h.body, BodyFraming::Empty);
    let (h, _) = head("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n")
        .unwrap()
        .unwrap();
    assert_eq!(h.body, BodyFraming::Empty);
    let both = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
    assert_eq!(head(both).unwrap().unwrap().0.body, BodyFraming::Chunked);
    let gzip = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n";
    assert_eq!(head(gzip).unwrap().unwrap().0.body, BodyFraming::UntilClose);
    let same = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5, 5\r\n\r\n";
    assert_eq!(head(same).unwrap().unwrap().0.body, BodyFraming::Length(5));
}

#[test]
fn response_head_errors() {
    for (text, e) in [
        ("HTTP/2 200 OK\r\n\r\n", HttpError::BadStatusLine),
        ("HTTP/1.1 20 OK\r\n\r\n", HttpError::BadStatusLine),
        ("ICY 200 OK\r\n\r\n", HttpError::BadStatusLine),
        ("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", HttpError::BadHeader),
        (
            "HTTP/1.1 200 OK\r\nbad name: x\r\n\r\n",
            HttpError::BadHeader,
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            HttpError::BadContentLength,
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            HttpError::BadContentLength,
        ),
    ] {
        assert_eq!(head(text), Err(e), "{text:?}");
    }
    let long = format!("HTTP/1.1 200 OK\r\nX: {}", "a".repeat(100));
    assert_eq!(
        ResponseHead::parse(long.as_bytes(), 64),
        Err(HttpError::HeadTooLarge(64))
    );
    let complete = format!("{long}\r\n\r\n");
    assert_eq!(
        ResponseHead::parse(complete.as_bytes(), 64),
        Err(HttpError::HeadTooLarge(64))
    );
}

const CHUNKED: &[u8] =
    b"5\r\nhello\r\n1;ext=1\r\n \r\nA\n0123456789\n000\r\nTrailer: x\r\n\r\nNEXT";

fn decode_all(chunks: &[&[u8]]) -> (Vec<u8>, bool) {
    let mut d = ChunkedDecoder::new();
    let mut out = Vec::new();
    for c in chunks {
        out.extend(d.push(c).unwrap());
    }
    (out, d.is_done())
}

#[test]
fn chunked_split_at_every_byte_boundary() {
    let want = (b"hello 0123456789".to_vec(), true);
    assert_eq!(decode_all(&[CHUNKED]), want);
    for i in 0..=CHUNKED.len() {
        for j in i..=CHUNKED.len() {
            let got = decode_all(&[&CHUNKED[..i], &CHUNKED[i..j], &CHUNKED[j..]]);
            assert_eq!(got, want, "split at {i}, {j}");
        }
    }
    let end = CHUNKED.len() - "NEXT".len();
    assert!(
        !decode_all(&[&CHUNKED[..end - 1]]).1,
        "not done before the final LF"
    );
}

#[test]
fn chunked_errors() {
    for (input, e) in [
        (&b"x\r\n"[..], HttpError::BadChunkSize),
        (b"\r\n", HttpError::BadChunkSize),
        (b"-1\r\n", HttpError::BadChunkSize),
        (b"11111111111111111\r\n", HttpError::BadChunkSize),
        (b"1\r\nab", HttpError::BadChunkEnd),
        (b"1\r\na\rb", HttpError::BadChunkEnd),
    ] {
        assert_eq!(ChunkedDecoder::new().push(input), Err(e), "{input:?}");
    }
    let long = vec![b'1'; 5000];
    assert_eq!(
        ChunkedDecoder::new().push(&long),
        Err(HttpError::BadChunkSize)
    );
    let mut trailers = b"0\r\n".to_vec();
    trailers.extend(std::iter::repeat_n(b'x', 70_000));
    assert_eq!(
        ChunkedDecoder::new().push(&trailers),
        Err(HttpError::TrailersTooLarge)
    );
    let big = b"ffffffffffffffff\r\nabc";
    assert_eq!(ChunkedDecoder::new().push(big), Ok(b"abc".to_vec()));
}

#[test]
fn body_decoders() {
    let mut d = BodyDecoder::new(BodyFraming::Length(5));
    assert_eq!(d.push(b"abc").unwrap(), b"abc");
    assert!(!d.is_done());
    assert_eq!(d.push(b"defgh").unwrap(), b"de");
    assert!(d.is_done());
    let mut d = BodyDecoder::new(BodyFraming::UntilClose);
    assert_eq!(d.push(b"abc").unwrap(), b"abc");
    assert!(!d.is_done());
    assert!(BodyDecoder::new(BodyFraming::Empty).is_done());
    let mut d = BodyDecoder::new(BodyFraming::Chunked);
    assert_eq!(d.push(b"3\r\nabc\r\n0\r\n\r\n").unwrap(), b"abc");
    assert!(d.is_done());
}

/// Chunk-encodes `body` with the given chunk sizes (cycled), LF or CRLF.
fn encode(body: &[u8], sizes: &[usize], crlf: bool) -> Vec<u8> {
    let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    let mut out = Vec::new();
    let mut rest = body;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].clamp(1, rest.len());
        i += 1;
        out.extend(format!("{n:x}").bytes());
        out.extend(eol);
        out.extend(&rest[..n]);
        out.extend(eol);
        rest = &rest[n..];
    }
    out.extend(b"0");
    out.extend(eol);
    out.extend(eol);
    out
}

proptest! {
    #[test]
    fn chunked_round_trip_with_random_splits(
        body in prop::collection::vec(any::<u8>(), 0..300),
        sizes in prop::collection::vec(1usize..40, 1..6),
        crlf in any::<bool>(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
    ) {
        let wire = encode(&body, &sizes, crlf);
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(wire.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut last = 0;
        for p in points {
            chunks.push(&wire[last..p]);
            last = p;
        }
        chunks.push(&wire[last..]);
        prop_assert_eq!(decode_all(&chunks), (body, true));
    }
}
