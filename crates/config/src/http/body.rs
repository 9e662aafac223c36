//! Response body decoding: chunked transfer coding (RFC 9112 section 7.1),
//! Content-Length, or read-until-close. Fed arbitrary byte slices; bytes past
//! the end of the body are ignored.

use crate::error::HttpError;
use crate::http::BodyFraming;

/// Longest chunk-size line accepted (size, extensions, CRLF).
const MAX_SIZE_LINE: usize = 4096;
/// Most trailer bytes accepted.
const MAX_TRAILERS: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a chunk-size line; `len` bytes of it so far.
    Size { len: usize },
    /// Inside chunk data.
    Data { remaining: u64 },
    /// After chunk data: expecting CRLF (or LF); `cr` = CR seen.
    DataEnd { cr: bool },
    /// Trailer lines; `line` = bytes on the current line other than CR.
    Trailers { line: usize, total: usize },
    /// The last chunk and trailers were read.
    Done,
}

/// A chunked transfer-coding decoder. Chunk extensions and trailers are
/// skipped; bare LF line endings are tolerated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkedDecoder {
    state: State,
    size_line: Vec<u8>,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub fn new() -> Self {
        ChunkedDecoder {
            state: State::Size { len: 0 },
            size_line: Vec::new(),
        }
    }

    /// Whether the terminating zero-size chunk and trailers were read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes `input`, returning the body bytes it carried. On an error the
    /// body bytes before it are lost: see [`ChunkedDecoder::push_into`].
    pub fn push(&mut self, input: &[u8]) -> Result<Vec<u8>, HttpError> {
        let mut out = Vec::new();
        self.push_into(input, &mut out)?;
        Ok(out)
    }

    /// Decodes `input`, appending the body bytes it carried to `out`, also
    /// those that came before an error, so that what a caller sees of a
    /// broken body does not depend on how the bytes were read.
    pub fn push_into(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), HttpError> {
        let mut i = 0;
        while i < input.len() {
            if let State::Data { remaining } = self.state {
                let take = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len() - i);
                out.extend_from_slice(&input[i..i + take]);
                i += take;
                let remaining = remaining - take as u64;
                self.state = if remaining == 0 {
                    State::DataEnd { cr: false }
                } else {
                    State::Data { remaining }
                };
                continue;
            }
            if self.state == State::Done {
                break;
            }
            self.step(input[i])?;
            i += 1;
        }
        Ok(())
    }

    /// One byte of framing (anything but chunk data).
    fn step(&mut self, b: u8) -> Result<(), HttpError> {
        self.state = match self.state {
            State::Size { .. } if b == b'\n' => self.finish_size_line()?,
            State::Size { len } => {
                if len >= MAX_SIZE_LINE {
                    return Err(HttpError::BadChunkSize);
                }
                self.size_line.push(b);
                State::Size { len: len + 1 }
            }
            State::DataEnd { cr: false } if b == b'\r' => State::DataEnd { cr: true },
            State::DataEnd { .. } if b == b'\n' => State::Size { len: 0 },
            State::DataEnd { .. } => return Err(HttpError::BadChunkEnd),
            State::Trailers { line, .. } if b == b'\n' && line == 0 => State::Done,
            State::Trailers { total, .. } if total >= MAX_TRAILERS => {
                return Err(HttpError::TrailersTooLarge)
            }
            State::Trailers { total, .. } if b == b'\n' => State::Trailers {
                line: 0,
                total: total + 1,
            },
            State::Trailers { line, total } if b == b'\r' => State::Trailers {
                line,
                total: total + 1,
            },
            State::Trailers { line, total } => State::Trailers {
                line: line + 1,
                total: total + 1,
            },
            s @ (State::Data { .. } | State::Done) => s,
        };
        Ok(())
    }

    fn finish_size_line(&mut self) -> Result<State, HttpError> {
        let line = std::mem::take(&mut self.size_line);
        let line = line.strip_suffix(b"\r").unwrap_or(&line);
        let size = line.split(|&b| b == b';').next().unwrap_or_default();
        let size = size.trim_ascii();
        if size.is_empty() || size.len() > 16 || !size.iter().all(u8::is_ascii_hexdigit) {
            return Err(HttpError::BadChunkSize);
        }
        let text = std::str::from_utf8(size).map_err(|_| HttpError::BadChunkSize)?;
        let size = u64::from_str_radix(text, 16).map_err(|_| HttpError::BadChunkSize)?;
        Ok(if size == 0 {
            State::Trailers { line: 0, total: 0 }
        } else {
            State::Data { remaining: size }
        })
    }
}

/// Any response body: the decoder for a [`BodyFraming`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyDecoder {
    /// Chunked.
    Chunked(ChunkedDecoder),
    /// Content-Length: bytes still expected.
    Length(u64),
    /// Until close: never done by itself.
    UntilClose,
}

impl BodyDecoder {
    /// The decoder for `framing`.
    pub fn new(framing: BodyFraming) -> Self {
        match framing {
            BodyFraming::Empty => BodyDecoder::Length(0),
            BodyFraming::Chunked => BodyDecoder::Chunked(ChunkedDecoder::new()),
            BodyFraming::Length(n) => BodyDecoder::Length(n),
            BodyFraming::UntilClose => BodyDecoder::UntilClose,
        }
    }

    /// Decodes `input`, returning the body bytes it carried.
    pub fn push(&mut self, input: &[u8]) -> Result<Vec<u8>, HttpError> {
        let mut out = Vec::new();
        self.push_into(input, &mut out)?;
        Ok(out)
    }

    /// Decodes `input`, appending the body bytes it carried to `out`, also
    /// those before an error (see [`ChunkedDecoder::push_into`]).
    pub fn push_into(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), HttpError> {
        match self {
            BodyDecoder::Chunked(c) => return c.push_into(input, out),
            BodyDecoder::Length(remaining) => {
                let take = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                *remaining -= take as u64;
                out.extend_from_slice(&input[..take]);
            }
            BodyDecoder::UntilClose => out.extend_from_slice(input),
        }
        Ok(())
    }

    /// Whether the body is complete (the connection may be reused).
    /// [`BodyDecoder::UntilClose`] completes only at end of stream.
    pub fn is_done(&self) -> bool {
        match self {
            BodyDecoder::Chunked(c) => c.is_done(),
            BodyDecoder::Length(remaining) => *remaining == 0,
            BodyDecoder::UntilClose => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `rest_stream` fuzz target: a config followed by a broken
    /// chunk in the same read was dropped, but delivered when the broken
    /// chunk came in a later read.
    #[test]
    fn body_before_a_broken_chunk_is_kept() {
        let mut out = Vec::new();
        let err = ChunkedDecoder::new().push_into(b"3\r\nabc\r\nzz\r\n", &mut out);
        assert_eq!(
            (err, out.as_slice()),
            (Err(HttpError::BadChunkSize), &b"abc"[..])
        );
        let mut d = BodyDecoder::new(BodyFraming::Chunked);
        out.clear();
        assert_eq!(d.push_into(b"2\r\nab", &mut out), Ok(()));
        assert_eq!(d.push_into(b"X", &mut out), Err(HttpError::BadChunkEnd));
        assert_eq!(out, b"ab");
    }
}
