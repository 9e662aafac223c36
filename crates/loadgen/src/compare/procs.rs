//! Processes under test: memcached backends, twemproxy, moxi and any other
//! proxy, each on a free 127.0.0.1 port, stopped when dropped. Also the
//! helpers around them: free ports, readiness, RSS, the file limit.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Why the comparison could not run.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A required program is not installed.
    #[error("{0} not found; install it (Debian: {1})")]
    Missing(String, String),
    /// A process did not start or did not listen in time.
    #[error("{name} did not start: {why}")]
    Start {
        /// Which process.
        name: String,
        /// What happened.
        why: String,
    },
    /// A file or socket operation failed.
    #[error("{0}: {1}")]
    Io(String, io::Error),
    /// Something else went wrong.
    #[error("{0}")]
    Other(String),
}

/// A child process listening on `port`; killed when dropped.
pub struct Proc {
    /// Name for messages.
    pub name: String,
    /// Its port on 127.0.0.1.
    pub port: u16,
    child: Child,
}

impl Proc {
    /// Spawns `cmd` (stdout and stderr to `log`) and waits until `port`
    /// accepts connections, or `patience` passes, or the process exits.
    pub fn spawn(
        name: &str,
        mut cmd: Command,
        port: u16,
        log: &Path,
        patience: Duration,
    ) -> Result<Proc, CompareError> {
        let start_err = |why: String| CompareError::Start {
            name: name.to_string(),
            why,
        };
        let out = std::fs::File::create(log)
            .map_err(|e| CompareError::Io(log.display().to_string(), e))?;
        let err = out
            .try_clone()
            .map_err(|e| CompareError::Io(log.display().to_string(), e))?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .map_err(|e| start_err(format!("{cmd:?}: {e}")))?;
        let mut p = Proc {
            name: name.to_string(),
            port,
            child,
        };
        let deadline = Instant::now() + patience;
        loop {
            if TcpStream::connect_timeout(&addr(port), Duration::from_millis(200)).is_ok() {
                return Ok(p);
            }
            if let Ok(Some(status)) = p.child.try_wait() {
                let tail = std::fs::read_to_string(log).unwrap_or_default();
                return Err(start_err(format!("exited with {status}: {}", tail.trim())));
            }
            if Instant::now() > deadline {
                return Err(start_err(format!(
                    "port {port} not listening after {patience:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        addr(self.port)
    }

    /// Resident memory now, in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid())
    }

    /// Stops it: SIGTERM, then SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(2));
    }
}

/// `127.0.0.1:port`.
pub fn addr(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// A port that was free a moment ago (bind to port 0, read, release).
pub fn free_port() -> Result<u16, CompareError> {
    TcpListener::bind(addr(0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| CompareError::Io("bind 127.0.0.1:0".into(), e))
}

/// Finds `program` on `PATH` (or checks a path that contains a slash).
pub fn which(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return p.is_file().then_some(p);
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

/// `VmRSS` of a process, KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    parse_vmrss(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// The `VmRSS:` value of a `/proc/PID/status` text, KiB.
pub fn parse_vmrss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Raises the soft limit on open files to the hard limit (children
/// inherit it); returns the new soft limit.
pub fn raise_nofile() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => {
            if setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
                hard
            } else {
                soft
            }
        }
        Ok((soft, _)) => soft,
        Err(_) => 1024,
    }
}

/// twemproxy's configuration: one pool listening on `port`, ketama over
/// md5 (twemproxy's usual memcached setup), in front of `backends`.
pub fn nutcracker_yaml(port: u16, backends: &[u16]) -> String {
    let mut y = format!(
        "bench:\n  listen: 127.0.0.1:{port}\n  hash: md5\n  distribution: ketama\n  \
         timeout: 10000\n  auto_eject_hosts: false\n  servers:\n"
    );
    for b in backends {
        y.push_str(&format!("   - 127.0.0.1:{b}:1\n"));
    }
    y
}

/// `127.0.0.1:a,127.0.0.1:b,...`: moxi's `-z` server list, also what
/// `{backend}` stands for in `--other` templates.
pub fn backend_list(backends: &[u16]) -> String {
    backends
        .iter()
        .map(|b| format!("127.0.0.1:{b}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Fills an `--other` command template: `{port}` is the port to listen on,
/// `{backend}` (or `{backends}`) the comma-separated server list.
pub fn expand_template(template: &str, port: u16, backends: &[u16]) -> String {
    let list = backend_list(backends);
    template
        .replace("{port}", &port.to_string())
        .replace("{backends}", &list)
        .replace("{backend}", &list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmrss_is_read_from_status() {
        let s = "Name:\tmoxi\nVmPeak:\t  9000 kB\nVmRSS:\t    4321 kB\nThreads: 3\n";
        assert_eq!(parse_vmrss(s), Some(4321));
        assert_eq!(parse_vmrss("Name: x\n"), None);
        assert!(rss_kib(std::process::id()).unwrap() > 0);
    }

    #[test]
    fn config_and_templates() {
        let y = nutcracker_yaml(2000, &[1, 2]);
        assert!(y.contains("listen: 127.0.0.1:2000\n"));
        assert!(y.contains("distribution: ketama") && y.contains("hash: md5"));
        assert!(y.ends_with("   - 127.0.0.1:1:1\n   - 127.0.0.1:2:1\n"));
        assert_eq!(
            expand_template("p -l {port} -s {backend}", 7, &[8, 9]),
            "p -l 7 -s 127.0.0.1:8,127.0.0.1:9"
        );
        assert!(free_port().unwrap() > 0);
        assert!(which("sh").is_some());
        assert!(which("no-such-program-here").is_none());
    }
}
