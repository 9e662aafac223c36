//! memcached's admin commands in the embedded server: `shutdown`,
//! `cache_memlimit`, `slabs automove|reassign`, `lru_crawler sleep|tocrawl`
//! (memcached `proto_text.c`, the `process_*_command` of each).
//!
//! The slab allocator and LRU crawler settings mean nothing for this engine
//! (no slab classes, no crawler thread): as their command-line flags, they
//! are checked as memcached checks them, answered as memcached answers, and
//! ignored.

use bytes::BytesMut;
use engine::Engine;
use protocol::meta::{self, Admin, Automove};

use crate::execute::Flow;
use crate::settings::Settings;

/// memcached's largest slab class with its default `-f 1.25`, `-n 48` and
/// `slab_chunk_max` 512 KiB, whatever `-I` (class 0 is the page pool).
const LARGEST_SLAB_CLASS: i32 = 39;

/// memcached's most `lru_crawler sleep` (microseconds).
const MAX_CRAWLER_SLEEP: u32 = 1_000_000;

/// Answers `admin` into `out`.
pub fn answer(admin: Admin, settings: &Settings, engine: &Engine, out: &mut BytesMut) -> Flow {
    let reply: &[u8] = match admin {
        Admin::Shutdown(_) if !settings.shutdown_enabled => meta::SHUTDOWN_NOT_ENABLED,
        Admin::Shutdown(None) => meta::INVALID_SHUTDOWN_MODE,
        // memcached closes the asking connection without a reply and raises
        // SIGINT (SIGUSR1 for graceful, which also ends the process); both
        // become moxi's drain-then-exit, as SIGINT does here.
        Admin::Shutdown(Some(_)) => {
            runtime::shutdown::request_stop();
            return Flow::Close;
        }
        Admin::CacheMemlimit {
            quiet: true,
            megabytes,
        } => {
            cache_memlimit(megabytes, engine);
            return Flow::Continue;
        }
        Admin::CacheMemlimit { megabytes, .. } => cache_memlimit(megabytes, engine),
        Admin::SlabsAutomove { quiet: true, .. } => return Flow::Continue,
        Admin::SlabsAutomove { arg, .. } => match arg {
            Automove::Level(0..=2) | Automove::Ratio => b"OK\r\n",
            Automove::Level(_) | Automove::BadRatio => b"ERROR\r\n",
            Automove::BadLevel => BAD_FORMAT,
        },
        Admin::SlabsReassign(None) => BAD_FORMAT,
        Admin::SlabsReassign(Some((src, dst))) => reassign(src, dst),
        Admin::CrawlerSleep(Some(us)) if us > MAX_CRAWLER_SLEEP => {
            b"CLIENT_ERROR sleep must be one second or less\r\n"
        }
        Admin::CrawlerSleep(Some(_)) | Admin::CrawlerToCrawl(Some(_)) => b"OK\r\n",
        Admin::CrawlerSleep(None) | Admin::CrawlerToCrawl(None) => BAD_FORMAT,
    };
    meta::encode_admin_reply(reply, out);
    Flow::Continue
}

const BAD_FORMAT: &[u8] = b"CLIENT_ERROR bad command line format\r\n";

/// memcached `process_memlimit_command`: the limit in megabytes, at least
/// 8, at most 10^9 (a guard against a value given in bytes).
fn cache_memlimit(megabytes: Option<u32>, engine: &Engine) -> &'static [u8] {
    match megabytes {
        None => b"ERROR\r\n",
        Some(m) if m < 8 => meta::MEMLIMIT_TOO_SMALL,
        Some(m) if m > 1_000_000_000 => meta::MEMLIMIT_NOT_BYTES,
        Some(m) => {
            engine.set_max_bytes((m as usize).saturating_mul(1024 * 1024));
            b"OK\r\n"
        }
    }
}

/// memcached `slabs_reassign`, in its order of checks; a valid pair finds
/// no spare page, which is true here: this engine has no pages at all.
fn reassign(src: i32, dst: i32) -> &'static [u8] {
    let valid = 0..=LARGEST_SLAB_CLASS;
    if src == dst {
        b"SAME src and dst class are identical\r\n"
    } else if !valid.contains(&src) || !valid.contains(&dst) {
        b"BADCLASS invalid src or dst class id\r\n"
    } else {
        b"NOSPARE source class has no spare pages\r\n"
    }
}
