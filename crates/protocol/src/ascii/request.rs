//! Request framing: command lines, data blocks and swallowed data blocks.
//! What a line means is decided in `command`.

use bytes::{Buf, Bytes, BytesMut};

use super::command::{self, PendingStore, Step};
use super::{CloseConnection, Decoded};
use crate::model::{Command, Limits, Request, Response};

/// Shortest line limit we apply, so the get-prefix test below always sees
/// the whole prefix (100 spaces and `gets `).
const MIN_LINE_LIMIT: usize = 128;

/// memcached lets at most this many spaces precede a long `get`.
const MAX_LEADING_SPACES: usize = 100;

/// Stateful decoder of one client connection's ascii byte stream.
///
/// The caller appends what it reads to a `BytesMut` and calls
/// [`decode`](Self::decode) until it returns `Ok(None)`. The decoder keeps
/// what it learnt between calls (a storage header waiting for its data block,
/// bytes still to swallow, how far it already searched for a newline), so the
/// caller must only append to the buffer between calls.
#[derive(Debug)]
pub struct RequestDecoder {
    limits: Limits,
    state: State,
    /// Bytes at the front of the buffer already known to hold no newline.
    scanned: usize,
}

#[derive(Debug)]
enum State {
    /// Waiting for a command line.
    Line,
    /// A storage header was read; waiting for its data block and `\r\n`.
    Data(PendingStore),
    /// Discarding this many bytes of a data block that was too large.
    Swallow(usize),
}

impl RequestDecoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        RequestDecoder {
            limits,
            state: State::Line,
            scanned: 0,
        }
    }

    /// Decodes the next request from the front of `buf`, consuming its bytes.
    ///
    /// `Ok(None)`: more bytes are needed (everything usable was consumed or
    /// remembered). `Err`: the connection must be closed; do not call again.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, CloseConnection> {
        loop {
            if let Some(step) = self.decode_pending(buf) {
                return Ok(step);
            }
            let Some(line) = self.take_line(buf)? else {
                return Ok(None);
            };
            match command::parse(line, &self.limits) {
                Step::Done(decoded) => return Ok(Some(decoded)),
                Step::Close(close) => return Err(close),
                Step::Data(pending) => self.state = State::Data(pending),
                Step::Swallow { decoded, bytes } => {
                    self.state = State::Swallow(bytes);
                    return Ok(Some(decoded));
                }
            }
        }
    }

    /// Goes on with a data block being read or swallowed, never reading a
    /// new line. `None`: the decoder is between requests (the next line is
    /// the caller's, which lets [`crate::meta::RequestDecoder`] read it);
    /// `Some(None)`: more bytes are needed; `Some(Some(_))`: a request.
    pub(crate) fn decode_pending(&mut self, buf: &mut BytesMut) -> Option<Option<Decoded>> {
        match &mut self.state {
            State::Line => None,
            State::Swallow(left) => {
                if !swallow(left, buf) {
                    return Some(None);
                }
                self.state = State::Line;
                None
            }
            State::Data(pending) => {
                if !holds(pending.len + 2, buf) {
                    return Some(None);
                }
                match std::mem::replace(&mut self.state, State::Line) {
                    State::Data(pending) => Some(Some(finish_data(pending, buf))),
                    _ => None,
                }
            }
        }
    }

    /// Splits off the next complete line (with its `\n`), enforcing the line
    /// limits on complete and incomplete lines alike.
    fn take_line(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, CloseConnection> {
        Ok(self
            .find_line(buf)?
            .map(|end| buf.split_to(end + 1).freeze()))
    }

    /// Where the next complete line's `\n` is, enforcing the line limits
    /// on complete and incomplete lines alike; the line stays in `buf`.
    /// Once a line is found the decoder forgets how far it searched, so a
    /// caller may take that line itself ([`crate::meta::RequestDecoder`]).
    pub(crate) fn find_line(&mut self, buf: &BytesMut) -> Result<Option<usize>, CloseConnection> {
        let start = self.scanned.min(buf.len());
        match memchr::memchr(b'\n', &buf[start..]) {
            Some(offset) => {
                let end = start + offset;
                self.check_length(&buf[..end])?;
                self.scanned = 0;
                Ok(Some(end))
            }
            None => {
                self.scanned = buf.len();
                self.check_length(&buf[..])?;
                Ok(None)
            }
        }
    }

    /// memcached closes a connection that sent 2048 bytes without a newline
    /// unless they start a `get`/`gets`; those we bound ourselves.
    fn check_length(&self, line: &[u8]) -> Result<(), CloseConnection> {
        let line_limit = self.limits.max_line_len.max(MIN_LINE_LIMIT);
        if line.len() <= line_limit {
            return Ok(());
        }
        if !is_multiget_prefix(line) {
            return Err(CloseConnection { reply: None });
        }
        let get_limit = self
            .limits
            .max_keys
            .saturating_mul(crate::model::MAX_KEY_LEN + 1)
            .saturating_add(MIN_LINE_LIMIT)
            .max(line_limit);
        if line.len() > get_limit {
            return Err(CloseConnection {
                reply: Some(Response::client_error("line too long")),
            });
        }
        Ok(())
    }
}

/// Discards up to `left` bytes of `buf` (a refused data block); true
/// once all of them are gone.
pub(crate) fn swallow(left: &mut usize, buf: &mut BytesMut) -> bool {
    let n = (*left).min(buf.len());
    buf.advance(n);
    *left -= n;
    *left == 0
}

/// True when `buf` holds `need` bytes (a data block and its `\r\n`);
/// otherwise reserves room for them. The caller checked the length against
/// `max_value_len` already.
pub(crate) fn holds(need: usize, buf: &mut BytesMut) -> bool {
    if buf.len() < need {
        buf.reserve(need - buf.len());
        return false;
    }
    true
}

/// True when `line` may grow beyond the line limit: `get ` or `gets ` after
/// at most 100 spaces (memcached `try_read_command_ascii`).
fn is_multiget_prefix(line: &[u8]) -> bool {
    let spaces = line.iter().take_while(|&&b| b == b' ').count();
    let rest = &line[spaces..];
    spaces <= MAX_LEADING_SPACES && (rest.starts_with(b"get ") || rest.starts_with(b"gets "))
}

/// Takes the data block of a storage command (all of it is in `buf`) and
/// checks its terminator, as memcached's `complete_nread_ascii` does.
fn finish_data(pending: PendingStore, buf: &mut BytesMut) -> Decoded {
    let value = buf.split_to(pending.len).freeze();
    let terminator = buf.split_to(2);
    if &terminator[..] != b"\r\n" {
        let reply = (!pending.quiet).then(|| Response::client_error("bad data chunk"));
        return Decoded::Invalid(reply);
    }
    let mut store = pending.store;
    store.value = value;
    Decoded::Request(Request {
        command: Command::Store(store),
        quiet: pending.quiet,
        opaque: 0,
        vbucket: 0,
    })
}
