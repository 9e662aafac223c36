//! Command-line behaviour: parsing, memcached's validation messages, exit codes.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

use std::process::Command;

use moxi::cli::{parse, parse_size, Action, Options};
use server::settings::Binding;

fn args(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

fn run_opts(s: &str) -> Options {
    match parse(&args(s)) {
        Ok(Action::Run(o)) => *o,
        other => panic!("{s}: expected Run, got {other:?}"),
    }
}

fn error(s: &str) -> String {
    match parse(&args(s)) {
        Err(e) => e.message,
        other => panic!("{s}: expected an error, got {other:?}"),
    }
}

#[test]
fn getopt_forms() {
    let o = run_opts("-p11311 -t 3 -vv -m 128 -c 10 -l 127.0.0.1 --max-item-size=2m -B binary");
    assert_eq!(o.settings.port, 11311);
    assert!(o.port_given);
    assert_eq!(o.settings.threads, 3);
    assert_eq!(o.settings.verbosity, 2);
    assert_eq!(o.settings.max_bytes, 128 << 20);
    assert_eq!(o.settings.max_conns, 10);
    assert_eq!(o.settings.item_size_max, 2 << 20);
    assert_eq!(o.settings.binding, Binding::Binary);
    assert_eq!(o.settings.listen.len(), 1);
    let o = run_opts("-p 0 -MCF -o idle_timeout=5,modern -U 0");
    assert!(o.settings.no_evict && o.settings.cas_disabled && o.settings.flush_disabled);
    assert_eq!(o.settings.idle_timeout, 5);
}

#[test]
fn memcached_validation_messages() {
    assert_eq!(
        error("-p 1 -c 0"),
        "Maximum connections must be greater than 0"
    );
    assert_eq!(
        error("-p 1 -t 0"),
        "Number of threads must be greater than 0"
    );
    assert_eq!(
        error("-p 1 -I 1000"),
        "Item max size cannot be less than 1024 bytes."
    );
    assert_eq!(
        error("-p 1 -I 40m"),
        "Cannot set item size limit higher than 1/2 of memory max."
    );
    assert_eq!(
        error("-p 1 -B http"),
        "Invalid value for binding protocol: http\n -- should be one of auto, binary, or ascii"
    );
    assert!(error("-p 1 -l 999.1.1.1").contains("failed to listen"));
    assert_eq!(
        error("-p 1 -R 0"),
        "Number of requests per event must be greater than 0"
    );
    assert_eq!(error("-p 1 -f 0.5"), "Factor must be greater than 1");
    assert_eq!(error("-p 1 -o foo=1"), "Illegal suboption \"foo=1\"");
    assert!(error("-p 1 -Q").contains("Illegal argument"));
    assert!(error("-p").contains("requires an argument"));
    assert_eq!(
        error(""),
        "ERROR: need cluster configuration. See usage (-h)."
    );
}

#[test]
fn positional_url_is_the_cluster() {
    let o = run_opts("http://127.0.0.1:8080/pools/default/bucketsStreamingConfig/default");
    assert!(o.cluster.unwrap().starts_with("http://"));
    let o = run_opts("-z 11211=a:11211,b");
    assert_eq!(o.cluster.as_deref(), Some("11211=a:11211,b"));
}

#[test]
fn sizes() {
    assert_eq!(parse_size("1k"), Some(1024));
    assert_eq!(parse_size("3m"), Some(3 << 20));
    assert_eq!(parse_size("1024"), Some(1024));
    assert_eq!(parse_size("x"), None);
}

#[test]
fn binary_exit_codes() {
    let bin = env!("CARGO_BIN_EXE_moxi");
    let out = Command::new(bin).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("need cluster configuration"));
    let out = Command::new(bin).arg("-Q").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = Command::new(bin).arg("-h").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("-p, --port"));
    let out = Command::new(bin)
        .args(["-p", "0", "-c", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}
