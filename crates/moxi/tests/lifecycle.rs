//! Process life cycle: SIGTERM drains and exits 0, SIGHUP keeps running,
//! `-Y y` exits when stdin closes, `shutdown` with `-A` exits as SIGINT.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

fn spawn(extra: &[&str]) -> (Child, SocketAddr) {
    let port = testkit::free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut args = vec![
        "-p".to_string(),
        port.to_string(),
        "-l".into(),
        "127.0.0.1".into(),
        "-t".into(),
        "1".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let child = Command::new(env!("CARGO_BIN_EXE_moxi"))
        .args(&args)
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "moxi did not start");
        std::thread::yield_now();
    }
    (child, addr)
}

fn wait_exit(child: &mut Child) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "moxi did not exit");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn roundtrip(c: &mut TcpStream, req: &[u8], want: &[u8]) {
    c.write_all(req).unwrap();
    let mut got = vec![0; want.len()];
    c.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
}

#[test]
fn sigterm_closes_idle_clients_and_exits_zero() {
    let (mut child, addr) = spawn(&[]);
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    roundtrip(&mut c, b"set k 0 0 1\r\nv\r\n", b"STORED\r\n");
    // SIGHUP (log reopen) must not stop it.
    kill(Pid::from_raw(child.id() as i32), Signal::SIGHUP).unwrap();
    roundtrip(&mut c, b"get k\r\n", b"VALUE k 0 1\r\nv\r\nEND\r\n");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    // The idle connection is closed by the drain, well before the deadline.
    let mut buf = [0u8; 16];
    assert_eq!(c.read(&mut buf).unwrap(), 0);
    assert_eq!(wait_exit(&mut child), 0);
    assert!(
        TcpStream::connect(addr).is_err(),
        "still listening after exit"
    );
}

#[test]
fn shutdown_with_a_stops_as_sigint_does() {
    for mode in ["shutdown\r\n", "shutdown graceful\r\n"] {
        let (mut child, addr) = spawn(&["-A"]);
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        // An unknown mode is refused and the connection stays, as in memcached.
        roundtrip(
            &mut c,
            b"shutdown now\r\n",
            b"CLIENT_ERROR invalid shutdown mode\r\n",
        );
        // The asking connection is closed without a reply, then moxi exits 0.
        c.write_all(mode.as_bytes()).unwrap();
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"", "{mode:?}");
        assert_eq!(wait_exit(&mut child), 0, "{mode:?}");
    }
}

#[test]
fn shutdown_without_a_is_refused_and_keeps_running() {
    let (mut child, addr) = spawn(&[]);
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    roundtrip(
        &mut c,
        b"shutdown\r\nshutdown graceful\r\nversion\r\n",
        b"ERROR: shutdown not enabled\r\nERROR: shutdown not enabled\r\nVERSION ",
    );
    assert!(child.try_wait().unwrap().is_none(), "moxi exited");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn exits_when_stdin_closes_with_y() {
    let (mut child, _addr) = spawn(&["-Y", "y"]);
    drop(child.stdin.take());
    assert_eq!(wait_exit(&mut child), 0);
}

#[test]
fn sigterm_lets_a_request_in_flight_finish() {
    // A downstream that answers a get only after 400 ms: the SIGTERM below
    // arrives while the request is in flight.
    let mock = testkit::mock::MockServer::start(|conn| {
        while let Some(req) = conn.read_request() {
            if req.line().is_some_and(|l| l.starts_with(b"get")) {
                std::thread::sleep(Duration::from_millis(400));
                conn.send(b"VALUE k 0 5\r\nslow!\r\nEND\r\n");
            }
        }
    })
    .unwrap();
    let proxy_port = testkit::free_port();
    let proxy: SocketAddr = ([127, 0, 0, 1], proxy_port).into();
    let z = format!("{proxy_port}=127.0.0.1:{}", mock.addr().port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_moxi"))
        .args([
            "-l",
            "127.0.0.1",
            "-t",
            "1",
            "-z",
            &z,
            "-Z",
            "downstream_protocol=ascii",
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut c = loop {
        if let Ok(c) = TcpStream::connect(proxy) {
            break c;
        }
        assert!(Instant::now() < deadline, "moxi did not start");
        std::thread::yield_now();
    };
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"get k\r\n").unwrap();
    assert!(mock.wait_for(Duration::from_secs(10), |b| b
        .windows(5)
        .any(|w| w == b"get k")));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    // The reply still arrives whole, then the drained connection closes.
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got),
        "VALUE k 0 5\r\nslow!\r\nEND\r\n"
    );
    assert_eq!(wait_exit(&mut child), 0);
}
