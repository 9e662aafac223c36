//! The 24-byte header and raw packet framing shared by requests and responses
//! (protocol_binary.h; all integers big-endian).
//!
//! ```text
//!  0 magic | 1 opcode | 2-3 key length | 4 extras length | 5 data type
//!  6-7 vbucket (request) / status (response) | 8-11 total body length
//!  12-15 opaque | 16-23 cas | body = extras, key, value
//! ```

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::HEADER_LEN;

/// A decoded packet header, as on the wire (lengths are those declared).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Header {
    /// [`super::REQUEST_MAGIC`] or [`super::RESPONSE_MAGIC`].
    pub magic: u8,
    /// See [`super::opcode`].
    pub opcode: u8,
    /// Key length.
    pub key_len: u16,
    /// Extras length.
    pub extras_len: u8,
    /// Data type (always 0, raw bytes, for memcached).
    pub data_type: u8,
    /// vBucket id in a request, status in a response.
    pub vbucket_or_status: u16,
    /// Extras + key + value length.
    pub body_len: u32,
    /// Echoed verbatim from request to response.
    pub opaque: u32,
    /// CAS unique.
    pub cas: u64,
}

impl Header {
    /// Reads a header from the first [`HEADER_LEN`] bytes of `buf`, without
    /// consuming anything; `None` if fewer bytes are present.
    pub fn peek(buf: &[u8]) -> Option<Header> {
        let mut b = buf.get(..HEADER_LEN)?;
        Some(Header {
            magic: b.get_u8(),
            opcode: b.get_u8(),
            key_len: b.get_u16(),
            extras_len: b.get_u8(),
            data_type: b.get_u8(),
            vbucket_or_status: b.get_u16(),
            body_len: b.get_u32(),
            opaque: b.get_u32(),
            cas: b.get_u64(),
        })
    }

    /// Appends the 24 header bytes to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        let mut h = [0u8; HEADER_LEN];
        h[0] = self.magic;
        h[1] = self.opcode;
        h[2..4].copy_from_slice(&self.key_len.to_be_bytes());
        h[4] = self.extras_len;
        h[5] = self.data_type;
        h[6..8].copy_from_slice(&self.vbucket_or_status.to_be_bytes());
        h[8..12].copy_from_slice(&self.body_len.to_be_bytes());
        h[12..16].copy_from_slice(&self.opaque.to_be_bytes());
        h[16..24].copy_from_slice(&self.cas.to_be_bytes());
        out.extend_from_slice(&h);
    }

    /// Declared extras + key length, as `usize`.
    pub(crate) fn ext_key_len(&self) -> usize {
        usize::from(self.extras_len) + usize::from(self.key_len)
    }

    /// Declared body length, as `usize` (saturating on 16-bit targets).
    pub(crate) fn body(&self) -> usize {
        usize::try_from(self.body_len).unwrap_or(usize::MAX)
    }
}

/// A raw frame: header plus zero-copy slices of its body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Packet {
    /// The header as received (or to be written; lengths are recomputed).
    pub header: Header,
    /// Extras.
    pub extras: Bytes,
    /// Key.
    pub key: Bytes,
    /// Value.
    pub value: Bytes,
}

/// A frame the framing layer cannot accept. The stream is out of sync (or the
/// peer abusive) for every variant except [`FrameError::Malformed`] and
/// [`FrameError::UnknownStatus`], whose frame has been consumed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The first byte is not the expected magic.
    #[error("bad magic {found:#04x} (expected {expected:#04x})")]
    BadMagic {
        /// Magic wanted.
        expected: u8,
        /// Byte found.
        found: u8,
    },
    /// The declared body exceeds the limit; nothing was buffered for it.
    #[error("body of {body_len} bytes exceeds the limit of {max}")]
    BodyTooLarge {
        /// Declared body length.
        body_len: u32,
        /// The limit.
        max: usize,
    },
    /// Key plus extras are longer than the whole body.
    #[error("key ({key_len}) + extras ({extras_len}) exceed the body ({body_len})")]
    BadLengths {
        /// Declared key length.
        key_len: u16,
        /// Declared extras length.
        extras_len: u8,
        /// Declared body length.
        body_len: u32,
    },
    /// A response status code memcached does not define.
    #[error("unknown status {status:#06x} for opcode {opcode:#04x}")]
    UnknownStatus {
        /// The opcode.
        opcode: u8,
        /// The status.
        status: u16,
    },
    /// A response whose shape does not fit its opcode (e.g. an INCREMENT
    /// success without an 8-byte value).
    #[error("malformed reply to opcode {opcode:#04x}: {what}")]
    Malformed {
        /// The opcode.
        opcode: u8,
        /// What was wrong.
        what: &'static str,
    },
}

/// Decodes one whole frame with the given magic, slicing (not copying) its
/// parts out of `buf`. `Ok(None)` means more bytes are needed; the lengths
/// are checked against `max_body_len` as soon as the header is in, before
/// any room is reserved for the body.
pub fn decode_packet(
    buf: &mut BytesMut,
    magic: u8,
    max_body_len: usize,
) -> Result<Option<Packet>, FrameError> {
    let Some(header) = Header::peek(buf) else {
        return Ok(None);
    };
    if header.magic != magic {
        return Err(FrameError::BadMagic {
            expected: magic,
            found: header.magic,
        });
    }
    let body = header.body();
    if body > max_body_len {
        return Err(FrameError::BodyTooLarge {
            body_len: header.body_len,
            max: max_body_len,
        });
    }
    if header.ext_key_len() > body {
        return Err(FrameError::BadLengths {
            key_len: header.key_len,
            extras_len: header.extras_len,
            body_len: header.body_len,
        });
    }
    let total = HEADER_LEN + body;
    if buf.len() < total {
        // Limit-checked above: reserving the rest of this frame is bounded.
        buf.reserve(total - buf.len());
        return Ok(None);
    }
    buf.advance(HEADER_LEN);
    let mut frame = buf.split_to(body);
    let extras = frame.split_to(usize::from(header.extras_len)).freeze();
    let key = frame.split_to(usize::from(header.key_len)).freeze();
    Ok(Some(Packet {
        header,
        extras,
        key,
        value: frame.freeze(),
    }))
}

/// Appends `p` to `out`; key, extras and body lengths are recomputed from
/// the parts. Parts longer than their length field allows (extras over 255
/// bytes, a key over 64 KiB, a body over 4 GiB) are cut to fit, so the frame
/// written is always well-formed.
pub fn encode_packet(p: &Packet, out: &mut BytesMut) {
    let fields = Fields {
        magic: p.header.magic,
        opcode: p.header.opcode,
        data_type: p.header.data_type,
        vbucket_or_status: p.header.vbucket_or_status,
        opaque: p.header.opaque,
        cas: p.header.cas,
    };
    write_frame(out, fields, &p.extras, &p.key, &p.value);
}

/// The header fields that are not lengths.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fields {
    pub magic: u8,
    pub opcode: u8,
    pub data_type: u8,
    pub vbucket_or_status: u16,
    pub opaque: u32,
    pub cas: u64,
}

/// Writes a header with lengths taken from the parts, then the parts (cut
/// to what the length fields can declare).
pub(crate) fn write_frame(out: &mut BytesMut, f: Fields, extras: &[u8], key: &[u8], value: &[u8]) {
    let extras = &extras[..extras.len().min(usize::from(u8::MAX))];
    let key = &key[..key.len().min(usize::from(u16::MAX))];
    let room = usize::try_from(u32::MAX).unwrap_or(usize::MAX) - extras.len() - key.len();
    let value = &value[..value.len().min(room)];
    let body = extras.len() + key.len() + value.len();
    let header = Header {
        magic: f.magic,
        opcode: f.opcode,
        key_len: u16::try_from(key.len()).unwrap_or(u16::MAX),
        extras_len: u8::try_from(extras.len()).unwrap_or(u8::MAX),
        data_type: f.data_type,
        vbucket_or_status: f.vbucket_or_status,
        body_len: u32::try_from(body).unwrap_or(u32::MAX),
        opaque: f.opaque,
        cas: f.cas,
    };
    out.reserve(HEADER_LEN + body);
    header.encode(out);
    out.put_slice(extras);
    out.put_slice(key);
    out.put_slice(value);
}
