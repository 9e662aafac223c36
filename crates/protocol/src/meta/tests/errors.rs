//! Bad meta input: each expected reply is what memcached 1.6.18 wrote for
//! the same bytes (checked with a running 1.6.18).

use super::*;

#[test]
fn missing_key_and_unknown_meta_words() {
    assert_eq!(replies("mg\r\nms\r\nmd\r\nma\r\n"), ["ERROR"; 4]);
    assert_eq!(
        replies("me\r\nms k\r\n"),
        ["CLIENT_ERROR bad command line format"; 2]
    );
    // `mx` is an ascii line (ascii answers ERROR).
    assert!(matches!(&decode(b"mx k\r\n")[..], [Ok(Decoded::Ascii(_))]));
}

#[test]
fn flag_errors_in_memcached_words() {
    assert_eq!(
        replies("mg k E1\r\nmg k v v\r\nmg k Z\r\nmg k b\r\nmg k T\r\nmg k Fx\r\nmg k Fx Tx\r\nmg k Mxx\r\nmg k Jx\r\nmg k Dx\r\nmg k \u{7f}\r\n"),
        [
            "CLIENT_ERROR invalid flag",
            "CLIENT_ERROR duplicate flag",
            "CLIENT_ERROR invalid flag",
            "CLIENT_ERROR error decoding key",
            "CLIENT_ERROR bad token in command line format",
            "CLIENT_ERROR bad command line format",
            "CLIENT_ERROR bad token in command line format",
            "CLIENT_ERROR incorrect length for M token",
            "CLIENT_ERROR invalid numeric initial value",
            "CLIENT_ERROR invalid numeric delta value",
            "CLIENT_ERROR duplicate flag",
        ]
    );
    assert_eq!(
        replies("md k x\r\nma k Mxx\r\nmd k v v\r\n"),
        ["CLIENT_ERROR invalid or duplicate flag"; 3]
    );
    assert_eq!(
        replies("ma k MX\r\n"),
        ["CLIENT_ERROR invalid mode for ma M token"]
    );
}

#[test]
fn bytes_at_127_and_above_count_as_duplicates() {
    assert_eq!(
        decode(b"mg k \x80\r\n"),
        vec![client_error("duplicate flag")]
    );
}

#[test]
fn limits_on_tokens_keys_and_opaques() {
    // 20 tokens are too many (memcached counts 21 with its terminal one).
    let (eighteen, seventeen) = ("v ".repeat(18), "v ".repeat(17));
    assert_eq!(
        replies(&format!("mg k {eighteen}\r\nms k 1 {seventeen}\r\n")),
        [
            "CLIENT_ERROR options flags are too long",
            "CLIENT_ERROR options flags too long"
        ]
    );
    // 19 tokens are fine (17 distinct flags).
    let fine = "s t c f h l u v q k O1 P L N1 R2 T3 b";
    assert_eq!(one(&format!("mg Zm9v {fine}\r\n")).flags.len(), 17);
    let long_key = "k".repeat(251);
    assert_eq!(
        replies(&format!("mg {long_key} v\r\nme {long_key}\r\n")),
        ["CLIENT_ERROR bad command line format"; 2]
    );
    assert_eq!(one(&format!("mg {} v\r\n", "k".repeat(250))).key.len(), 250);
    // md refuses a long opaque at once; mg and ma carry it to the server,
    // which acts on the flags before it, as memcached does.
    let opaque = format!("O{}", "1".repeat(32));
    assert_eq!(
        replies(&format!("md k {opaque}\r\n")),
        ["CLIENT_ERROR opaque token too long"]
    );
    for cmd in ["mg", "ma"] {
        assert!(one(&format!("{cmd} k T1 {opaque}\r\n")).options.long_opaque);
    }
    let short = one(&format!("mg k {}\r\n", &opaque[..32]));
    assert_eq!((short.flags.len(), short.options.long_opaque), (1, false));
}

#[test]
fn ms_swallows_its_data_only_after_reading_datalen() {
    // Before datalen is read the data line is parsed as a command.
    let out = decode(b"ms k abc\r\nhello\r\nms k -1\r\nhi\r\n");
    assert_eq!(out.len(), 4);
    assert_eq!(out[0], client_error("bad command line format"));
    assert!(matches!(out[1], Ok(Decoded::Ascii(_))));
    // After it, the data block goes.
    assert_eq!(
        replies("ms k 2 Zz\r\nhi\r\nms k 2 MX\r\nhi\r\nms k 0 O123456789012345678901234567890123 MZ\r\n\r\nms k 2 b\r\nhi\r\n"),
        [
            "CLIENT_ERROR invalid flag",
            "CLIENT_ERROR invalid mode for ms M token",
            "CLIENT_ERROR invalid mode for ms M token",
            "CLIENT_ERROR error decoding key",
        ]
    );
    assert_eq!(
        replies("ms k 0 O123456789012345678901234567890123\r\n\r\n"),
        ["CLIENT_ERROR opaque token too long"]
    );
}

#[test]
fn a_bad_data_chunk_eats_datalen_plus_two() {
    let out = decode(b"ms k 2\r\nhixx\r\n");
    assert_eq!(out[0], client_error("bad data chunk"));
    // The `\r\n` left over is an empty ascii line (memcached: ERROR).
    assert!(matches!(out[1], Ok(Decoded::Ascii(_))));
}
