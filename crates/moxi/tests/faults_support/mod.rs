//! Helpers of `faults.rs`: client load that checks every reply
//! ([`load`]), a storing mock downstream with scripted faults
//! ([`store_mock`]), and a guard that never leaves a memcached stopped.
#![allow(dead_code)]

pub mod load;
pub mod store_mock;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use routing::{Locator, Server};
use testkit::ChildServer;

use crate::common;

/// moxi with `-z cluster(PORT)` and `-Z behaviors` on a free port (see
/// [`common::moxi_on_free_port`]).
pub fn moxi_on_free_port(
    cluster: impl Fn(u16) -> String,
    behaviors: &str,
) -> (ChildServer, SocketAddr) {
    common::moxi_on_free_port(|port| {
        let args = ["-l", "127.0.0.1", "-t", "2", "-z", &cluster(port)];
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.extend(["-Z".into(), behaviors.into()]);
        args
    })
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
