//! The REST config stream under fuzzing: HTTP head, body decoding, config
//! framing and JSON, fed as the fetcher feeds them.

use bytes::Bytes;

use crate::error::{HttpError, StreamError, VbucketError};
use crate::http::{BodyDecoder, BodyFraming, ChunkedDecoder, ResponseHead};
use crate::rest::{parse_rest_body, RestUpdate, StreamFramer, DELIMITER};

/// A small head limit, so the too-large path is reachable.
const HEAD_MAX: usize = 512;
/// A small config limit, for the same reason.
const CONFIG_MAX: usize = 256;

/// Feeds `data` as the bytes of one HTTP response to a config stream: heads
/// (1xx skipped), the body decoder its framing calls for, the `\n\n\n\n`
/// framer, then [`parse_rest_body`] on each config.
///
/// Invariants: the events (heads, configs, errors, end of body) are the same
/// whether `data` arrives whole, in small pieces or in two halves; buffering
/// stays within the head and config limits; configs are non-empty, trimmed,
/// within the limit and free of the delimiter; configs joined by the
/// delimiter frame back to themselves; and `data` sent as a chunked body cut
/// at sizes taken from `data` itself decodes back to `data`, however it is
/// fed.
pub fn fuzz_rest_stream(data: &[u8]) {
    let whole = feed(&[data]);
    let piece = 1 + usize::from(data.first().copied().unwrap_or(0) % 7);
    let pieces: Vec<&[u8]> = data.chunks(piece).collect();
    assert_eq!(feed(&pieces), whole, "outcome depends on reads");
    let (a, b) = data.split_at(data.len() / 2);
    assert_eq!(feed(&[a, b]), whole, "outcome depends on reads");
    let configs: Vec<Bytes> = whole
        .iter()
        .filter_map(|e| match e {
            Event::Config(Ok(c)) => Some(c.clone()),
            _ => None,
        })
        .collect();
    for config in &configs {
        assert!(
            !config.is_empty() && config.len() <= CONFIG_MAX,
            "{config:?}"
        );
        assert!(!config[0].is_ascii_whitespace(), "untrimmed {config:?}");
        assert!(
            !config[config.len() - 1].is_ascii_whitespace(),
            "untrimmed {config:?}"
        );
        assert!(!contains(config, DELIMITER), "delimiter inside {config:?}");
    }
    check_reframing(&configs);
    check_chunked_round_trip(data);
}

/// One observable step of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    /// A response head and how its body is framed.
    Head(u16, BodyFraming),
    /// A framed config, or an oversize notice.
    Config(Result<Bytes, StreamError>),
    /// What the config means.
    Update(Result<RestUpdate, VbucketError>),
    /// The response is broken; nothing more is read.
    Http(HttpError),
    /// The body ended by its own framing.
    BodyDone,
    /// The stream closed before the body ended.
    Truncated,
}

/// The fetcher's state while a response comes in.
struct Fetch {
    head: Vec<u8>,
    body: Option<BodyDecoder>,
    framer: StreamFramer,
    events: Vec<Event>,
    stopped: bool,
}

fn feed(chunks: &[&[u8]]) -> Vec<Event> {
    let mut fetch = Fetch {
        head: Vec::new(),
        body: None,
        framer: StreamFramer::with_max_len(CONFIG_MAX),
        events: Vec::new(),
        stopped: false,
    };
    for chunk in chunks {
        fetch.push(chunk);
    }
    fetch.finish()
}

impl Fetch {
    fn push(&mut self, chunk: &[u8]) {
        if self.stopped {
            return;
        }
        let input = match &self.body {
            Some(_) => chunk.to_vec(),
            None => match self.read_head(chunk) {
                Some(rest) => rest,
                None => return,
            },
        };
        let Some(body) = &mut self.body else { return };
        let mut data = Vec::new();
        let pushed = body.push_into(&input, &mut data);
        let done = body.is_done();
        self.frame(&data);
        if let Err(e) = pushed {
            self.stop(Event::Http(e));
        } else if done {
            self.stop(Event::BodyDone);
        }
    }

    /// Buffers head bytes; once a final head is complete, sets the body
    /// decoder and returns the bytes after the head.
    fn read_head(&mut self, chunk: &[u8]) -> Option<Vec<u8>> {
        self.head.extend_from_slice(chunk);
        loop {
            match ResponseHead::parse(&self.head, HEAD_MAX) {
                Ok(None) => {
                    assert!(self.head.len() <= HEAD_MAX, "unbounded head buffering");
                    return None;
                }
                Err(e) => {
                    self.stop(Event::Http(e));
                    return None;
                }
                Ok(Some((head, used))) => {
                    assert!(used > 0 && used <= self.head.len(), "head used {used}");
                    self.head.drain(..used);
                    self.events.push(Event::Head(head.status, head.body));
                    if !head.is_informational() {
                        self.body = Some(BodyDecoder::new(head.body));
                        return Some(std::mem::take(&mut self.head));
                    }
                }
            }
        }
    }

    fn frame(&mut self, data: &[u8]) {
        for config in self.framer.push(data) {
            self.config(config);
        }
        let bound = CONFIG_MAX + DELIMITER.len() - 1;
        assert!(
            self.framer.buffered() <= bound,
            "unbounded config buffering"
        );
    }

    fn config(&mut self, config: Result<Bytes, StreamError>) {
        if let Ok(body) = &config {
            self.events.push(Event::Update(parse_rest_body(body)));
        }
        self.events.push(Event::Config(config));
    }

    fn stop(&mut self, event: Event) {
        self.stopped = true;
        let ended = matches!(event, Event::BodyDone);
        self.events.push(event);
        if ended {
            if let Some(config) = self.framer.finish() {
                self.config(config);
            }
        }
    }

    /// The connection closed.
    fn finish(mut self) -> Vec<Event> {
        match &self.body {
            Some(BodyDecoder::UntilClose) if !self.stopped => {
                if let Some(config) = self.framer.finish() {
                    self.config(config);
                }
            }
            Some(_) if !self.stopped => self.events.push(Event::Truncated),
            _ => {}
        }
        self.events
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Framed configs, joined again by the delimiter, frame to themselves.
fn check_reframing(configs: &[Bytes]) {
    let joined = configs.join(DELIMITER);
    let mut framer = StreamFramer::with_max_len(CONFIG_MAX);
    let mut again: Vec<_> = framer.push(&joined);
    again.extend(framer.finish());
    let want: Vec<Result<Bytes, StreamError>> = configs.iter().cloned().map(Ok).collect();
    assert_eq!(again, want, "configs do not frame back to themselves");
}

/// `data` chunk-encoded (chunk sizes and extensions taken from `data`)
/// decodes back to `data`, whole and byte by byte.
fn check_chunked_round_trip(data: &[u8]) {
    let mut wire = Vec::new();
    let mut rest = data;
    let mut seed = data.iter().copied().cycle();
    while !rest.is_empty() {
        let size = (1 + usize::from(seed.next().unwrap_or(0))).min(rest.len());
        let ext = if size % 3 == 0 { ";ext=1" } else { "" };
        wire.extend_from_slice(format!("{size:X}{ext}\r\n").as_bytes());
        wire.extend_from_slice(&rest[..size]);
        wire.extend_from_slice(b"\r\n");
        rest = &rest[size..];
    }
    wire.extend_from_slice(b"0\r\nX-Trailer: 1\r\n\r\nafter the body");
    for piece in [wire.len().max(1), 1] {
        let mut decoder = ChunkedDecoder::new();
        let mut body = Vec::new();
        for chunk in wire.chunks(piece) {
            match decoder.push(chunk) {
                Ok(bytes) => body.extend(bytes),
                Err(e) => panic!("own chunked encoding {wire:?} refused: {e}"),
            }
        }
        assert!(decoder.is_done(), "chunked body not done");
        assert_eq!(body, data, "chunked round trip");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_corpus() {
        super::super::run_corpus("rest_stream", 8, fuzz_rest_stream);
    }
}
