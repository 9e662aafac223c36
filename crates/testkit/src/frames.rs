//! A tiny binary-protocol frame builder and response parser, written for the
//! test kit alone so tests do not trust the codec they test.
//!
//! Layout (protocol_binary.h, "Packet structure"): a 24-byte header —
//! magic, opcode, key length (u16), extras length (u8), data type (u8),
//! vbucket (requests) or status (responses) (u16), total body length (u32),
//! opaque (u32), CAS (u64), all big-endian — then extras, key, value.

/// Request magic byte.
pub const REQUEST_MAGIC: u8 = 0x80;
/// Response magic byte.
pub const RESPONSE_MAGIC: u8 = 0x81;
/// Size of every binary header.
pub const HEADER_LEN: usize = 24;

/// Opcode names accepted by the corpus DSL, with their codes.
pub const OPCODES: &[(&str, u8)] = &[
    ("get", 0x00),
    ("set", 0x01),
    ("add", 0x02),
    ("replace", 0x03),
    ("delete", 0x04),
    ("incr", 0x05),
    ("decr", 0x06),
    ("quit", 0x07),
    ("flush", 0x08),
    ("getq", 0x09),
    ("noop", 0x0a),
    ("version", 0x0b),
    ("getk", 0x0c),
    ("getkq", 0x0d),
    ("append", 0x0e),
    ("prepend", 0x0f),
    ("stat", 0x10),
    ("setq", 0x11),
    ("addq", 0x12),
    ("replaceq", 0x13),
    ("deleteq", 0x14),
    ("incrq", 0x15),
    ("decrq", 0x16),
    ("quitq", 0x17),
    ("flushq", 0x18),
    ("appendq", 0x19),
    ("prependq", 0x1a),
    ("verbosity", 0x1b),
    ("touch", 0x1c),
    ("gat", 0x1d),
    ("gatq", 0x1e),
    ("sasl_list_mechs", 0x20),
    ("sasl_auth", 0x21),
    ("sasl_step", 0x22),
    ("gatk", 0x23),
    ("gatkq", 0x24),
];

/// Response status names used when describing frames.
pub const STATUSES: &[(u16, &str)] = &[
    (0x0000, "ok"),
    (0x0001, "key_not_found"),
    (0x0002, "key_exists"),
    (0x0003, "too_large"),
    (0x0004, "invalid_arguments"),
    (0x0005, "not_stored"),
    (0x0006, "non_numeric"),
    (0x0007, "not_my_vbucket"),
    (0x0020, "auth_error"),
    (0x0021, "auth_continue"),
    (0x0081, "unknown_command"),
    (0x0082, "out_of_memory"),
];

/// The code of a named opcode.
pub fn opcode_by_name(name: &str) -> Option<u8> {
    OPCODES.iter().find(|(n, _)| *n == name).map(|&(_, c)| c)
}

/// The name of an opcode, if it has one.
pub fn opcode_name(code: u8) -> Option<&'static str> {
    OPCODES.iter().find(|&&(_, c)| c == code).map(|&(n, _)| n)
}

/// The name of a response status, if known.
pub fn status_name(status: u16) -> Option<&'static str> {
    STATUSES
        .iter()
        .find(|&&(s, _)| s == status)
        .map(|&(_, n)| n)
}

/// A request frame to encode. Length fields are computed from the parts
/// unless overridden (to build malformed frames).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestFrame {
    /// Magic byte; `None` means [`REQUEST_MAGIC`].
    pub magic: Option<u8>,
    /// Opcode.
    pub opcode: u8,
    /// Data type byte (always 0 in practice).
    pub datatype: u8,
    /// vBucket id.
    pub vbucket: u16,
    /// Opaque, echoed in the response.
    pub opaque: u32,
    /// CAS.
    pub cas: u64,
    /// Extras bytes.
    pub extras: Vec<u8>,
    /// Key bytes.
    pub key: Vec<u8>,
    /// Value bytes.
    pub value: Vec<u8>,
    /// Overrides the key length field.
    pub keylen: Option<u16>,
    /// Overrides the extras length field.
    pub extlen: Option<u8>,
    /// Overrides the total body length field.
    pub bodylen: Option<u32>,
}

impl RequestFrame {
    /// A well-formed request with the given opcode and nothing else.
    pub fn new(opcode: u8) -> Self {
        RequestFrame {
            opcode,
            ..Self::default()
        }
    }

    /// Appends the encoded frame to `out`. Lengths that do not fit their
    /// field are truncated (only reachable through deliberate overrides).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let body = self.extras.len() + self.key.len() + self.value.len();
        out.push(self.magic.unwrap_or(REQUEST_MAGIC));
        out.push(self.opcode);
        let keylen = self.keylen.unwrap_or(self.key.len() as u16);
        out.extend_from_slice(&keylen.to_be_bytes());
        out.push(self.extlen.unwrap_or(self.extras.len() as u8));
        out.push(self.datatype);
        out.extend_from_slice(&self.vbucket.to_be_bytes());
        out.extend_from_slice(&self.bodylen.unwrap_or(body as u32).to_be_bytes());
        out.extend_from_slice(&self.opaque.to_be_bytes());
        out.extend_from_slice(&self.cas.to_be_bytes());
        out.extend_from_slice(&self.extras);
        out.extend_from_slice(&self.key);
        out.extend_from_slice(&self.value);
    }

    /// The encoded frame.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.value.len() + self.key.len());
        self.encode_into(&mut out);
        out
    }
}

/// A response frame sliced out of a transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseFrame<'a> {
    /// Magic byte (0x81 for a well-formed response).
    pub magic: u8,
    /// Opcode answered.
    pub opcode: u8,
    /// Data type byte.
    pub datatype: u8,
    /// Status.
    pub status: u16,
    /// Opaque echoed from the request.
    pub opaque: u32,
    /// CAS.
    pub cas: u64,
    /// Extras.
    pub extras: &'a [u8],
    /// Key.
    pub key: &'a [u8],
    /// Value.
    pub value: &'a [u8],
}

/// Parses one response frame at the start of `buf`.
///
/// Returns the frame and its total length, or `None` when `buf` does not
/// start with a complete, self-consistent response (wrong magic, truncated,
/// or key+extras longer than the body).
pub fn parse_response(buf: &[u8]) -> Option<(ResponseFrame<'_>, usize)> {
    let header = buf.get(..HEADER_LEN)?;
    if header[0] != RESPONSE_MAGIC {
        return None;
    }
    let keylen = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let extlen = usize::from(header[4]);
    let bodylen = u32::from_be_bytes([header[8], header[9], header[10], header[11]]) as usize;
    if keylen + extlen > bodylen {
        return None;
    }
    let body = buf.get(HEADER_LEN..HEADER_LEN + bodylen)?;
    let frame = ResponseFrame {
        magic: header[0],
        opcode: header[1],
        datatype: header[5],
        status: u16::from_be_bytes([header[6], header[7]]),
        opaque: u32::from_be_bytes([header[12], header[13], header[14], header[15]]),
        cas: u64::from_be_bytes(header[16..24].try_into().ok()?),
        extras: &body[..extlen],
        key: &body[extlen..extlen + keylen],
        value: &body[extlen + keylen..],
    };
    Some((frame, HEADER_LEN + bodylen))
}

/// A response frame that owns its parts (what test clients keep).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Opcode answered.
    pub opcode: u8,
    /// Status.
    pub status: u16,
    /// Opaque echoed from the request.
    pub opaque: u32,
    /// CAS.
    pub cas: u64,
    /// Extras.
    pub extras: Vec<u8>,
    /// Key.
    pub key: Vec<u8>,
    /// Value.
    pub value: Vec<u8>,
}

impl ResponseFrame<'_> {
    /// The frame with owned parts.
    pub fn to_frame(&self) -> Frame {
        Frame {
            opcode: self.opcode,
            status: self.status,
            opaque: self.opaque,
            cas: self.cas,
            extras: self.extras.to_vec(),
            key: self.key.to_vec(),
            value: self.value.to_vec(),
        }
    }

    /// Encodes the frame (lengths recomputed from its parts).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(self.magic);
        out.push(self.opcode);
        out.extend_from_slice(&(self.key.len() as u16).to_be_bytes());
        out.push(self.extras.len() as u8);
        out.push(self.datatype);
        out.extend_from_slice(&self.status.to_be_bytes());
        let body = self.extras.len() + self.key.len() + self.value.len();
        out.extend_from_slice(&(body as u32).to_be_bytes());
        out.extend_from_slice(&self.opaque.to_be_bytes());
        out.extend_from_slice(&self.cas.to_be_bytes());
        out.extend_from_slice(self.extras);
        out.extend_from_slice(self.key);
        out.extend_from_slice(self.value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_a_set_request() {
        let mut f = RequestFrame::new(0x01);
        f.key = b"foo".to_vec();
        f.extras = vec![0, 0, 0, 5, 0, 0, 0, 0];
        f.value = b"bar".to_vec();
        f.opaque = 7;
        let bytes = f.to_bytes();
        assert_eq!(&bytes[..4], &[0x80, 0x01, 0x00, 0x03]);
        assert_eq!(bytes[4], 8);
        assert_eq!(&bytes[8..12], &14u32.to_be_bytes());
        assert_eq!(&bytes[12..16], &7u32.to_be_bytes());
        assert_eq!(&bytes[24..], b"\0\0\0\x05\0\0\0\0foobar");
    }

    #[test]
    fn overrides_lengths() {
        let mut f = RequestFrame::new(0x0a);
        f.bodylen = Some(3);
        f.magic = Some(0x42);
        let bytes = f.to_bytes();
        assert_eq!(bytes[0], 0x42);
        assert_eq!(&bytes[8..12], &3u32.to_be_bytes());
        assert_eq!(bytes.len(), HEADER_LEN);
    }

    #[test]
    fn parses_and_reencodes_a_response() {
        let mut wire = vec![0x81, 0x0c, 0, 1, 4, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 9];
        wire.extend_from_slice(&42u64.to_be_bytes());
        wire.extend_from_slice(b"\0\0\0\x01kx");
        let (frame, used) = parse_response(&wire).expect("complete frame");
        assert_eq!(used, wire.len());
        assert_eq!(frame.key, b"k");
        assert_eq!(frame.value, b"x");
        assert_eq!(frame.cas, 42);
        let mut again = Vec::new();
        frame.encode_into(&mut again);
        assert_eq!(again, wire);
        assert!(parse_response(&wire[..29]).is_none());
    }

    #[test]
    fn names_round_trip() {
        for &(name, code) in OPCODES {
            assert_eq!(opcode_by_name(name), Some(code));
            assert_eq!(opcode_name(code), Some(name));
        }
        assert_eq!(status_name(0x81), Some("unknown_command"));
    }
}
