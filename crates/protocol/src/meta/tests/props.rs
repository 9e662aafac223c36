//! Round-trip properties: a request or reply built from random parts
//! encodes to bytes that decode to it again, whole and split anywhere.

use proptest::prelude::*;

use super::*;
use crate::meta::{decode_response, encode_request, encode_response, MetaStatus};

/// Flags memcached 1.6.18 accepts, with arguments where they take one.
fn arb_flag() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "k", "f", "t", "c", "s", "v", "h", "l", "q", "u", "I", "P", "L"
        ])
        .prop_map(str::to_string),
        "O[a-z0-9]{0,31}",
        (
            proptest::sample::select(vec!["N", "T", "R"]),
            -5i32..100_000
        )
            .prop_map(|(f, n)| format!("{f}{n}")),
        (proptest::sample::select(vec!["C", "J", "D"]), any::<u64>())
            .prop_map(|(f, n)| format!("{f}{n}")),
        any::<u32>().prop_map(|n| format!("F{n}")),
    ]
}

fn arb_request() -> impl Strategy<Value = MetaRequest> {
    (
        proptest::sample::select(vec![
            MetaCommand::Get,
            MetaCommand::Set,
            MetaCommand::Delete,
            MetaCommand::Arith,
        ]),
        "[!-~]{1,40}",
        proptest::collection::vec(arb_flag(), 0..12),
        proptest::collection::vec(any::<u8>(), 0..40),
        any::<bool>(),
    )
        .prop_map(|(command, k, mut fl, value, b)| {
            // One flag per letter, as memcached requires.
            let mut seen = std::collections::HashSet::new();
            fl.retain(|f| seen.insert(f.as_bytes()[0]));
            let toks: Vec<&str> = fl.iter().map(String::as_str).collect();
            let mut req = request(command, &k, &toks, "");
            if command == MetaCommand::Set {
                req.value = Bytes::from(value);
            }
            if b {
                // A binary key sent base64-encoded.
                req.options.base64 = true;
                req.flags.push(Flag(Bytes::from_static(b"b")));
            }
            req
        })
}

fn arb_response() -> impl Strategy<Value = MetaResponse> {
    let fl = proptest::collection::vec("[!-~]{1,12}", 0..6).prop_map(|v| {
        v.iter()
            .map(|s| Flag(Bytes::copy_from_slice(s.as_bytes())))
            .collect::<Vec<_>>()
    });
    prop_oneof![
        (fl.clone(), proptest::collection::vec(any::<u8>(), 0..64)).prop_map(|(flags, d)| {
            MetaResponse::Value {
                flags,
                data: Bytes::from(d),
            }
        }),
        (
            proptest::sample::select(vec![
                MetaStatus::Stored,
                MetaStatus::Miss,
                MetaStatus::NotFound,
                MetaStatus::NotStored,
                MetaStatus::Exists
            ]),
            fl
        )
            .prop_map(|(status, flags)| MetaResponse::Status { status, flags }),
        Just(MetaResponse::Noop),
        ("[!-~]{1,20}", "[ -~]{0,40}").prop_map(|(k, i)| MetaResponse::Debug {
            key: Bytes::from(k.into_bytes()),
            info: Bytes::from(i.into_bytes()),
        }),
    ]
}

proptest! {
    #[test]
    fn requests_round_trip(req in arb_request()) {
        let mut wire = BytesMut::new();
        encode_request(&req, &mut wire).unwrap();
        let out = decode(&wire);
        prop_assert_eq!(out, vec![Ok(Decoded::Meta(req))]);
    }

    #[test]
    fn responses_round_trip(resp in arb_response()) {
        let mut wire = BytesMut::new();
        encode_response(&resp, &mut wire);
        for split in 0..=wire.len() {
            let mut buf = BytesMut::from(&wire[..split]);
            let first = decode_response(&mut buf, &Limits::default()).unwrap();
            if split < wire.len() {
                prop_assert_eq!(first, None);
                buf.extend_from_slice(&wire[split..]);
            } else {
                prop_assert_eq!(first, Some(resp.clone()));
                continue;
            }
            prop_assert_eq!(decode_response(&mut buf, &Limits::default()).unwrap(), Some(resp.clone()));
            prop_assert!(buf.is_empty());
        }
    }

    #[test]
    fn random_text_holds_the_fuzz_invariants(data in proptest::collection::vec(
        proptest::sample::select(vec![
            &b"mg "[..], b"ms ", b"md ", b"ma ", b"mn", b"me ", b"set k 0 0 2\r\n", b"k ", b"Zm9v ",
            b"b ", b"v ", b"q ", b"O1 ", b"T5 ", b"MZ ", b"2 ", b"hi", b"\r\n", b"\n", b"x", b"\0",
            b"VA 2 f0\r\n", b"HD\r\n", b"EN\r\n", b"ME k x\r\n",
        ]), 0..30)) {
        let data = data.concat();
        crate::meta::fuzz::fuzz_request_decoder(&data);
        crate::meta::fuzz::fuzz_response_decoder(&data);
    }

    #[test]
    fn random_bytes_hold_the_fuzz_invariants(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        crate::meta::fuzz::fuzz_request_decoder(&data);
        crate::meta::fuzz::fuzz_response_decoder(&data);
    }
}

#[test]
fn seed_corpus_holds_the_invariants() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz-corpus/meta");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        crate::meta::fuzz::fuzz_request_decoder(&data);
        crate::meta::fuzz::fuzz_response_decoder(&data);
        n += 1;
    }
    assert!(n >= 10, "seed corpus in {} has {n} files", dir.display());
}
