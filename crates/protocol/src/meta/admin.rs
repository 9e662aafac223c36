//! memcached's admin commands that a server answers itself, read on a text
//! connection beside ascii and meta (memcached `process_shutdown_command`).
//! Only the embedded server reads them; the ascii decoder still answers
//! them `ERROR` for the proxy.

use bytes::BufMut;

use crate::ascii::line::Line;
use crate::ascii::number::{safe_strtol, safe_strtoul};

/// An admin command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admin {
    /// `shutdown [graceful]`; `None` for any other argument (memcached's
    /// `CLIENT_ERROR invalid shutdown mode`, given only when `-A` is on).
    Shutdown(Option<ShutdownMode>),
    /// `cache_memlimit <megabytes> [noreply]` (memcached
    /// `process_memlimit_command`): `megabytes` is `None` when it is not a
    /// number (memcached answers `ERROR`); `quiet` when the last token is
    /// `noreply`, which silences every reply, `ERROR` included.
    CacheMemlimit {
        /// The new limit in megabytes, truncated to 32 bits as memcached does.
        megabytes: Option<u32>,
        /// `noreply` was given.
        quiet: bool,
    },
    /// `slabs automove <0|1|2>` or `slabs automove ratio <float>`.
    SlabsAutomove {
        /// What the arguments say.
        arg: Automove,
        /// `noreply` was given (it silences every reply).
        quiet: bool,
    },
    /// `slabs reassign <src> <dst>`: the classes, `None` when either is
    /// not a number (`CLIENT_ERROR bad command line format`).
    SlabsReassign(Option<(i32, i32)>),
    /// `lru_crawler sleep <usec>` (`None`: not a number).
    CrawlerSleep(Option<u32>),
    /// `lru_crawler tocrawl <n>` (`None`: not a number).
    CrawlerToCrawl(Option<u32>),
}

/// The argument of `slabs automove` (memcached `process_slabs_automove_command`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Automove {
    /// A level that parsed as a number (only 0, 1 and 2 are accepted).
    Level(u32),
    /// A level that is not a number.
    BadLevel,
    /// `ratio` followed by a number.
    Ratio,
    /// `ratio` without a number.
    BadRatio,
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
            // Any other token count is ascii's `ERROR` (memcached's WANT_TOKENS_OR).
            b"cache_memlimit" if matches!(line.ntokens(), 3 | 4) => Some(Admin::CacheMemlimit {
                megabytes: safe_strtoul(line.tok(1)),
                quiet: line.tok(line.ntokens() - 2) == b"noreply",
            }),
            b"slabs" => slabs(line),
            b"lru_crawler" if line.ntokens() == 4 => {
                let n = safe_strtoul(line.tok(2));
                match line.tok(1) {
                    b"sleep" => Some(Admin::CrawlerSleep(n)),
                    b"tocrawl" => Some(Admin::CrawlerToCrawl(n)),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// memcached's reply to `cache_memlimit` under 8 megabytes.
pub const MEMLIMIT_TOO_SMALL: &[u8] = b"MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n";

/// memcached's reply to `cache_memlimit` over 1000000000 (megabytes).
pub const MEMLIMIT_NOT_BYTES: &[u8] =
    b"MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n";

/// memcached dispatches `slabs reassign` on exactly 5 tokens (the terminal
/// one included) and `slabs automove` on at least 4; the rest is `ERROR`.
fn slabs(line: &Line) -> Option<Admin> {
    let nt = line.ntokens();
    match line.tok(1) {
        b"reassign" if nt == 5 => Some(Admin::SlabsReassign(
            safe_strtol(line.tok(2)).zip(safe_strtol(line.tok(3))),
        )),
        b"automove" if nt >= 4 => {
            let arg = if line.tok(2) == b"ratio" {
                let number = std::str::from_utf8(line.tok(3))
                    .ok()
                    .and_then(|t| t.parse::<f64>().ok());
                match nt >= 5 && number.is_some() {
                    true => Automove::Ratio,
                    false => Automove::BadRatio,
                }
            } else {
                safe_strtoul(line.tok(2)).map_or(Automove::BadLevel, Automove::Level)
            };
            Some(Admin::SlabsAutomove {
                arg,
                quiet: line.tok(nt - 2) == b"noreply",
            })
        }
        _ => None,
    }
}

/// Writes one of this module's fixed replies.
pub fn encode_admin_reply(reply: &[u8], out: &mut bytes::BytesMut) {
    out.put_slice(reply);
}

/// True when the line (without its `\n`) starts with an admin command
/// word, read as memcached tokenizes.
pub(super) fn is_admin(first_token: &[u8]) -> bool {
    matches!(
        first_token,
        b"shutdown" | b"cache_memlimit" | b"slabs" | b"lru_crawler"
    )
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
    fn cache_memlimit_as_memcached_reads_it() {
        let lim = |m, quiet| {
            Some(Admin::CacheMemlimit {
                megabytes: m,
                quiet,
            })
        };
        assert_eq!(parse("cache_memlimit 100\r\n"), lim(Some(100), false));
        assert_eq!(
            parse("cache_memlimit 100 noreply\r\n"),
            lim(Some(100), true)
        );
        assert_eq!(parse("cache_memlimit 64 x\r\n"), lim(Some(64), false));
        assert_eq!(parse("cache_memlimit noreply\r\n"), lim(None, true));
        assert_eq!(parse("cache_memlimit 0x10\r\n"), lim(None, false));
        assert_eq!(parse("cache_memlimit -1\r\n"), lim(None, false));
        assert_eq!(parse("cache_memlimit 4294967304\r\n"), lim(Some(8), false));
        assert_eq!(parse("cache_memlimit\r\n"), None);
        assert_eq!(parse("cache_memlimit 1 2 3\r\n"), None);
    }

    #[test]
    fn slabs_and_lru_crawler_as_memcached_reads_them() {
        let auto = |arg, quiet| Some(Admin::SlabsAutomove { arg, quiet });
        assert_eq!(
            parse("slabs automove 1\r\n"),
            auto(Automove::Level(1), false)
        );
        assert_eq!(
            parse("slabs automove 3 noreply\r\n"),
            auto(Automove::Level(3), true)
        );
        assert_eq!(
            parse("slabs automove -1\r\n"),
            auto(Automove::BadLevel, false)
        );
        assert_eq!(
            parse("slabs automove ratio 0.5\r\n"),
            auto(Automove::Ratio, false)
        );
        assert_eq!(
            parse("slabs automove ratio\r\n"),
            auto(Automove::BadRatio, false)
        );
        assert_eq!(parse("slabs automove\r\n"), None);
        assert_eq!(
            parse("slabs reassign 1 2\r\n"),
            Some(Admin::SlabsReassign(Some((1, 2))))
        );
        assert_eq!(
            parse("slabs reassign x 2\r\n"),
            Some(Admin::SlabsReassign(None))
        );
        assert_eq!(parse("slabs reassign 1 2 noreply\r\n"), None);
        assert_eq!(
            parse("lru_crawler sleep 99999999999999999999\r\n"),
            Some(Admin::CrawlerSleep(None))
        );
        assert_eq!(
            parse("lru_crawler tocrawl 5\r\n"),
            Some(Admin::CrawlerToCrawl(Some(5)))
        );
        assert_eq!(parse("lru_crawler crawl 5\r\n"), None);
        assert_eq!(parse("lru_crawler sleep 1 2\r\n"), None);
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
        // A line the admin parser refuses is the ascii decoder's, whole.
        let mut d = RequestDecoder::new(Limits::default());
        let mut buf = bytes::BytesMut::from(&b"cache_memlimit\r\n"[..]);
        assert!(matches!(d.decode(&mut buf), Ok(Some(Decoded::Ascii(_)))));
        assert!(buf.is_empty());
    }
}
