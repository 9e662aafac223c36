//! Well-formed meta requests, alone and mixed with ascii lines.

use super::*;
use crate::ascii;
use crate::model::{Command, Request, Store, StoreMode};

#[test]
fn mg_keeps_its_flags_in_order_and_parses_them() {
    let req = one("mg foo v f t O123 k N30 R10 T-1 q u\r\n");
    assert_eq!(req.command, MetaCommand::Get);
    assert_eq!(req.key, key("foo"));
    assert_eq!(
        req.flags,
        flags(&["v", "f", "t", "O123", "k", "N30", "R10", "T-1", "q", "u"])
    );
    let o = &req.options;
    assert!(o.value && o.quiet && o.no_bump && o.locked && !o.base64);
    assert_eq!((o.vivify, o.recache, o.ttl), (Some(30), Some(10), Some(-1)));
}

#[test]
fn ms_reads_its_data_block() {
    let req = one("ms foo 5 T0 F7 C99 MA I c\r\nhello\r\n");
    assert_eq!(req.value, Bytes::from_static(b"hello"));
    let o = &req.options;
    assert_eq!(
        (o.client_flags, o.compare_cas, o.mode, o.invalidate),
        (Some(7), Some(99), Some(b'A'), true)
    );
    assert_eq!(one("ms e 0\r\n\r\n").value, Bytes::new());
}

#[test]
fn md_ma_mn_me() {
    let md = one("md foo q I T30 C5\r\n");
    assert_eq!(
        (md.command, md.options.compare_cas),
        (MetaCommand::Delete, Some(5))
    );
    let ma = one("ma n N0 J13 D2 MD v t c\r\n");
    let o = &ma.options;
    assert_eq!(
        (o.vivify, o.initial, o.delta, o.mode),
        (Some(0), Some(13), Some(2), Some(b'D'))
    );
    // mn ignores whatever follows; me reads only `b` after the key.
    let mn = one("mn x y\r\n");
    assert_eq!(
        (mn.command, mn.key.len(), mn.flags.len()),
        (MetaCommand::Noop, 0, 0)
    );
    let me = one("me Zm9v b v\r\n");
    assert_eq!((me.key, me.options.base64), (key("foo"), true));
    assert_eq!(one("me k v\r\n").flags, Vec::new());
}

#[test]
fn base64_keys_are_decoded() {
    let req = one("mg Zm9v b k v\r\n");
    assert_eq!((req.key, req.options.base64), (key("foo"), true));
    // A 250-byte token holds at most 186 decoded bytes.
    let long = "QUFB".repeat(61);
    assert_eq!(one(&format!("mg {long}AA== b\r\n")).key.len(), 184);
}

#[test]
fn line_endings_and_spacing_follow_the_ascii_tokenizer() {
    assert_eq!(one("mg  k   v\n").flags, flags(&["v"]));
    assert_eq!(one("  mn\r\n").command, MetaCommand::Noop);
    // A NUL ends the line for parsing.
    assert_eq!(one("mg k v\0 zz\r\n").flags, flags(&["v"]));
}

#[test]
fn ascii_and_meta_lines_mix_on_one_connection() {
    let out = decode(b"set m 0 0 2\r\nhi\r\nmg m v f t\r\nms m2 2\r\nyo\r\nmn\r\nget m\r\n");
    let set = Request::new(Command::Store(Store {
        mode: StoreMode::Set,
        key: key("m"),
        flags: 0,
        exptime: 0,
        value: Bytes::from_static(b"hi"),
        cas: 0,
    }));
    assert_eq!(out.len(), 5);
    assert_eq!(out[0], Ok(Decoded::Ascii(ascii::Decoded::Request(set))));
    assert_eq!(
        out[1],
        Ok(Decoded::Meta(request(
            MetaCommand::Get,
            "m",
            &["v", "f", "t"],
            ""
        )))
    );
    assert_eq!(
        out[2],
        Ok(Decoded::Meta(request(MetaCommand::Set, "m2", &[], "yo")))
    );
    assert!(matches!(&out[3], Ok(Decoded::Meta(r)) if r.command == MetaCommand::Noop));
    assert!(matches!(
        &out[4],
        Ok(Decoded::Ascii(ascii::Decoded::Request(_)))
    ));
}

#[test]
fn an_ascii_data_block_that_looks_like_meta_stays_data() {
    let out = decode(b"set k 0 0 4\r\nmn\r\n\r\nmn\r\n");
    assert_eq!(out.len(), 2);
    assert!(
        matches!(&out[0], Ok(Decoded::Ascii(ascii::Decoded::Request(r)))
        if matches!(&r.command, Command::Store(s) if &s.value[..] == b"mn\r\n"))
    );
    // And an ms data block that looks like a command.
    assert_eq!(
        one("ms k 4\r\nmn\r\n\r\n").value,
        Bytes::from_static(b"mn\r\n")
    );
}

#[test]
fn too_large_ms_is_swallowed() {
    let limits = Limits::default().with_max_value_len(4);
    let out = decode_with(limits, b"ms k 5 T0\r\nhello\r\nmn\r\n");
    let mut big = request(MetaCommand::Set, "k", &["T0"], "");
    big.value = Bytes::new();
    assert_eq!(out[0], Ok(Decoded::TooLarge(big)));
    assert!(matches!(&out[1], Ok(Decoded::Meta(r)) if r.command == MetaCommand::Noop));
}

#[test]
fn an_over_long_meta_line_closes_like_ascii() {
    let line = format!("mg {}\r\n", "k ".repeat(1100));
    let out = decode(line.as_bytes());
    assert_eq!(out, vec![Err(CloseConnection { reply: None })]);
}

#[test]
fn a_meta_line_after_a_swallowed_ascii_set_is_meta() {
    // Found by the meta_request fuzz target: the ascii decoder read the
    // line after a swallowed data block itself when it was in the buffer.
    let limits = Limits::default().with_max_value_len(4);
    let out = decode_with(limits, b"set k 0 0 5\r\nhello\r\nmn\r\n");
    assert_eq!(out.len(), 2);
    assert!(matches!(
        &out[0],
        Ok(Decoded::Ascii(ascii::Decoded::TooLarge(_)))
    ));
    assert!(matches!(&out[1], Ok(Decoded::Meta(r)) if r.command == MetaCommand::Noop));
}
