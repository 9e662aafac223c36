//! Running libmemcached's `memccapable` conformance tool against a server.
//!
//! `memccapable -h HOST -p PORT -t SECS` runs its ascii and binary checks
//! (about 5 s against memcached 1.6.18, most of it deliberate waits for
//! expiry) and ends with `All tests passed` and exit status 0. Note it
//! flushes the server.

use std::io::Read;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Overall limit for one memccapable run.
pub const MEMCCAPABLE_DEADLINE: Duration = Duration::from_secs(120);

/// Runs `memccapable` against `addr` and returns (passed, combined output).
/// `passed` means exit status 0 and "All tests passed" in the output. A run
/// that exceeds [`MEMCCAPABLE_DEADLINE`] is killed and reported as failed.
/// When memccapable cannot be started the output says why.
pub fn run_memccapable(addr: SocketAddr) -> (bool, String) {
    run_memccapable_with(addr, &[])
}

/// Like [`run_memccapable`] with extra arguments, e.g. `["-a"]` (ascii
/// only), `["-b"]` (binary only) or `["-T", "binary get"]` (one test).
pub fn run_memccapable_with(addr: SocketAddr, extra: &[&str]) -> (bool, String) {
    let port = addr.port().to_string();
    let host = addr.ip().to_string();
    let mut args = vec!["-h", &host, "-p", &port, "-t", "10"];
    args.extend_from_slice(extra);
    let child = Command::new("memccapable")
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return (false, format!("cannot start memccapable: {e}")),
    };
    let readers = [
        child.stdout.take().map(drain),
        child.stderr.take().map(drain),
    ];
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() < MEMCCAPABLE_DEADLINE => {
                // Polling a finished-or-not child; not a start-up wait.
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let mut output = String::new();
    for reader in readers.into_iter().flatten() {
        output.push_str(&reader.join().unwrap_or_default());
    }
    let passed = match status {
        Some(s) => s.success() && output.contains("All tests passed"),
        None => {
            output.push_str(&format!(
                "\nmemccapable killed after {MEMCCAPABLE_DEADLINE:?}"
            ));
            false
        }
    };
    (passed, output)
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}
