//! REST stream framing: delimiters anywhere across pushes, many configs per
//! push, trimming, the size bound, and random splits (proptest).
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

use bytes::Bytes;
use config::{StreamError, StreamFramer};
use proptest::prelude::*;

type Item = Result<Bytes, StreamError>;

/// Feeds `chunks`, then finishes; returns everything produced.
fn run(framer: &mut StreamFramer, chunks: &[&[u8]]) -> Vec<Item> {
    let mut out: Vec<Item> = chunks.iter().flat_map(|c| framer.push(c)).collect();
    out.extend(framer.finish());
    out
}

fn ok(items: &[&str]) -> Vec<Item> {
    items
        .iter()
        .map(|s| Ok(Bytes::copy_from_slice(s.as_bytes())))
        .collect()
}

const STREAM: &[u8] =
    b"{\"a\":1}\n\n\n\n  {\"b\":2} \r\n\n\n\n\n\n\n\n\n{\"c\":\n3}\n\n\n\n\n\ntail";

#[test]
fn one_push() {
    let got = run(&mut StreamFramer::new(), &[STREAM]);
    assert_eq!(got, ok(&["{\"a\":1}", "{\"b\":2}", "{\"c\":\n3}", "tail"]));
}

#[test]
fn split_at_every_byte_boundary() {
    let want = run(&mut StreamFramer::new(), &[STREAM]);
    for i in 0..=STREAM.len() {
        for j in i..=STREAM.len() {
            let got = run(
                &mut StreamFramer::new(),
                &[&STREAM[..i], &STREAM[i..j], &STREAM[j..]],
            );
            assert_eq!(got, want, "split at {i}, {j}");
        }
    }
    let bytes: Vec<&[u8]> = STREAM.chunks(1).collect();
    assert_eq!(run(&mut StreamFramer::new(), &bytes), want);
}

#[test]
fn finish_returns_non_streaming_body_and_resets() {
    let mut f = StreamFramer::new();
    assert!(f.push(b"  {\"whole\":true}\n").is_empty());
    assert_eq!(f.buffered(), 17);
    assert_eq!(
        f.finish(),
        Some(Ok(Bytes::from_static(b"{\"whole\":true}")))
    );
    assert_eq!(f.finish(), None);
    assert!(
        f.push(b"\n\n\n\n \n\n\n\n\n").is_empty(),
        "empty configs are skipped"
    );
    assert_eq!(f.finish(), None);
}

#[test]
fn oversized_config_is_refused_once_and_skipped() {
    let max = 8;
    let too_large = Err(StreamError::TooLarge { max });
    let stream = b"12345678\n\n\n\n123456789\n\n\n\nabcdefghijklmnopqrstuvwxyz\n\n\n\nok";
    let want = vec![
        Ok(Bytes::from_static(b"12345678")),
        too_large.clone(),
        too_large.clone(),
        Ok(Bytes::from_static(b"ok")),
    ];
    assert_eq!(run(&mut StreamFramer::with_max_len(max), &[stream]), want);
    for i in 0..=stream.len() {
        let mut f = StreamFramer::with_max_len(max);
        assert_eq!(
            run(&mut f, &[&stream[..i], &stream[i..]]),
            want,
            "split at {i}"
        );
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    let mut f = StreamFramer::with_max_len(max);
    let mut high_water = 0;
    let mut got = Vec::new();
    for b in &bytes {
        got.extend(f.push(b));
        high_water = high_water.max(f.buffered());
    }
    got.extend(f.finish());
    assert_eq!(got, want);
    assert!(high_water <= max + 3, "buffer stays bounded: {high_water}");
    let mut f = StreamFramer::with_max_len(max);
    assert_eq!(run(&mut f, &[b"123456789"]), vec![too_large]);
    assert_eq!(
        StreamError::TooLarge { max: 8 }.to_string(),
        "REST config larger than 8 bytes; discarded up to the next delimiter"
    );
}

fn config_text() -> impl Strategy<Value = String> {
    // Printable JSON-ish text with single newlines, never four in a row,
    // and not blank: exactly what one streamed config looks like.
    "[a-z{}\":,0-9]([a-z{}\":, 0-9\n]{0,40}[a-z{}\":,0-9])?"
        .prop_filter("no delimiter inside", |s| !s.contains("\n\n\n\n"))
}

proptest! {
    #[test]
    fn random_splits_yield_the_same_configs(
        configs in prop::collection::vec(config_text(), 0..8),
        padding in prop::collection::vec("[ \r\n\t]{0,3}", 8),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        trailing_delimiter in any::<bool>(),
    ) {
        let mut stream = Vec::new();
        for (i, c) in configs.iter().enumerate() {
            if i > 0 {
                stream.extend_from_slice(b"\n\n\n\n");
            }
            stream.extend_from_slice(padding[i % 8].as_bytes());
            stream.extend_from_slice(c.as_bytes());
            stream.extend_from_slice(padding[(i + 3) % 8].as_bytes());
        }
        if trailing_delimiter {
            stream.extend_from_slice(b"\n\n\n\n");
        }
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut last = 0;
        for p in points {
            chunks.push(&stream[last..p]);
            last = p;
        }
        chunks.push(&stream[last..]);
        let got = run(&mut StreamFramer::new(), &chunks);
        let want: Vec<Item> = configs
            .iter()
            .map(|c| Ok(Bytes::copy_from_slice(c.trim().as_bytes())))
            .collect();
        prop_assert_eq!(got, want);
    }
}
