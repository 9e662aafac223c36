//! `moxi-load run` as a person sees it: a summary table on stdout, errors
//! by class with their first reason, the CSV row only when asked.

#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

use std::process::{Command, Output};

use server::settings::Settings;
use server::Server;

fn moxi_load(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moxi-load"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_refused_connection_is_reported_as_refused() {
    // Bound, then closed: nothing listens there.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let server = addr.to_string();
    let out = moxi_load(&["--server", &server, "--duration", "100ms", "--quiet"]);
    assert!(!out.status.success());
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    // The prefill's connection and the measured one.
    let row = format!("connection refused         2  connect {server}: ");
    assert!(stdout.contains(&row), "{stdout}");
    assert!(
        stdout.starts_with(&format!("target     {server}\n")),
        "{stdout}"
    );
    assert!(
        stderr.starts_with("moxi-load: 2 errors: connection refused 2 (first: connect "),
        "{stderr}"
    );
    assert!(!stderr.contains("verification"), "{stderr}");
}

#[test]
fn a_clean_run_prints_a_table_and_csv_only_when_asked() {
    let mut srv = Server::start(Settings {
        port: 0,
        listen: vec!["127.0.0.1".parse().unwrap()],
        threads: 1,
        ..Settings::default()
    })
    .unwrap();
    let server = srv.local_addrs()[0].to_string();
    let base = [
        "--server",
        &server,
        "--requests",
        "200",
        "--keys",
        "50",
        "--quiet",
    ];
    let out = moxi_load(&base);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let labels: Vec<&str> = stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(labels, ["target", "load", "requests", "latency", "errors"]);
    assert!(stdout.ends_with("errors     none\n"), "{stdout}");
    assert!(!stdout.contains("label,mode"), "{stdout}");

    let out = moxi_load(&[&base[..], &["--csv", "-"]].concat());
    let stdout = text(&out.stdout);
    assert!(out.status.success());
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("label,mode,protocol,"));
    assert!(lines[1].starts_with(&format!("{server},closed,ascii,1,")));
    srv.stop();
}
