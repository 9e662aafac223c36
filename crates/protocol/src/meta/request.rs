//! Framing of a text connection where ascii and meta lines mix: a meta
//! line is parsed here (with its data block, for `ms`), every other line
//! goes to the ascii decoder.

use bytes::{Buf, Bytes, BytesMut};

use super::admin::{self, Admin};
use super::command::{self, PendingSet, Step};
use super::{Decoded, MetaCommand, MetaResponse};
use crate::ascii::line::Line;
use crate::ascii::request::{holds, swallow};
use crate::ascii::{self, CloseConnection};
use crate::model::Limits;

/// Stateful decoder of one client connection's text byte stream (classic
/// ascii and meta commands, as memcached reads them).
///
/// Use it like [`ascii::RequestDecoder`]: append what is read to a
/// `BytesMut`, call [`decode`](Self::decode) until it returns `Ok(None)`,
/// and only append to the buffer between calls.
#[derive(Debug)]
pub struct RequestDecoder {
    ascii: ascii::RequestDecoder,
    limits: Limits,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Waiting for a command line (or inside an ascii command's data block,
    /// which the ascii decoder tracks itself).
    Line,
    /// An `ms` header was read; waiting for its data block and `\r\n`
    /// (boxed: a request is large and this state is rare).
    Data(Box<PendingSet>),
    /// Discarding this many bytes of a refused `ms` data block.
    Swallow(usize),
}

impl RequestDecoder {
    /// A decoder enforcing `limits` (the ascii limits: line length, value size).
    pub fn new(limits: Limits) -> Self {
        RequestDecoder {
            ascii: ascii::RequestDecoder::new(limits),
            limits,
            state: State::Line,
        }
    }

    /// Decodes the next request from the front of `buf`, consuming its bytes.
    ///
    /// `Ok(None)`: more bytes are needed. `Err`: the connection must be
    /// closed (an over-long line, as memcached); do not call again.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, CloseConnection> {
        loop {
            match &mut self.state {
                State::Swallow(left) => {
                    if !swallow(left, buf) {
                        return Ok(None);
                    }
                    self.state = State::Line;
                }
                State::Data(pending) => {
                    if !holds(pending.len + 2, buf) {
                        return Ok(None);
                    }
                    if let State::Data(pending) = std::mem::replace(&mut self.state, State::Line) {
                        return Ok(Some(finish_data(*pending, buf)));
                    }
                }
                State::Line => {
                    // An ascii data block first; the line after it may be meta.
                    if let Some(step) = self.ascii.decode_pending(buf) {
                        return Ok(step.map(Decoded::Ascii));
                    }
                    let Some(end) = self.ascii.find_line(buf)? else {
                        return Ok(None);
                    };
                    let Some(cmd) = meta_command(&buf[..end]) else {
                        if first_token(&buf[..end]).is_some_and(admin::is_admin) {
                            // (A copy: admin lines are rare, and a line the
                            // admin parser refuses stays for the ascii decoder.)
                            let line = Line::new(Bytes::copy_from_slice(&buf[..=end]));
                            if let Some(admin) = Admin::parse(&line) {
                                buf.advance(end + 1);
                                return Ok(Some(Decoded::Admin(admin)));
                            }
                        }
                        return self.decode_ascii(buf);
                    };
                    let line = Line::new(buf.split_to(end + 1).freeze());
                    match command::parse(&line, cmd, &self.limits) {
                        Step::Done(decoded) => return Ok(Some(decoded)),
                        Step::Data(pending) => self.state = State::Data(Box::new(pending)),
                        Step::Swallow { decoded, bytes } => {
                            self.state = State::Swallow(bytes);
                            return Ok(Some(decoded));
                        }
                    }
                }
            }
        }
    }

    fn decode_ascii(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, CloseConnection> {
        Ok(self.ascii.decode(buf)?.map(Decoded::Ascii))
    }
}

/// The meta command a line (without its `\n`) starts with.
fn meta_command(line: &[u8]) -> Option<MetaCommand> {
    MetaCommand::from_name(first_token(line)?)
}

/// The first token of a line (without its `\n`), read as memcached
/// tokenizes: one `\r` dropped, cut at a NUL, split on spaces.
fn first_token(line: &[u8]) -> Option<&[u8]> {
    let line = match line.split_last() {
        Some((b'\r', rest)) if line.len() > 1 => rest,
        _ => line,
    };
    let line = line.split(|&b| b == 0).next().unwrap_or(&[]);
    line.split(|&b| b == b' ').find(|t| !t.is_empty())
}

/// Takes the data block of an `ms` (all of it is in `buf`) and checks its
/// terminator, as memcached's `complete_nread_ascii` does.
fn finish_data(pending: PendingSet, buf: &mut BytesMut) -> Decoded {
    let value = buf.split_to(pending.len).freeze();
    let terminator = buf.split_to(2);
    if &terminator[..] != b"\r\n" {
        return Decoded::Invalid(MetaResponse::client_error("bad data chunk"));
    }
    let mut req = pending.req;
    req.value = value;
    Decoded::Meta(req)
}
