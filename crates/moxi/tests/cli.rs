//! Command-line behaviour: parsing, memcached's validation messages, exit codes.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

use std::net::TcpListener;
use std::process::{Command, Stdio};

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
    assert_eq!(
        error("-p 1 -Q"),
        "moxi: invalid option -- 'Q' (moxi -h lists the flags)"
    );
    assert_eq!(
        error("--no-such-flag"),
        "moxi: unrecognized option '--no-such-flag' (moxi -h lists the flags)"
    );
    assert_eq!(
        error("-p"),
        "moxi: option -p requires an argument (moxi -h lists the flags)"
    );
    assert_eq!(
        error("-p 1 --metrics"),
        "moxi: option --metrics requires an argument (moxi -h lists the flags)"
    );
    assert_eq!(
        error("-p 1 --log-format xml"),
        "Invalid value for --log-format: xml (expected text or json)"
    );
    assert_eq!(
        error(""),
        "ERROR: need cluster configuration. See usage (-h)."
    );
}

#[test]
fn a_nonzero_udp_port_is_refused_with_a_clear_message() {
    for flag in ["-p 0 -U 11211", "-p 0 --udp-port=9"] {
        let msg = error(flag);
        assert!(msg.contains("UDP is not served"), "{flag}: {msg}");
        assert!(msg.contains("-U 0"), "{flag}: {msg}");
    }
    let o = run_opts("-p 0 -U 0");
    assert!(o.ignored.is_empty(), "{:?}", o.ignored);
}

#[test]
fn d_sets_the_prefix_delimiter_as_memcached() {
    assert_eq!(run_opts("-p 0 -D /x").settings.prefix_delimiter, Some(b'/'));
    assert_eq!(run_opts("-p 0").settings.prefix_delimiter, None);
    let out = Command::new(env!("CARGO_BIN_EXE_moxi"))
        .args(["-p", "0", "-U", "11211"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("UDP is not served"));
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

#[test]
fn an_unknown_flag_is_one_line_with_the_hint() {
    let out = Command::new(env!("CARGO_BIN_EXE_moxi"))
        .arg("-Q")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "moxi: invalid option -- 'Q' (moxi -h lists the flags)\n"
    );
}

/// moxi's stderr when the port a flag sets is held by someone else.
fn busy_port_error(args: &Argv) -> String {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let out = Command::new(env!("CARGO_BIN_EXE_moxi"))
        .args(["-l", "127.0.0.1", "-Y", "y"])
        .args(args(port))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The flags of a moxi run, given the port it must listen on.
type Argv = dyn Fn(u16) -> Vec<String>;

#[test]
fn a_busy_port_names_the_flag_that_sets_it() {
    let cases: [(&str, &Argv); 4] = [
        ("-z PORT=...", &|p| args(&format!("-z {p}=127.0.0.1:1"))),
        ("-p PORT", &|p| args(&format!("-p {p}"))),
        ("-Z port_listen=PORT", &|p| {
            args(&format!("-z url=http://127.0.0.1:1/x -Z port_listen={p}"))
        }),
        ("--metrics ADDR:PORT", &|p| {
            args(&format!("-p 0 --metrics 127.0.0.1:{p}"))
        }),
    ];
    for (flag, argv) in cases {
        let err = busy_port_error(argv);
        assert!(err.contains("address already in use"), "{flag}: {err}");
        assert!(
            err.contains(&format!("choose another port with {flag}")),
            "{flag}: {err}"
        );
        assert!(!err.contains("Please use"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn help_lists_what_the_issue_found_missing() {
    let out = Command::new(env!("CARGO_BIN_EXE_moxi"))
        .arg("-h")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "-O <file>",
        "-Y, --auth-file=y",
        "--log-format",
        "-A, --enable-shutdown",
    ] {
        assert!(text.contains(flag), "-h omits {flag}");
    }
}

/// Runs `moxi -p 0 ARGS -Y y` with stdin closed (it starts, then stops).
fn start_and_stop(extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_moxi"))
        .args(["-l", "127.0.0.1", "-p", "0", "-Y", "y"])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Whether `line` starts with an RFC 3339 UTC timestamp with milliseconds.
fn stamped(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() >= 24
        && line[..24].chars().enumerate().all(|(i, c)| match i {
            4 | 7 => c == '-',
            10 => c == 'T',
            13 | 16 => c == ':',
            19 => c == '.',
            23 => c == 'Z',
            _ => c.is_ascii_digit(),
        })
}

#[test]
fn o_captures_every_line_with_time_and_level() {
    let dir = std::env::temp_dir().join(format!("moxi-cli-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("moxi.log");
    let out = start_and_stop(&["-v", "-O", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "stderr must stay empty"
    );
    let log = std::fs::read_to_string(&path).unwrap();
    assert!(
        log.contains(" INFO moxi: embedded server listening on 127.0.0.1:"),
        "{log}"
    );
    assert!(log.lines().count() >= 2, "{log}");
    for line in log.lines() {
        assert!(stamped(line), "{line}");
        let level = line[25..].split(' ').next().unwrap();
        assert!(
            ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"].contains(&level),
            "{line}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn json_lines_are_one_object_each() {
    let out = start_and_stop(&["-v", "--log-format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.lines().count() >= 2, "{err}");
    for line in err.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(stamped(v["ts"].as_str().unwrap()), "{line}");
        assert!(v["level"].is_string() && v["target"].is_string(), "{line}");
        assert!(v["msg"].is_string(), "{line}");
    }
}
