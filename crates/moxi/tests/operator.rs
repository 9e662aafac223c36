//! What an operator's tools read: `/healthz` and `/readyz`, the metrics
//! page as `promtool check metrics` sees it, and the Grafana dashboard and
//! alert rules in `packaging/`, whose every metric must be one moxi exports.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

use std::collections::BTreeSet;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::http_get;
use common::targets::{Kind, Line, Target};

mod common;

fn packaging(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../packaging")
        .join(file)
}

/// A proxy in front of memcached that has answered a few requests, and its
/// metrics page (the body only).
fn live_page() -> (Target, String) {
    let target = Target::start(Kind::Proxy, &[]);
    let mut c = Line::connect(target.entry);
    assert_eq!(c.set("k", b"v"), "STORED");
    assert_eq!(c.get("k").as_deref(), Some(&b"v"[..]));
    assert_eq!(c.get("nokey"), None);
    let page = target.metrics_page();
    let body = page.split_once("\r\n\r\n").unwrap().1.to_string();
    (target, body)
}

/// Every series name the page can hold: sample names, and for each
/// `# TYPE` family its name (and a histogram's `_bucket`, `_sum`, `_count`).
fn exported(page: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in page.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
            names.insert(name.to_string());
            if kind == "histogram" {
                for suffix in ["_bucket", "_sum", "_count"] {
                    names.insert(format!("{name}{suffix}"));
                }
            }
        } else if !line.starts_with('#') && !line.is_empty() {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            names.insert(line[..end].to_string());
        }
    }
    names
}

/// The `moxi_*` metric names a PromQL expression mentions (identifiers,
/// not label values in quotes).
fn metric_names(expr: &str) -> Vec<String> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut names = Vec::new();
    let mut chars = expr.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c == '"' {
            let mut escaped = false;
            for (_, c) in chars.by_ref() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => break,
                    _ => escaped = false,
                }
            }
        } else if ident(c) {
            let mut end = at + c.len_utf8();
            while let Some(&(i, c)) = chars.peek() {
                if !ident(c) {
                    break;
                }
                end = i + c.len_utf8();
                chars.next();
            }
            if expr[at..end].starts_with("moxi_") {
                names.push(expr[at..end].to_string());
            }
        }
    }
    names
}

/// Every `"expr"` and templating `"query"` string in the dashboard.
fn dashboard_exprs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("expr" | "query" | "definition", serde_json::Value::String(s)) => {
                        out.push(s.clone())
                    }
                    _ => dashboard_exprs(v, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| dashboard_exprs(v, out)),
        _ => {}
    }
}

/// moxi (`-l 127.0.0.1 -t 1 --metrics ADMIN` and `args(LISTEN, DEAD)`)
/// listening on LISTEN, where DEAD is a port nothing listens on (picked free,
/// left unbound); returned once it runs, with ADMIN, LISTEN and DEAD.
fn moxi_beside_a_dead_port(
    args: impl Fn(u16, u16) -> Vec<String>,
) -> (testkit::ChildServer, SocketAddr, u16, u16) {
    let ports = common::free_ports(3);
    let (listen_port, dead_port, admin) = (ports[0], ports[1], common::local(ports[2]));
    let mut all: Vec<String> = ["-l", "127.0.0.1", "-t", "1", "--metrics"]
        .map(String::from)
        .to_vec();
    all.push(admin.to_string());
    all.extend(args(listen_port, dead_port));
    let moxi = testkit::ChildServer::spawn(common::MOXI, all, common::local(listen_port)).unwrap();
    common::wait_accepting(admin);
    (moxi, admin, listen_port, dead_port)
}

#[test]
fn healthz_is_alive_and_readyz_says_why_with_every_server_down() {
    let (_moxi, admin, proxy_port, dead_port) = moxi_beside_a_dead_port(|listen, dead| {
        vec!["-z".into(), format!("{listen}=127.0.0.1:{dead}")]
    });
    assert_eq!(http_get(admin, "/healthz"), (200, "alive\n".into()));
    let (status, why) = http_get(admin, "/readyz");
    assert_eq!(status, 503, "{why}");
    let first = format!("port {proxy_port}: no server up (127.0.0.1:{dead_port}: ");
    assert!(why.starts_with(&first), "{why}");
    assert!(why.contains("refused"), "{why}");
}

#[test]
fn readyz_waits_for_the_first_rest_configuration() {
    // The REST server is the dead port: no config ever comes.
    let (_moxi, admin, _, _) = moxi_beside_a_dead_port(|listen, dead| {
        vec![
            "-Z".into(),
            format!("port_listen={listen}"),
            "-z".into(),
            format!("url=http://127.0.0.1:{dead}/pools/default/bucketsStreaming/default"),
        ]
    });
    assert_eq!(http_get(admin, "/healthz"), (200, "alive\n".into()));
    assert_eq!(
        http_get(admin, "/readyz"),
        (503, "no configuration loaded yet\n".into())
    );
}

#[test]
fn readyz_is_ready_with_a_server_up() {
    let (target, _) = live_page();
    assert_eq!(http_get(target.admin, "/readyz"), (200, "ready\n".into()));
    assert_eq!(http_get(target.admin, "/healthz"), (200, "alive\n".into()));
}

#[test]
fn metrics_page_passes_promtool() {
    if !testkit::require_tool("promtool") {
        return;
    }
    let (_target, page) = live_page();
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool check metrics: {said}\n{page}"
    );
    assert!(said.trim().is_empty(), "promtool check metrics: {said}");
}

#[test]
fn alert_rules_pass_promtool_check_and_test_and_name_exported_metrics() {
    let rules = packaging("prometheus/moxi-rules.yml");
    let (_target, page) = live_page();
    let have = exported(&page);
    let text = std::fs::read_to_string(&rules).unwrap();
    let used: Vec<String> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(metric_names)
        .collect();
    assert!(used.len() >= 5, "{used:?}");
    let unknown: Vec<&String> = used.iter().filter(|n| !have.contains(*n)).collect();
    assert!(unknown.is_empty(), "rules name {unknown:?}, not on\n{page}");
    if !testkit::require_tool("promtool") {
        return;
    }
    // Checked, then unit-tested: the example alerts fire on the series
    // they are written for (moxi-rules.test.yml, beside the rules).
    for args in [
        ["check", "rules", "moxi-rules.yml"],
        ["test", "rules", "moxi-rules.test.yml"],
    ] {
        let out = Command::new("promtool")
            .args(args)
            .current_dir(rules.parent().unwrap())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn dashboard_queries_name_exported_metrics() {
    let text = std::fs::read_to_string(packaging("grafana/moxi.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut exprs = Vec::new();
    dashboard_exprs(&json, &mut exprs);
    let used: BTreeSet<String> = exprs.iter().flat_map(|e| metric_names(e)).collect();
    assert!(used.len() >= 10, "{used:?}");
    let (_target, page) = live_page();
    let have = exported(&page);
    let unknown: Vec<&String> = used.iter().filter(|n| !have.contains(*n)).collect();
    assert!(
        unknown.is_empty(),
        "the dashboard names {unknown:?}, not on\n{page}"
    );
}

#[test]
fn metric_names_are_found_in_promql() {
    assert_eq!(
        metric_names(r#"sum(rate(moxi_a_total{x="moxi_\"no"}[5m])) / xmoxi_b + moxi_c:d"#),
        ["moxi_a_total", "moxi_c:d"]
    );
}
