//! memcached's admin commands that a server answers itself, read on a text
//! connection beside ascii and meta (memcached `process_shutdown_command`).
//! Only the embedded server reads them; the ascii decoder still answers
//! them `ERROR` for the proxy.

use bytes::BufMut;

use crate::ascii::line::Line;

/// An admin command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admin {
    /// `shutdown [graceful]`; `None` for any other argument (memcached's
    /// `CLIENT_ERROR invalid shutdown mode`, given only when `-A` is on).
    Shutdown(Option<ShutdownMode>),
}

/// How `shutdown` stops the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownMode {
    /// `shutdown`: memcached raises SIGINT.
    Now,
    /// `shutdown graceful`: memcached raises SIGUSR1.
    Graceful,
}

/// memcached's reply to `shutdown` without `-A`.
pub const SHUTDOWN_NOT_ENABLED: &[u8] = b"ERROR: shutdown not enabled\r\n";

/// memcached's reply to `shutdown` with an unknown mode (with `-A`).
pub const INVALID_SHUTDOWN_MODE: &[u8] = b"CLIENT_ERROR invalid shutdown mode\r\n";

impl Admin {
    /// The admin command `line` (without its `\n`) holds, if any.
    pub(super) fn parse(line: &Line) -> Option<Admin> {
        match line.tok(0) {
            b"shutdown" => Some(Admin::Shutdown(match (line.ntokens(), line.tok(1)) {
                (2, _) => Some(ShutdownMode::Now),
                (3, b"graceful") => Some(ShutdownMode::Graceful),
                _ => None,
            })),
            _ => None,
        }
    }
}

/// Writes one of this module's fixed replies.
pub fn encode_admin_reply(reply: &[u8], out: &mut bytes::BytesMut) {
    out.put_slice(reply);
}

/// True when the line (without its `\n`) starts with an admin command
/// word, read as memcached tokenizes.
pub(super) fn is_admin(first_token: &[u8]) -> bool {
    first_token == b"shutdown"
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn parse(s: &str) -> Option<Admin> {
        Admin::parse(&Line::new(Bytes::copy_from_slice(s.as_bytes())))
    }

    #[test]
    fn shutdown_modes_as_memcached_reads_them() {
        assert_eq!(
            parse("shutdown\r\n"),
            Some(Admin::Shutdown(Some(ShutdownMode::Now)))
        );
        assert_eq!(
            parse("shutdown  \n"),
            Some(Admin::Shutdown(Some(ShutdownMode::Now)))
        );
        assert_eq!(
            parse("shutdown graceful\r\n"),
            Some(Admin::Shutdown(Some(ShutdownMode::Graceful)))
        );
        assert_eq!(parse("shutdown foo\r\n"), Some(Admin::Shutdown(None)));
        assert_eq!(
            parse("shutdown graceful x\r\n"),
            Some(Admin::Shutdown(None))
        );
        assert_eq!(parse("shutdowns\r\n"), None);
    }

    #[test]
    fn the_text_decoder_hands_shutdown_over_in_any_split() {
        use crate::meta::{Decoded, RequestDecoder};
        use crate::model::Limits;
        let input = b"shutdown foo\r\nversion\r\n";
        for cut in 0..=input.len() {
            let mut d = RequestDecoder::new(Limits::default());
            let mut buf = bytes::BytesMut::new();
            let mut got = Vec::new();
            for part in [&input[..cut], &input[cut..]] {
                buf.extend_from_slice(part);
                while let Ok(Some(x)) = d.decode(&mut buf) {
                    got.push(x);
                }
            }
            assert_eq!(got.len(), 2, "cut at {cut}: {got:?}");
            assert_eq!(got[0], Decoded::Admin(Admin::Shutdown(None)));
            assert!(matches!(got[1], Decoded::Ascii(_)));
        }
    }
}
