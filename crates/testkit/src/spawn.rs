//! Spawning servers under test: free ports, tool discovery, child processes
//! that are killed on drop, and a real memcached.
//!
//! Start-up is awaited by retrying `connect` with a short backoff up to a
//! deadline, never by a fixed sleep. A child that exits before it accepts
//! connections is reported together with what it wrote to stderr.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long [`ChildServer::spawn`] waits for the server to accept connections.
pub const STARTUP_DEADLINE: Duration = Duration::from_secs(10);

/// Arguments the corpus is recorded with: 64 MiB of memory, no UDP, two
/// worker threads, 1 MiB item size limit (`-I 1m`, the default made explicit).
pub const CORPUS_MEMCACHED_ARGS: &[&str] = &["-m", "64", "-U", "0", "-t", "2", "-I", "1m"];

/// Environment variables that turn a missing tool into a test failure.
const STRICT_ENV: &[&str] = &["CI", "MOXI_REQUIRE_TOOLS"];

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
///
/// Binds port 0, reads the port the kernel chose and releases it. Another
/// process may take it before the caller binds it; [`Memcached::start`]
/// retries on such a race.
pub fn free_port() -> u16 {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0 to find a free port");
    listener
        .local_addr()
        .expect("local address of a bound listener")
        .port()
}

/// Waits (up to [`STARTUP_DEADLINE`]) until `addr` accepts TCP
/// connections, retrying `connect` with a short backoff.
pub fn wait_accepting(addr: SocketAddr) -> io::Result<()> {
    let start = Instant::now();
    let mut backoff = Duration::from_millis(1);
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Ok(_) => return Ok(()),
            Err(e) if start.elapsed() >= STARTUP_DEADLINE => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{addr} not accepting after {STARTUP_DEADLINE:?}: {e}"),
                ))
            }
            Err(_) => {
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_millis(50));
            }
        }
    }
}

/// Full path of an executable named `name` found on `PATH`, if any.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// True when an executable named `name` is on `PATH`.
pub fn tool_available(name: &str) -> bool {
    find_tool(name).is_some()
}

/// Checks that a test's external tool is installed.
///
/// Returns true when `name` is on `PATH`. When it is missing and `CI` or
/// `MOXI_REQUIRE_TOOLS` is set to a non-empty value, panics (in CI a
/// missing tool is a failure). Otherwise prints
/// `SKIPPED: <test> needs <tool> (apt-get install <package>)` to stderr and
/// returns false, so the test can `return` early:
///
/// ```no_run
/// if !testkit::require_tool("memcached") {
///     return;
/// }
/// ```
pub fn require_tool(name: &str) -> bool {
    if tool_available(name) {
        return true;
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_owned();
    let hint = format!("apt-get install {}", apt_package(name));
    if strict_mode() {
        panic!("{test} needs {name}, which is not on PATH ({hint}); CI or MOXI_REQUIRE_TOOLS is set, so this is a failure");
    }
    eprintln!("SKIPPED: {test} needs {name} ({hint})");
    false
}

/// Checks that something a test needs beyond one tool on `PATH` (a
/// client library, an interpreter's module) is there: `found` is `Ok`, or
/// `Err(why)`. Like [`require_tool`], a missing piece fails the test when
/// `CI` or `MOXI_REQUIRE_TOOLS` is set; otherwise this prints
/// `SKIPPED: <what>: <why>` to stderr and returns false.
pub fn require(what: &str, found: Result<(), String>) -> bool {
    let Err(why) = found else {
        return true;
    };
    if strict_mode() {
        panic!("{what}: {why}; CI or MOXI_REQUIRE_TOOLS is set, so this is a failure");
    }
    eprintln!("SKIPPED: {what}: {why}");
    false
}

/// The Debian package that ships a tool, for the skip message.
fn apt_package(tool: &str) -> &str {
    match tool {
        "memccapable" | "memcat" | "memcp" | "memstat" => "libmemcached-tools",
        "promtool" => "prometheus",
        other => other,
    }
}

fn strict_mode() -> bool {
    strict_with(|var| std::env::var_os(var))
}

/// True when any of [`STRICT_ENV`] is set to a non-empty value.
fn strict_with(lookup: impl Fn(&str) -> Option<OsString>) -> bool {
    STRICT_ENV
        .iter()
        .any(|var| lookup(var).is_some_and(|v| !v.is_empty()))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// A server process listening on a known address; killed and reaped on drop.
///
/// Its stderr goes to a log file in the temp directory. The file is removed on
/// drop unless the thread is panicking, in which case its path is printed so
/// the log survives a failed test.
#[derive(Debug)]
pub struct ChildServer {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    program: OsString,
    args: Vec<OsString>,
}

impl ChildServer {
    /// Spawns `program args...` and waits (up to [`STARTUP_DEADLINE`]) until
    /// `addr` accepts TCP connections. The caller puts `addr` into `args`
    /// (e.g. `-p PORT -l 127.0.0.1`); this function only waits on it.
    ///
    /// Fails if the program cannot be started, exits early, or does not
    /// accept connections in time; the error text includes its stderr.
    pub fn spawn<I, S>(program: impl AsRef<OsStr>, args: I, addr: SocketAddr) -> io::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let log = log_path(addr.port());
        let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let program = program.as_ref().to_owned();
        let child = start_child(&program, &args, &log)?;
        let mut server = ChildServer {
            child,
            addr,
            log,
            program,
            args,
        };
        server.wait_ready(STARTUP_DEADLINE)?;
        Ok(server)
    }

    /// Kills the process (SIGKILL) and reaps it; the address stops
    /// accepting connections.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the same program with the same arguments again (after
    /// [`ChildServer::kill`], or if it died) and waits until it accepts
    /// connections on the same address.
    pub fn restart(&mut self) -> io::Result<()> {
        self.kill();
        self.child = start_child(&self.program, &self.args, &self.log)?;
        self.wait_ready(STARTUP_DEADLINE)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether this child holds a TCP socket listening on `port`. A port
    /// that was free when picked may be taken by a neighbour test's server
    /// before the child binds it: the child then exits, but a connect to the
    /// port (the readiness check) is answered by the neighbour.
    pub fn listens_on(&self, port: u16) -> bool {
        listens_on(self.pid(), port)
    }

    /// Path of the file collecting the child's stderr.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// What the child wrote to stderr so far (lossy UTF-8).
    pub fn stderr_text(&self) -> String {
        std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// True while the child has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn wait_ready(&mut self, deadline: Duration) -> io::Result<()> {
        let start = Instant::now();
        let mut backoff = Duration::from_millis(1);
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "server exited with {status} before accepting connections on {}; stderr:\n{}",
                    self.addr,
                    self.stderr_text()
                )));
            }
            match TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)) {
                Ok(_) => return Ok(()),
                Err(e) if start.elapsed() >= deadline => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "server not accepting on {} after {deadline:?} ({e}); stderr:\n{}",
                            self.addr,
                            self.stderr_text()
                        ),
                    ))
                }
                Err(_) => {
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_millis(50));
                }
            }
        }
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("server log kept at {}", self.log.display());
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

fn start_child(program: &OsStr, args: &[OsString], log: &Path) -> io::Result<Child> {
    let stderr = File::create(log)?;
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| {
            let _ = std::fs::remove_file(log);
            io::Error::new(e.kind(), format!("cannot start {program:?}: {e}"))
        })
}

fn log_path(port: u16) -> PathBuf {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("testkit-{}-{port}-{seq}.log", std::process::id()))
}

/// A real memcached on 127.0.0.1 and a free port; killed on drop.
#[derive(Debug)]
pub struct Memcached {
    server: ChildServer,
}

impl Memcached {
    /// Starts `memcached` (found on `PATH`) with `-l 127.0.0.1 -p <free port>`
    /// plus `extra_args` (e.g. `["-m", "64", "-U", "0", "-t", "2"]`). Adds
    /// `-u root` when running as root, which memcached otherwise refuses.
    /// Retries with another port if the chosen one was taken meanwhile.
    pub fn start(extra_args: &[&str]) -> io::Result<Self> {
        let program = find_tool("memcached")
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "memcached is not on PATH"))?;
        let mut last_err = None;
        for _ in 0..3 {
            let port = free_port();
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let mut args: Vec<String> = vec!["-l".into(), "127.0.0.1".into()];
            args.extend(["-p".into(), port.to_string()]);
            if running_as_root() {
                args.extend(["-u".into(), "root".into()]);
            }
            args.extend(extra_args.iter().map(|a| (*a).to_owned()));
            match ChildServer::spawn(&program, &args, addr) {
                Ok(server) => return Ok(Memcached { server }),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("memcached did not start")))
    }

    /// Starts memcached with [`CORPUS_MEMCACHED_ARGS`], the settings the
    /// conversation corpus is written for.
    pub fn start_for_corpus() -> io::Result<Self> {
        Self::start(CORPUS_MEMCACHED_ARGS)
    }

    /// The address memcached listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The underlying child process.
    pub fn server(&mut self) -> &mut ChildServer {
        &mut self.server
    }

    /// Kills memcached (SIGKILL); its port stops answering.
    pub fn stop(&mut self) {
        self.server.kill();
    }

    /// Starts memcached again on the same port (empty cache) and waits
    /// until it accepts connections.
    pub fn restart(&mut self) -> io::Result<()> {
        self.server.restart()
    }
}

/// True when the effective user id is 0 (read from `/proc/self/status`).
fn running_as_root() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .is_some_and(|euid| euid == "0")
}

/// Whether process `pid` holds a TCP socket listening on `port`: the
/// socket's inode (`/proc/net/tcp`, `/proc/net/tcp6`, state `0A`) is among
/// the process's open files (`/proc/PID/fd`).
pub fn listens_on(pid: u32, port: u16) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    let inodes: std::collections::HashSet<String> = fds
        .filter_map(Result::ok)
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_string(),
            )
        })
        .collect();
    let want = format!("{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        text.lines().skip(1).any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = fields.get(1).and_then(|a| a.rsplit(':').next());
            fields.len() > 9
                && local_port == Some(want.as_str())
                && fields[3] == "0A"
                && inodes.contains(fields[9])
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_listens_on_its_own_port_only() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let addr = listener.local_addr().expect("local address");
        let port = addr.port();
        let me = std::process::id();
        assert!(listens_on(me, port));
        // A socket connected to the port is not a listening one.
        let _client = std::net::TcpStream::connect(addr).expect("connect");
        drop(listener);
        assert!(!listens_on(me, port));
        assert!(!listens_on(u32::MAX, port));
    }

    #[test]
    fn free_port_is_bindable() {
        let port = free_port();
        assert_ne!(port, 0);
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("port should be free");
    }

    #[test]
    fn finds_sh_but_not_nonsense() {
        assert!(tool_available("sh"));
        assert!(!tool_available("no-such-tool-testkit-xyz"));
    }

    #[test]
    fn strictness_follows_ci_and_moxi_require_tools() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |var: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == var)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        assert!(!strict_with(env(&[])));
        assert!(!strict_with(env(&[("CI", "")])));
        assert!(strict_with(env(&[("CI", "true")])));
        assert!(strict_with(env(&[("MOXI_REQUIRE_TOOLS", "1")])));
        assert_eq!(apt_package("memccapable"), "libmemcached-tools");
    }

    #[test]
    fn early_exit_is_reported_with_stderr() {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        let err = ChildServer::spawn("sh", ["-c", "echo boom >&2; exit 3"], addr)
            .expect_err("sh exits without listening");
        let text = err.to_string();
        assert!(text.contains("boom"), "{text}");
    }

    #[test]
    fn memcached_starts_and_stops() {
        if !require_tool("memcached") {
            return;
        }
        let mut mc = Memcached::start(&["-U", "0"]).expect("memcached starts");
        TcpStream::connect(mc.addr()).expect("connect");
        assert!(mc.server().is_running());
        mc.stop();
        assert!(TcpStream::connect(mc.addr()).is_err(), "stopped");
        mc.restart().expect("restarts on the same port");
        TcpStream::connect(mc.addr()).expect("connect after restart");
        let pid = mc.server().pid();
        drop(mc);
        // Reaped on drop: the pid is gone (or reused by something else).
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        assert!(
            !comm.starts_with("memcached"),
            "memcached {pid} still there"
        );
    }
}
