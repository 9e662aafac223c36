//! The REST config stream: splitting a streaming response body into configs
//! ([`StreamFramer`]) and turning one config body into buckets
//! ([`parse_rest_body`], moxi's `cproxy_on_config_json`).
//!
//! moxi took a config whenever a network read *ended with* `\n\n\n\n`, so a
//! delimiter split across reads, or two configs in one read, was mis-framed.
//! Here the byte stream is split on every `\n\n\n\n`, whatever the reads.

use bytes::{Buf, Bytes, BytesMut};
use serde_json::Value;

use crate::error::{StreamError, VbucketError};
use crate::vbucket::VbucketConfig;

/// The separator between streamed configs.
pub const DELIMITER: &[u8] = b"\n\n\n\n";
/// The default bound on one config.
pub const DEFAULT_MAX_CONFIG_LEN: usize = 16 << 20;

/// Splits a streamed body into configs, fed arbitrary chunks.
///
/// Each config is trimmed of ASCII whitespace; empty ones are skipped. A
/// config longer than the limit yields one [`StreamError::TooLarge`] in its
/// place and is discarded up to the next delimiter, so memory stays bounded
/// and the outcome does not depend on how the stream was chunked.
#[derive(Debug, Clone)]
pub struct StreamFramer {
    buf: BytesMut,
    /// `buf[..scanned]` holds no delimiter start.
    scanned: usize,
    /// Discarding an oversized config until the next delimiter.
    skipping: bool,
    max_len: usize,
}

impl Default for StreamFramer {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamFramer {
    /// A framer with the default 16 MiB limit.
    pub fn new() -> Self {
        Self::with_max_len(DEFAULT_MAX_CONFIG_LEN)
    }

    /// A framer refusing configs longer than `max_len` bytes.
    pub fn with_max_len(max_len: usize) -> Self {
        StreamFramer {
            buf: BytesMut::new(),
            scanned: 0,
            skipping: false,
            max_len,
        }
    }

    /// Bytes held for an incomplete config.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Feeds `chunk`; returns the configs (or oversize errors) it completed,
    /// in stream order.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Result<Bytes, StreamError>> {
        let mut out = Vec::new();
        self.buf.extend_from_slice(chunk);
        loop {
            let found = self.buf[self.scanned..]
                .windows(DELIMITER.len())
                .position(|w| w == DELIMITER);
            let Some(rel) = found else { break };
            let frame = self.buf.split_to(self.scanned + rel).freeze();
            self.buf.advance(DELIMITER.len());
            self.scanned = 0;
            if std::mem::take(&mut self.skipping) {
                continue;
            }
            if let Some(item) = self.emit(frame) {
                out.push(item);
            }
        }
        // A delimiter may still start in the last three bytes.
        self.scanned = self.buf.len().saturating_sub(DELIMITER.len() - 1);
        let over = self.buf.len() > self.max_len.saturating_add(DELIMITER.len() - 1);
        if over && !self.skipping {
            self.skipping = true;
            out.push(Err(StreamError::TooLarge { max: self.max_len }));
        }
        if self.skipping {
            self.buf.advance(self.scanned);
            self.scanned = 0;
        }
        out
    }

    /// Ends the stream: the trimmed remainder, if any (a non-streaming
    /// response is one config without a delimiter). Resets the framer.
    pub fn finish(&mut self) -> Option<Result<Bytes, StreamError>> {
        let rest = std::mem::take(&mut self.buf).freeze();
        self.scanned = 0;
        if std::mem::take(&mut self.skipping) {
            return None;
        }
        self.emit(rest)
    }

    fn emit(&self, frame: Bytes) -> Option<Result<Bytes, StreamError>> {
        if frame.len() > self.max_len {
            return Some(Err(StreamError::TooLarge { max: self.max_len }));
        }
        let start = frame.iter().position(|b| !b.is_ascii_whitespace())?;
        let end = frame.iter().rposition(|b| !b.is_ascii_whitespace())? + 1;
        Some(Ok(frame.slice(start..end)))
    }
}

/// One config event from the REST server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestUpdate {
    /// The buckets configured, the `default` bucket first.
    pub buckets: Vec<VbucketConfig>,
    /// Buckets of a `{"buckets":[...]}` body that were invalid (moxi logged
    /// them and configured the others); they count as not mentioned.
    pub rejected: Vec<(String, VbucketError)>,
}

/// Parses one config body. `{"buckets":[...]}` gives one config per bucket
/// object (named by its `name`, default `"default"`), the `default` bucket
/// first and the others in order; an empty array is a valid update with no
/// buckets. Any other body is a single bucket. Invalid JSON, or an invalid
/// single bucket, is an error.
pub fn parse_rest_body(body: &[u8]) -> Result<RestUpdate, VbucketError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| VbucketError::InvalidJson)?;
    let Some(buckets) = value.get("buckets").and_then(Value::as_array) else {
        let raw = String::from_utf8_lossy(body).trim().to_owned();
        let bucket = VbucketConfig::from_value(&value, "default", raw)?;
        return Ok(RestUpdate {
            buckets: vec![bucket],
            rejected: Vec::new(),
        });
    };
    let mut update = RestUpdate {
        buckets: Vec::new(),
        rejected: Vec::new(),
    };
    let objects = || buckets.iter().filter(|b| b.is_object());
    let defaults = objects().filter(|b| name_of(b) == "default");
    let others = objects().filter(|b| name_of(b) != "default");
    for bucket in defaults.chain(others) {
        let name = name_of(bucket);
        match VbucketConfig::from_value(bucket, name, bucket.to_string()) {
            Ok(config) => update.buckets.push(config),
            Err(e) => update.rejected.push((name.to_owned(), e)),
        }
    }
    Ok(update)
}

fn name_of(bucket: &Value) -> &str {
    bucket
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("default")
}
