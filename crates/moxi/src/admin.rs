//! The operator's HTTP endpoint (`--metrics ADDR:PORT`, off by default):
//! `GET /metrics` in Prometheus text format, `GET /healthz` (200 while the
//! process answers at all: liveness) and `GET /readyz` (200 when a config is
//! loaded and every bucket has a server up, 503 with the reasons otherwise;
//! see [`crate::ready`]).
//!
//! Deliberately tiny: one request per connection, `Connection: close`.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use runtime::listener::ConnLimit;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the endpoint reads besides the proxy's own metrics.
pub struct Sources {
    /// Client connections of the whole process.
    pub conns: Arc<ConnLimit>,
    /// The buckets `/readyz` checks.
    pub buckets: crate::ready::Buckets,
}

/// A running endpoint.
pub struct Admin {
    addr: SocketAddr,
    _thread: JoinHandle<()>,
}

impl Admin {
    /// The bound address (real port when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Binds `addr` and serves on a thread of its own.
pub fn start(addr: SocketAddr, sources: Sources) -> io::Result<Admin> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let listener = rt.block_on(TcpListener::bind(addr))?;
    let bound = listener.local_addr()?;
    let sources = Arc::new(sources);
    let thread = std::thread::Builder::new()
        .name("admin".into())
        .spawn(move || {
            rt.block_on(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(serve(stream, sources.clone()));
                }
            });
        })?;
    Ok(Admin {
        addr: bound,
        _thread: thread,
    })
}

async fn serve(mut stream: TcpStream, sources: Arc<Sources>) {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    // Read the request head, bounded.
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && !buf.windows(2).any(|w| w == b"\n\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 16 * 1024 {
            return;
        }
    }
    let line = buf.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, ctype, body) = route(method, path, &sources).await;
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    if method != "HEAD" {
        let _ = stream.write_all(body.as_bytes()).await;
    }
    let _ = stream.shutdown().await;
}

async fn route(
    method: &str,
    path: &str,
    sources: &Sources,
) -> (&'static str, &'static str, String) {
    if method != "GET" && method != "HEAD" {
        return ("405 Method Not Allowed", "text/plain", "only GET\n".into());
    }
    match path.split('?').next().unwrap_or("") {
        "/metrics" => ("200 OK", "text/plain; version=0.0.4", render(sources)),
        "/healthz" => ("200 OK", "text/plain", "alive\n".into()),
        "/readyz" => match crate::ready::check(&sources.buckets).await {
            Ok(()) => ("200 OK", "text/plain", "ready\n".into()),
            Err(why) => ("503 Service Unavailable", "text/plain", why),
        },
        _ => (
            "404 Not Found",
            "text/plain",
            "try /metrics, /healthz or /readyz\n".into(),
        ),
    }
}

/// The whole Prometheus page.
pub fn render(sources: &Sources) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(8 * 1024);
    proxy::stats::metrics::render(&mut out);
    let c = &sources.conns;
    let _ = writeln!(
        out,
        "# HELP moxi_client_connections Open client connections."
    );
    let _ = writeln!(out, "# TYPE moxi_client_connections gauge");
    let _ = writeln!(out, "moxi_client_connections {}", c.current());
    let _ = writeln!(
        out,
        "# HELP moxi_client_connections_total Client connections accepted."
    );
    let _ = writeln!(out, "# TYPE moxi_client_connections_total counter");
    let _ = writeln!(out, "moxi_client_connections_total {}", c.total());
    let _ = writeln!(
        out,
        "# HELP moxi_client_connections_rejected_total Connections refused by -c."
    );
    let _ = writeln!(out, "# TYPE moxi_client_connections_rejected_total counter");
    let _ = writeln!(
        out,
        "moxi_client_connections_rejected_total {}",
        c.rejected()
    );
    out
}
