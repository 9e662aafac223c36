//! The `-z` / `-Z` command-line grammar under fuzzing.

use std::io;
use std::time::Duration;

use routing::Server;

use crate::behaviors::{parse_behaviors, Behaviors, DefaultBucket, DownstreamProtocol, PrefixSpec};
use crate::cluster::{parse_cluster, parse_cluster_text, Cluster, PoolServers, RestConfig};
use crate::error::ConfigError;
use crate::http::HttpUrl;
use crate::mcs::McsOpts;

/// Feeds `data` (lossily decoded as UTF-8) to both command-line parsers.
///
/// `-z` ([`parse_cluster_text`]): the outcome ignores surrounding
/// whitespace, and the file form (`./file` holding the text) gives the same
/// outcome. An accepted static cluster has distinct non-zero ports, non-empty
/// server lists of hosts holding no separator, locators that can be built,
/// and its canonical rendering (`PORT=host:port:weight,...;...`) parses back
/// to the same cluster. An accepted REST cluster has URLs that reparse to
/// themselves and GET requests whose header block cannot be broken by the
/// URL or the credentials; its rendering (`url=A|B,auth=U%P`) parses back to
/// the same URLs and credentials.
///
/// `-Z` ([`parse_behaviors`]): the file form gives the same outcome;
/// applying the same list again changes nothing; accepted behaviors render
/// (every key, canonical values) and parse back equal, with no warning.
pub fn fuzz_command_line(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    check_cluster(&text);
    check_behaviors(&text);
}

fn no_file(path: &str) -> io::Result<String> {
    Err(io::Error::new(io::ErrorKind::NotFound, path.to_owned()))
}

fn no_env(_: &str) -> Option<String> {
    None
}

/// Outcomes compared by value, errors by their text (`ConfigError` may hold
/// an `io::Error`, which has no equality).
fn outcome<T: std::fmt::Debug>(r: &Result<T, ConfigError>) -> String {
    match r {
        Ok(v) => format!("ok {v:?}"),
        Err(e) => format!("error {e}"),
    }
}

fn check_cluster(text: &str) {
    let parsed = parse_cluster_text(text);
    let padded = parse_cluster_text(&format!(" \n{text}\t "));
    assert_eq!(outcome(&parsed), outcome(&padded), "whitespace matters");
    let via_file = parse_cluster("./cfg", |_| Ok(text.to_owned()));
    assert_eq!(outcome(&parsed), outcome(&via_file), "file form differs");
    let direct = parse_cluster(text, no_file);
    if !text.trim().starts_with(['.', '/']) {
        assert_eq!(outcome(&parsed), outcome(&direct), "parse_cluster differs");
    }
    match parsed {
        Ok(Cluster::Static(pools)) => check_static(&pools),
        Ok(Cluster::Rest(rest)) => check_rest(&rest),
        Err(_) => {}
    }
}

fn check_static(pools: &[crate::cluster::StaticPool]) {
    let mut ports: Vec<u16> = pools.iter().map(|p| p.port).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), pools.len(), "duplicate ports accepted");
    assert!(ports.iter().all(|&p| p != 0), "port 0 accepted");
    let mut rendered = Vec::new();
    for pool in pools {
        match &pool.servers {
            PoolServers::List(list) => {
                assert!(!list.is_empty(), "empty server list accepted");
                check_server_list(list);
                let entries: Vec<String> = list
                    .iter()
                    .map(|s| format!("{}:{}:{}", s.host, s.port, s.weight))
                    .collect();
                rendered.push(format!("{}={}", pool.port, entries.join(",")));
            }
            PoolServers::Vbucket(config) => {
                assert!(!config.servers().is_empty(), "vBucket pool without servers");
                rendered.push(format!("{}={}", pool.port, config.raw));
            }
        }
    }
    let rendered = rendered.join(";");
    match parse_cluster_text(&rendered) {
        Ok(Cluster::Static(again)) => assert_eq!(again, pools, "rendered as {rendered:?}"),
        other => panic!("rendered as {rendered:?}, reparsed as {other:?}"),
    }
}

/// Hosts hold no separator, ports are non-zero, and every moxi locator can
/// be built over a short list and picks one of its servers.
fn check_server_list(list: &[Server]) {
    for s in list {
        assert!(!s.host.is_empty() && s.port != 0, "bad server {s:?}");
        assert!(
            !s.host.contains([':', ',', ';']) && !s.host.contains(char::is_whitespace),
            "separator in host {s:?}"
        );
    }
    if list.len() > 4 {
        return; // a continuum per exec is enough; long lists only slow fuzzing
    }
    for opts in ["", "distribution:ketama", "distribution:modula"] {
        let Ok(opts) = McsOpts::parse(opts) else {
            panic!("built-in mcs_opts {opts:?} refused")
        };
        match opts.locator(list) {
            Ok(locator) => assert!(locator.locate(b"key") < list.len()),
            Err(e) => panic!("no locator for {list:?}: {e}"),
        }
    }
}

fn check_rest(rest: &RestConfig) {
    assert!(!rest.urls.is_empty(), "REST config without URL accepted");
    for url in &rest.urls {
        check_url(url, rest.user.as_deref(), rest.password.as_deref());
    }
    let urls: Vec<&str> = rest.urls.iter().map(HttpUrl::as_str).collect();
    let mut rendered = format!("url={}", urls.join("|"));
    if let Some(user) = &rest.user {
        let password = rest.password.as_deref().unwrap_or("");
        rendered.push_str(&format!(",auth={user}%{password}"));
    }
    match parse_cluster_text(&rendered) {
        Ok(Cluster::Rest(again)) => {
            assert_eq!(again.urls, rest.urls, "rendered as {rendered:?}");
            assert_eq!(again.user, rest.user, "rendered as {rendered:?}");
            assert_eq!(again.password, rest.password, "rendered as {rendered:?}");
            assert!(again.warnings.is_empty(), "rendered as {rendered:?}");
        }
        other => panic!("rendered as {rendered:?}, reparsed as {other:?}"),
    }
}

/// A URL reparses to itself and its GET request is one well-formed header
/// block whatever the credentials hold.
fn check_url(url: &HttpUrl, user: Option<&str>, password: Option<&str>) {
    assert_eq!(
        HttpUrl::parse(url.as_str()).as_ref(),
        Ok(url),
        "URL reparse"
    );
    assert!(url.path().starts_with('/') && url.port() != 0, "{url:?}");
    let credentials = user.map(|u| (u, password.unwrap_or("")));
    for request in [url.get_request(None), url.get_request(credentials)] {
        let Ok(request) = String::from_utf8(request) else {
            panic!("GET request for {url:?} is not UTF-8")
        };
        let head = request.strip_suffix("\r\n\r\n").unwrap_or_else(|| {
            panic!("GET request for {url:?} does not end its head: {request:?}")
        });
        for line in head.split("\r\n") {
            assert!(
                !line.is_empty() && !line.contains(['\r', '\n']),
                "header injection through {url:?}: {request:?}"
            );
        }
    }
}

fn check_behaviors(text: &str) {
    let parsed = parse_behaviors(text, no_file, no_env);
    let via_file = parse_behaviors("./behaviors", |_| Ok(text.to_owned()), no_env);
    if !text.trim().starts_with(['.', '/']) {
        assert_eq!(outcome(&parsed), outcome(&via_file), "file form differs");
    }
    let Ok((behaviors, warnings)) = parsed else {
        return;
    };
    let mut again = behaviors.clone();
    match again.apply(text) {
        Ok(warnings_again) => assert_eq!(warnings_again, warnings, "apply is not idempotent"),
        Err(e) => panic!("list accepted once, refused the second time: {e}"),
    }
    assert_eq!(again, behaviors, "apply is not idempotent");
    let rendered = render_behaviors(&behaviors);
    match parse_behaviors(&rendered, no_file, no_env) {
        Ok((reparsed, warnings)) => {
            assert_eq!(reparsed, behaviors, "rendered as {rendered:?}");
            assert!(warnings.is_empty(), "rendered as {rendered:?}");
        }
        Err(e) => panic!("rendered as {rendered:?}, refused: {e}"),
    }
    let servers = [Server::new("a", 11211, 0), Server::new("b", 11212, 2)];
    if let Err(e) = behaviors.mcs_opts.locator(&servers) {
        panic!(
            "accepted mcs_opts {:?} builds no locator: {e}",
            behaviors.mcs_opts
        );
    }
}

/// Every behavior as `key=value`, in a form [`Behaviors::apply`] reads back
/// to the same value (prefix specs are wrapped in `|` so that whitespace at
/// their ends survives trimming).
fn render_behaviors(b: &Behaviors) -> String {
    let ms = |d: Duration| d.as_millis().to_string();
    let spec = |p: &PrefixSpec| format!("|{}|", p.prefixes().join("|"));
    let flag = |on: bool| if on { "1" } else { "0" }.to_owned();
    let protocol = match b.downstream_protocol {
        DownstreamProtocol::Ascii => "ascii",
        DownstreamProtocol::Binary => "binary",
    };
    let mut items = vec![
        ("cycle", ms(b.cycle)),
        ("downstream_max", b.downstream_max.to_string()),
        ("downstream_conn_max", b.downstream_conn_max.to_string()),
        (
            "downstream_conn_queue_timeout",
            ms(b.downstream_conn_queue_timeout),
        ),
        ("downstream_timeout", ms(b.downstream_timeout)),
        ("wait_queue_timeout", ms(b.wait_queue_timeout)),
        ("connect_timeout", ms(b.connect_timeout)),
        ("auth_timeout", ms(b.auth_timeout)),
        ("connect_max_errors", b.connect_max_errors.to_string()),
        ("connect_retry_interval", ms(b.connect_retry_interval)),
        ("downstream_retry", b.downstream_retry.to_string()),
        ("downstream_weight", b.downstream_weight.to_string()),
        ("downstream_protocol", protocol.to_owned()),
        ("time_stats", flag(b.time_stats)),
        ("mcs_opts", b.mcs_opts.as_str().to_owned()),
        ("front_cache_max", b.front_cache_max.to_string()),
        ("front_cache_lifespan", ms(b.front_cache_lifespan)),
        ("front_cache_spec", spec(&b.front_cache_spec)),
        ("front_cache_unspec", spec(&b.front_cache_unspec)),
        ("key_stats_max", b.key_stats_max.to_string()),
        ("key_stats_lifespan", ms(b.key_stats_lifespan)),
        ("key_stats_spec", spec(&b.key_stats_spec)),
        ("key_stats_unspec", spec(&b.key_stats_unspec)),
        ("optimize_set", spec(&b.optimize_set)),
        ("usr", b.usr.clone()),
        ("pwd", b.pwd.clone()),
        ("host", b.host.clone()),
        ("port", b.port.to_string()),
        ("bucket", b.bucket.clone()),
        ("port_listen", b.port_listen.to_string()),
        ("eject_hosts", flag(b.eject_hosts)),
        (
            "downstream_conn_pipeline",
            b.downstream_conn_pipeline.to_string(),
        ),
    ];
    if let DefaultBucket::Named(name) = &b.default_bucket_name {
        items.push(("default_bucket_name", name.clone()));
    }
    let items: Vec<String> = items.iter().map(|(k, v)| format!("{k}={v}")).collect();
    items.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_corpus() {
        super::super::run_corpus("command_line", 10, fuzz_command_line);
    }

    #[test]
    fn defaults_render_and_reparse() {
        let rendered = render_behaviors(&Behaviors::default());
        let (again, warnings) = parse_behaviors(&rendered, no_file, no_env).expect("defaults");
        assert_eq!(again, Behaviors::default());
        assert!(warnings.is_empty());
    }
}
