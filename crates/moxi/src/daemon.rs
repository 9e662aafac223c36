//! Process life cycle flags: `-d` (daemonize), `-P` (pidfile), `-u` (drop root).
//!
//! `unsafe` is forbidden in this workspace, so `-d` does not fork: the
//! process starts a copy of itself in a new process group with stdio on
//! /dev/null, writes the pidfile with the copy's pid, and exits. The copy is
//! told by an environment variable that it is the daemon.

use std::process::{Command, Stdio};

/// Set in the environment of the daemonized copy.
pub const DAEMON_ENV: &str = "MOXI_DAEMONIZED";

/// True in the daemonized copy.
pub fn is_daemon_copy() -> bool {
    std::env::var_os(DAEMON_ENV).is_some()
}

/// Starts the daemon copy and returns its pid; the caller then exits.
pub fn spawn_daemon(pidfile: Option<&str>) -> std::io::Result<u32> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe()?;
    let child = Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(DAEMON_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()?;
    if let Some(path) = pidfile {
        std::fs::write(path, format!("{}\n", child.id()))?;
    }
    Ok(child.id())
}

/// `-u USER`: when running as root, switch to that user's uid and gid
/// (memcached does the same; as another user it is a no-op).
pub fn drop_privileges(user: &str) -> Result<(), String> {
    use nix::unistd::{setgid, setuid, Uid, User};
    if !Uid::effective().is_root() {
        return Ok(());
    }
    let u = User::from_name(user)
        .map_err(|e| format!("can't find the user {user} to switch to: {e}"))?
        .ok_or_else(|| format!("can't find the user {user} to switch to"))?;
    setgid(u.gid).map_err(|e| format!("failed to assume identity of user {user}: {e}"))?;
    setuid(u.uid).map_err(|e| format!("failed to assume identity of user {user}: {e}"))?;
    Ok(())
}
