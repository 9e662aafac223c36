//! memcached's refusals, swallows and quirks on the request side (each
//! verified on a live 1.6.18; see the module docs of `request`).

use super::requests::{arith_extras, get, r, store};
use super::*;
use crate::model::{Command, GetKind, Status, StoreMode};

fn close_reply(op: u8, status: Status) -> RequestStep {
    Err(CloseConnection {
        reply: Some((to(op), status_response(status))),
    })
}

#[test]
fn bad_magic_closes_silently_even_mid_stream() {
    let mut wire = req(opcode::NOOP, &[], &[], &[], 0);
    let mut bad = req(opcode::NOOP, &[], &[], &[], 0);
    bad[0] = RESPONSE_MAGIC;
    wire.extend_from_slice(&bad);
    let steps = decode_requests(Limits::default(), &wire);
    assert_eq!(steps[1], Err(CloseConnection { reply: None }));
}

#[test]
fn inconsistent_lengths_answer_unknown_command_and_close() {
    for (key, ext, body) in [(3, 0, 2), (3, 1, 3), (0, 8, 4)] {
        let steps = decode_requests(Limits::default(), &raw_header(opcode::SET, key, ext, body));
        assert_eq!(
            steps,
            vec![close_reply(opcode::SET, Status::UnknownCommand)]
        );
    }
}

#[test]
fn long_keys_are_invalid_and_close_before_the_key_arrives() {
    // Decided from the header alone: the key bytes are never buffered.
    let steps = decode_requests(Limits::default(), &raw_header(0x50, 251, 0, 251));
    assert_eq!(steps, vec![close_reply(0x50, Status::InvalidArguments)]);
    let ok = decode_one(&req(opcode::GETK, &[], &[b'k'; 250], &[], 0));
    assert!(matches!(ok.command, Command::Get(_)));
}

#[test]
fn wrong_shapes_are_invalid_arguments_and_close() {
    use opcode::*;
    let cases: Vec<Vec<u8>> = vec![
        req(GET, &[], &[], &[], 0),
        req(GET, &[], b"k", b"v", 0),
        req(GETQ, b"1234", b"k", &[], 0),
        req(GAT, &[], b"k", &[], 0),
        req(TOUCH, &be(&[1]), &[], &[], 0),
        req(SET, &be(&[1]), b"k", b"v", 0),
        req(ADD, &be(&[1, 2]), &[], b"v", 0),
        req(APPEND, b"1234", b"k", b"v", 0),
        req(PREPENDQ, &[], &[], b"v", 0),
        req(DELETE, &[], b"k", b"v", 0),
        req(INCREMENT, &[0; 16], b"k", &[], 0),
        req(DECREMENTQ, &arith_extras(0), b"k", b"v", 0),
        req(FLUSH, &[0; 8], &[], &[], 0),
        req(FLUSHQ, &[], b"k", &[], 0),
        req(NOOP, &[], &[], b"x", 0),
        req(VERSION, &[], b"k", &[], 0),
        req(QUIT, b"1", &[], &[], 0),
        req(STAT, b"1234", &[], &[], 0),
        req(SASL_LIST_MECHS, &[], b"PLAIN", &[], 0),
        req(SASL_AUTH, &[], &[], b"data", 0),
        req(SASL_STEP, b"1", b"P", &[], 0),
    ];
    for frame in cases {
        let steps = decode_requests(Limits::default(), &frame);
        assert_eq!(
            steps,
            vec![close_reply(frame[1], Status::InvalidArguments)],
            "{frame:02x?}"
        );
    }
}

#[test]
fn unknown_opcode_answers_and_over_swallows_like_memcached() {
    let unknown = Ok(Decoded::Invalid(Some((
        to(0x50),
        status_response(Status::UnknownCommand),
    ))));
    let noop = Ok(Decoded::Request(r(Command::Noop, false)));
    // memcached discards body_len bytes *after* the key: 3 more than the frame.
    let mut wire = req(0x50, &[], b"abc", &[], 0);
    wire.extend_from_slice(b"XYZ");
    wire.extend_from_slice(&req(opcode::NOOP, &[], &[], &[], 0));
    assert_eq!(
        decode_requests(Limits::default(), &wire),
        vec![unknown.clone(), noop.clone()]
    );
    let mut wire = req(0x50, b"12", &[], b"v", 0);
    wire.extend_from_slice(b"XY");
    wire.extend_from_slice(&req(opcode::NOOP, &[], &[], &[], 0));
    assert_eq!(
        decode_requests(Limits::default(), &wire),
        vec![unknown.clone(), noop.clone()]
    );
    // A huge declared body is discarded as it arrives, never buffered.
    let mut dec = RequestDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&raw_header(opcode::SELECT_BUCKET, 0, 0, u32::MAX)[..]);
    assert!(matches!(
        dec.decode(&mut buf),
        Ok(Some(Decoded::Invalid(Some(_))))
    ));
    assert_eq!(dec.pending_swallow(), u64::from(u32::MAX));
    buf.extend_from_slice(&[0; 1000]);
    assert_eq!(dec.decode(&mut buf), Ok(None));
    assert!(buf.is_empty());
}

#[test]
fn stat_and_touch_leave_extra_body_for_the_next_frame() {
    let noop = req(opcode::NOOP, &[], &[], &[], 0);
    let stat = req(opcode::STAT, &[], b"reset", &noop, 0);
    let touch = req(opcode::TOUCH, &be(&[1]), b"nope", &noop, 0);
    for (frame, first) in [
        (stat, Command::Stats { group: b("reset") }),
        (
            touch,
            Command::Touch {
                key: Key::from("nope"),
                exptime: 1,
            },
        ),
    ] {
        let want = vec![
            Ok(Decoded::Request(r(first, false))),
            Ok(Decoded::Request(r(Command::Noop, false))),
        ];
        assert_eq!(decode_requests(Limits::default(), &frame), want);
    }
}

#[test]
fn too_large_values_are_swallowed_unbuffered() {
    let limits = Limits::default().with_max_value_len(8);
    let mut wire = req(opcode::SETQ, &be(&[3, 4]), b"k", b"123456789", 0);
    wire.extend_from_slice(&req(opcode::APPEND, &[], b"k", b"12345678", 0));
    wire.extend_from_slice(&req(opcode::GET, &[], b"k", &[], 0));
    let steps = decode_requests(limits, &wire);
    let set = r(store(StoreMode::Set, 3, 4, "", 0), true);
    assert_eq!(steps[0], Ok(Decoded::TooLarge(set.clone())));
    assert_eq!(
        steps[1],
        Ok(Decoded::Request(r(
            store(StoreMode::Append, 0, 0, "12345678", 0),
            false
        )))
    );
    assert_eq!(
        steps[2],
        Ok(Decoded::Request(r(get(GetKind::Get, "k", 0, false), false)))
    );
    assert_eq!(ReplyTo::of(&set).opcode, opcode::SETQ);
    // The value is not buffered: with only the header, extras and key in,
    // the request is already out.
    let mut dec = RequestDecoder::new(limits);
    let mut buf = BytesMut::from(&wire[..24 + 8 + 1]);
    assert_eq!(dec.decode(&mut buf), Ok(Some(Decoded::TooLarge(set))));
    assert_eq!(dec.pending_swallow(), 9);
}

#[test]
fn too_large_sasl_data_is_out_of_memory() {
    let limits = Limits::default().with_max_value_len(2);
    let steps = decode_requests(limits, &req(opcode::SASL_AUTH, &[], b"PLAIN", b"\0u\0p", 0));
    let want = Decoded::Invalid(Some((
        to(opcode::SASL_AUTH),
        status_response(Status::OutOfMemory),
    )));
    assert_eq!(steps, vec![Ok(want)]);
}
