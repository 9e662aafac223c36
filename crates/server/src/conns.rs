//! `stats conns`: the open client connections, as memcached's
//! `process_stats_conns` lists them (`<fd>:addr`, `<fd>:listen_addr`,
//! `<fd>:state`, `<fd>:secs_since_last_cmd`), in fd order.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use protocol::Response;

/// One client connection as `stats conns` shows it.
#[derive(Debug)]
struct Entry {
    addr: SocketAddr,
    listen: SocketAddr,
    /// Unix seconds of the last read that carried commands.
    last_cmd: AtomicU64,
    /// False until the first command (memcached's `conn_new_cmd`).
    active: AtomicBool,
}

/// Every open client connection of the embedded server, by fd.
#[derive(Debug, Default)]
pub struct ConnTable {
    entries: Mutex<BTreeMap<i32, Arc<Entry>>>,
}

/// A connection's place in the table; dropping it removes the connection.
#[derive(Debug)]
pub struct Registration {
    table: Arc<ConnTable>,
    fd: i32,
    entry: Arc<Entry>,
}

impl ConnTable {
    /// Adds the connection on `fd`.
    pub fn register(
        self: &Arc<Self>,
        fd: i32,
        addr: SocketAddr,
        listen: SocketAddr,
        now: u64,
    ) -> Registration {
        let entry = Arc::new(Entry {
            addr,
            listen,
            last_cmd: AtomicU64::new(now),
            active: AtomicBool::new(false),
        });
        self.lock().insert(fd, entry.clone());
        Registration {
            table: self.clone(),
            fd,
            entry,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<i32, Arc<Entry>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The `STAT` lines; `asking` is the fd of the connection that asks
    /// (memcached shows it in `conn_parse_cmd`).
    pub fn stats(&self, asking: i32, now: u64) -> Vec<Response> {
        let mut out = Vec::new();
        let stat = |out: &mut Vec<Response>, fd: i32, name: &str, value: String| {
            out.push(Response::Stat {
                name: Bytes::from(format!("{fd}:{name}")),
                value: Bytes::from(value),
            });
        };
        for (&fd, e) in self.lock().iter() {
            let state = if fd == asking {
                "conn_parse_cmd"
            } else if e.active.load(Ordering::Relaxed) {
                "conn_read"
            } else {
                "conn_new_cmd"
            };
            let idle = now.saturating_sub(e.last_cmd.load(Ordering::Relaxed));
            stat(&mut out, fd, "addr", text(e.addr));
            stat(&mut out, fd, "listen_addr", text(e.listen));
            stat(&mut out, fd, "state", state.to_string());
            stat(&mut out, fd, "secs_since_last_cmd", idle.to_string());
        }
        out
    }
}

/// Unix seconds now (`secs_since_last_cmd` counts whole seconds).
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// memcached's `conn_to_str`: `tcp:1.2.3.4:5`, `tcp6:[::1]:5`.
fn text(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("tcp:{a}"),
        SocketAddr::V6(a) => format!("tcp6:[{}]:{}", a.ip(), a.port()),
    }
}

impl Registration {
    /// The connection's fd.
    pub fn fd(&self) -> i32 {
        self.fd
    }

    /// Records commands read at `now` (unix seconds).
    pub fn commands_at(&self, now: u64) {
        self.entry.last_cmd.store(now, Ordering::Relaxed);
        self.entry.active.store(true, Ordering::Relaxed);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.table.lock().remove(&self.fd);
    }
}
