//! The minimal HTTP/1.1 client side the REST config fetcher needs, sans-io:
//! URLs, the GET request bytes, the response head, and body decoding
//! (RFC 9112: chunked, Content-Length, or until close). The async side only
//! moves bytes. No redirects (moxi's libcurl did not follow them either),
//! no TLS.

use crate::error::HttpError;

mod body;

pub use body::{BodyDecoder, ChunkedDecoder};

/// An `http://[user:pass@]host[:port][/path]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    raw: String,
    host: String,
    port: u16,
    path: String,
    userinfo: Option<(String, String)>,
}

impl HttpUrl {
    /// Parses an `http://` URL; the path defaults to `/`.
    pub fn parse(url: &str) -> Result<Self, HttpError> {
        let bad = || HttpError::BadUrl(url.to_owned());
        let rest = url.strip_prefix("http://").ok_or_else(bad)?;
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => {
                let (user, pass) = u.split_once(':').unwrap_or((u, ""));
                (Some((user.to_owned(), pass.to_owned())), h)
            }
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport).ok_or_else(bad)?;
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        Ok(HttpUrl {
            raw: url.to_owned(),
            host: host.to_owned(),
            port,
            path,
            userinfo,
        })
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The host to connect to (brackets kept for IPv6 literals).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port (80 by default).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Path and query, starting with `/`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `user:pass@` from the URL, if present.
    pub fn userinfo(&self) -> Option<(&str, &str)> {
        self.userinfo
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// The `Host:` header value: `host`, or `host:port` off port 80.
    pub fn host_header(&self) -> String {
        if self.port == 80 {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The bytes of a GET request for this URL, with HTTP Basic auth when
    /// `credentials` is given (else from the URL's userinfo).
    pub fn get_request(&self, credentials: Option<(&str, &str)>) -> Vec<u8> {
        let mut req = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: moxi\r\nAccept: */*\r\n",
            self.path,
            self.host_header()
        );
        if let Some((user, pass)) = credentials.or_else(|| self.userinfo()) {
            let token = base64(format!("{user}:{pass}").as_bytes());
            req.push_str(&format!("Authorization: Basic {token}\r\n"));
        }
        req.push_str("\r\n");
        req.into_bytes()
    }
}

impl std::fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.raw)
    }
}

/// `host[:port]` or `[v6]:port`; the port must be 1..=65535 (default 80).
fn split_host_port(s: &str) -> Option<(&str, u16)> {
    let (host, port) = if s.starts_with('[') {
        let end = s.find(']')? + 1;
        let port = match &s[end..] {
            "" => None,
            rest => Some(rest.strip_prefix(':')?),
        };
        let inner = &s[1..end - 1];
        let ok = !inner.is_empty()
            && inner
                .chars()
                .all(|c| c.is_ascii_hexdigit() || ":.".contains(c));
        (ok.then_some(&s[..end])?, port)
    } else {
        let (host, port) = match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        };
        let ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
        (ok.then_some(host)?, port)
    };
    let port = match port {
        None => 80,
        Some(p) => p.parse::<u16>().ok().filter(|&p| p > 0)?,
    };
    Some((host, port))
}

/// Standard base64 with padding (RFC 4648), for the Basic auth header.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for group in input.chunks(3) {
        let b = [
            group[0],
            *group.get(1).unwrap_or(&0),
            *group.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= group.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body (1xx, 204, 304).
    Empty,
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// `Content-Length: n`.
    Length(u64),
    /// Until the server closes the connection.
    UntilClose,
}

/// A parsed status line and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status code, e.g. 200 or 401.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// Header names and values in order, values trimmed.
    pub headers: Vec<(String, String)>,
    /// How the body is delimited.
    pub body: BodyFraming,
}

/// The default limit for a response head.
pub const MAX_HEAD_LEN: usize = 64 * 1024;

impl ResponseHead {
    /// Parses a response head at the start of `buf`. `Ok(None)`: more bytes
    /// needed. `Ok(Some((head, n)))`: the body starts at `buf[n..]`. Lines
    /// may end in CRLF or a bare LF.
    pub fn parse(buf: &[u8], max_len: usize) -> Result<Option<(ResponseHead, usize)>, HttpError> {
        let Some(end) = head_end(buf) else {
            return if buf.len() > max_len {
                Err(HttpError::HeadTooLarge(max_len))
            } else {
                Ok(None)
            };
        };
        if end > max_len {
            return Err(HttpError::HeadTooLarge(max_len));
        }
        let text = std::str::from_utf8(&buf[..end]).map_err(|_| HttpError::BadHeader)?;
        let mut lines = text.lines().map(|l| l.strip_suffix('\r').unwrap_or(l));
        let (status, reason) = parse_status_line(lines.next().unwrap_or(""))?;
        let mut headers = Vec::new();
        for line in lines.filter(|l| !l.is_empty()) {
            let (name, value) = line.split_once(':').ok_or(HttpError::BadHeader)?;
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(HttpError::BadHeader);
            }
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
        let mut head = ResponseHead {
            status,
            reason,
            headers,
            body: BodyFraming::UntilClose,
        };
        head.body = head.framing()?;
        Ok(Some((head, end)))
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// 1xx: skip this head and parse the next one.
    pub fn is_informational(&self) -> bool {
        (100..200).contains(&self.status)
    }

    fn framing(&self) -> Result<BodyFraming, HttpError> {
        if self.is_informational() || self.status == 204 || self.status == 304 {
            return Ok(BodyFraming::Empty);
        }
        let named = |n: &'static str| {
            self.headers
                .iter()
                .filter(move |(h, _)| h.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.as_str())
        };
        let last_coding = named("transfer-encoding")
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|c| !c.is_empty());
        if let Some(coding) = last_coding {
            return Ok(if coding.eq_ignore_ascii_case("chunked") {
                BodyFraming::Chunked
            } else {
                BodyFraming::UntilClose
            });
        }
        let mut length = None;
        for v in named("content-length").flat_map(|v| v.split(',')) {
            let n = v
                .trim()
                .parse::<u64>()
                .map_err(|_| HttpError::BadContentLength)?;
            if length.is_some_and(|l| l != n) {
                return Err(HttpError::BadContentLength);
            }
            length = Some(n);
        }
        Ok(length.map_or(BodyFraming::UntilClose, BodyFraming::Length))
    }
}

/// The offset just past the blank line ending the head.
fn head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(nl) = buf[i..].iter().position(|&b| b == b'\n') {
        let next = i + nl + 1;
        match buf.get(next) {
            Some(b'\n') => return Some(next + 1),
            Some(b'\r') if buf.get(next + 1) == Some(&b'\n') => return Some(next + 2),
            _ => i = next,
        }
    }
    None
}

fn parse_status_line(line: &str) -> Result<(u16, String), HttpError> {
    let rest = line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| line.strip_prefix("HTTP/1.0 "))
        .ok_or(HttpError::BadStatusLine)?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HttpError::BadStatusLine);
    }
    let status = code.parse().map_err(|_| HttpError::BadStatusLine)?;
    Ok((status, reason.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_rfc4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn head_ends() {
        assert_eq!(head_end(b"a\r\n\r\nb"), Some(5));
        assert_eq!(head_end(b"a\n\nb"), Some(3));
        assert_eq!(head_end(b"a\r\nb\r\n"), None);
        assert_eq!(head_end(b"\n\r"), None);
    }
}
