//! Helpers of `faults.rs`: client load that checks every reply
//! ([`load`]), a storing mock downstream with scripted faults
//! ([`store_mock`]), and a guard that never leaves a memcached stopped.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod load;
pub mod store_mock;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use routing::{Locator, Server};
use testkit::ChildServer;

use crate::common;

/// moxi with `-z cluster(PORT)` and `-Z behaviors` on a free port.
/// Another test's server may take a "free" port before moxi binds it (and
/// moxi then exits): a moxi is started until one answers `version` as moxi.
pub fn moxi_on_free_port(
    cluster: impl Fn(u16) -> String,
    behaviors: &str,
) -> (ChildServer, SocketAddr) {
    for _ in 0..3 {
        let port = common::free_ports(1)[0];
        let addr = common::local(port);
        let z = cluster(port);
        let args = ["-l", "127.0.0.1", "-t", "2", "-z", &z, "-Z", behaviors];
        if let Ok(mut moxi) = ChildServer::spawn(common::MOXI, args, addr) {
            if answers_as_moxi(addr) && moxi.is_running() {
                return (moxi, addr);
            }
        }
    }
    panic!("no port for moxi after 3 tries");
}

fn answers_as_moxi(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut line = String::new();
    s.write_all(b"version\r\n").is_ok()
        && BufReader::new(s).read_line(&mut line).is_ok()
        && line.starts_with("VERSION ")
        && line.contains("moxi")
}

/// Where moxi's default distribution (`-z PORT=list`, no `-Z mcs_opts`)
/// puts each key, for a list of `127.0.0.1:PORT` servers.
pub fn placement(addrs: &[SocketAddr]) -> load::Place {
    let servers: Vec<Server> = addrs
        .iter()
        .map(|a| Server::new("127.0.0.1", a.port(), 0))
        .collect();
    let locator = Locator::moxi_ketama_weighted(&servers).unwrap();
    Arc::new(move |key: &[u8]| locator.locate(key))
}

/// A process stopped with SIGSTOP; continued (SIGCONT) when dropped, so a
/// failing test never leaves it stopped.
pub struct Stopped {
    pid: Pid,
    /// When the process was seen stopped.
    pub at: Instant,
}

impl Stopped {
    /// Sends SIGSTOP to `pid` and waits until /proc shows it stopped.
    pub fn stop(pid: u32) -> Stopped {
        let pid = Pid::from_raw(i32::try_from(pid).unwrap());
        kill(pid, Signal::SIGSTOP).unwrap();
        let mut guard = Stopped {
            pid,
            at: Instant::now(),
        };
        let start = Instant::now();
        while state(pid) != Some('T') {
            assert!(start.elapsed() < Duration::from_secs(10), "not stopped");
            std::thread::sleep(Duration::from_millis(1));
        }
        guard.at = Instant::now();
        guard
    }

    /// Sends SIGCONT; returns the moment just before it was sent (the
    /// process may answer before this call returns).
    pub fn resume(self) -> Instant {
        let at = Instant::now();
        drop(self);
        at
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = kill(self.pid, Signal::SIGCONT);
    }
}

/// The state letter of `/proc/PID/stat` (`T`: stopped).
fn state(pid: Pid) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ...": the state follows the last ')'.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}
