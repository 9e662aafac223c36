//! `-z`: every grammar form of section 2 and every error text.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::io;

use common::{no_files, one_file};
use config::{
    parse_cluster, parse_cluster_text, parse_server_list, Behaviors, Cluster, ConfigError,
    PoolServers, RestConfig, StaticPool, Warning,
};
use routing::Server;

fn statics(value: &str) -> Vec<StaticPool> {
    match parse_cluster(value, no_files).unwrap_or_else(|e| panic!("{value}: {e}")) {
        Cluster::Static(pools) => pools,
        other => panic!("{value}: not static: {other:?}"),
    }
}

fn list(value: &str) -> Vec<Server> {
    let pools = statics(value);
    assert_eq!(pools.len(), 1);
    match &pools[0].servers {
        PoolServers::List(servers) => servers.clone(),
        other => panic!("{value}: not a list: {other:?}"),
    }
}

fn rest(value: &str) -> RestConfig {
    match parse_cluster(value, no_files).unwrap_or_else(|e| panic!("{value}: {e}")) {
        Cluster::Rest(config) => config,
        other => panic!("{value}: not REST: {other:?}"),
    }
}

fn err(value: &str) -> String {
    parse_cluster(value, no_files).unwrap_err().to_string()
}

fn s(host: &str, port: u16, weight: u32) -> Server {
    Server::new(host, port, weight)
}

#[test]
fn static_server_lists() {
    assert_eq!(
        list("11211=my_memcached_server:11222"),
        [s("my_memcached_server", 11222, 0)]
    );
    assert_eq!(
        list("11211=memcached_1,memcached_2"),
        [s("memcached_1", 11211, 0), s("memcached_2", 11211, 0)]
    );
    assert_eq!(
        list("11211=a:1:2, b:3 4 ,c:5:6,"),
        [s("a", 1, 2), s("b", 3, 4), s("c", 5, 6)]
    );
    assert_eq!(list(" 11211 = a: "), [s("a", 11211, 0)]);
    assert_eq!(
        list("11211=a:0"),
        [s("a", 11211, 0)],
        "libmemcached: port 0 = default"
    );
    let pools = statics("11211=a:1;\n 11311 = b,c ;");
    assert_eq!(pools.len(), 2);
    assert_eq!(pools[1].port, 11311);
    assert_eq!(
        pools[1].servers,
        PoolServers::List(vec![s("b", 11211, 0), s("c", 11211, 0)])
    );
}

#[test]
fn server_list_errors() {
    for (bad, reason) in [
        ("a:x", "bad port"),
        ("a:70000", "bad port"),
        ("a:1:x", "bad weight"),
        (":1", "bad host"),
        ("a b", "bad host"),
    ] {
        let e = parse_server_list(bad).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("bad server {bad:?} in server list: {reason}")
        );
    }
    assert_eq!(parse_server_list(" , ,").unwrap(), []);
}

#[test]
fn static_json_pool() {
    let json = r#"{"numReplicas":0,"serverList":["h:11311"],"vBucketMap":[[0]],
        "nodes":[{"hostname":"h:8091","ports":{"direct":11311},"couchApiBase":"http://h:8092/"}]}"#;
    // The JSON holds "http://", which sent moxi to REST mode; PORT= wins here.
    let pools = statics(&format!("11211 = {json}"));
    let PoolServers::Vbucket(config) = &pools[0].servers else {
        panic!("not vbucket")
    };
    assert_eq!(config.vbucket_servers, [s("h", 11311, 0)]);
    assert_eq!(
        err("11211={\"numReplicas\":7}"),
        "Expected number <= 4 for numReplicas"
    );
}

#[test]
fn static_errors() {
    assert_eq!(err("11211"), "bad moxi config, missing =");
    assert_eq!(err("11211=a;11311"), "bad moxi config, missing =");
    assert_eq!(err("=a"), "missing proxy port");
    assert_eq!(err("abc=a"), "missing proxy port");
    assert_eq!(err("0=a"), "missing proxy port");
    assert_eq!(err("-1=a"), "missing proxy port");
    assert_eq!(err("12ab=a"), "bad proxy port: 12ab");
    assert_eq!(err("70000=a"), "bad proxy port: 70000");
    assert_eq!(err("11211=a;11211=b"), "duplicate proxy port: 11211");
    assert_eq!(err("11211= ,"), "no servers for proxy port 11211");
    assert_eq!(err("  "), "empty cfg");
    assert_eq!(err(";;"), "empty cfg");
}

#[test]
fn file_form() {
    let c = parse_cluster(" ./cfg ", one_file("./cfg", "\n11211=a\n".into())).unwrap();
    assert_eq!(
        c,
        Cluster::Static(vec![StaticPool {
            port: 11211,
            servers: PoolServers::List(vec![s("a", 11211, 0)])
        }])
    );
    let c = parse_cluster("/etc/moxi", one_file("/etc/moxi", "url=http://h/x".into())).unwrap();
    assert!(matches!(c, Cluster::Rest(_)));
    let missing = |_: &str| Err(io::Error::new(io::ErrorKind::NotFound, "gone"));
    let e = parse_cluster("./nope", missing).unwrap_err();
    assert_eq!(e.to_string(), "could not read cfg file: ./nope");
    assert!(matches!(e, ConfigError::ReadCfgFile { .. }));
    let e = parse_cluster("./empty", one_file("./empty", " \n".into())).unwrap_err();
    assert!(matches!(e, ConfigError::Empty));
}

#[test]
fn rest_forms() {
    let urls = |c: &RestConfig| {
        c.urls
            .iter()
            .map(|u| u.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    let c = rest("http://h:8091/pools/default/bucketsStreaming/default");
    assert_eq!(
        urls(&c),
        ["http://h:8091/pools/default/bucketsStreaming/default"]
    );
    assert_eq!((c.user.as_deref(), c.password.as_deref()), (None, None));
    let c = rest("http://a:8091/x,http://b:8091/x");
    assert_eq!(urls(&c), ["http://a:8091/x", "http://b:8091/x"]);
    let c = rest("url=http://a/x|http://b/x");
    assert_eq!(urls(&c), ["http://a/x", "http://b/x"]);
    let c = rest("auth=Administrator%password,url=http://h:8091/p");
    assert_eq!(c.user.as_deref(), Some("Administrator"));
    assert_eq!(c.password.as_deref(), Some("password"));
    let c = rest("auth=u%p@ss\nhost = http://h:8091/p\n# comment\nconfig=/x\nfoo=bar");
    assert_eq!(c.password.as_deref(), Some("p@ss"));
    assert_eq!(urls(&c), ["http://h:8091/p"]);
    assert_eq!(
        c.warnings,
        [
            Warning::ObsoleteClusterKey("config".into()),
            Warning::UnknownClusterKey("foo".into())
        ]
    );
    let c = rest("auth=,url=http://h/p");
    assert_eq!(
        (c.user.as_deref(), c.password.as_deref()),
        (Some(""), Some(""))
    );
}

#[test]
fn rest_credentials() {
    let b = Behaviors {
        usr: "zu".into(),
        pwd: "zp".into(),
        ..Behaviors::default()
    };
    assert_eq!(rest("url=http://h/p").credentials(&b), Some(("zu", "zp")));
    assert_eq!(
        rest("auth=u%p,url=http://h/p").credentials(&b),
        Some(("u", "p"))
    );
    assert_eq!(
        rest("auth=u,url=http://h/p").credentials(&b),
        Some(("u", ""))
    );
    assert_eq!(rest("auth=,url=http://h/p").credentials(&b), None);
    assert_eq!(
        rest("url=http://h/p").credentials(&Behaviors::default()),
        None
    );
}

#[test]
fn rest_errors() {
    assert_eq!(err("auth=u%p@x"), "missing -z configuration for url/host");
    assert_eq!(
        err("url=,auth=u@x"),
        "missing -z configuration for url/host"
    );
    assert!(err("apikey=jid@host%pw").starts_with("obsolete XMPP configuration"));
    assert!(err("user@jabber.example.com%pw").starts_with("obsolete XMPP configuration"));
    assert_eq!(
        err("url=http://a/x;url=http://b/x"),
        "multiple ;-separated REST configurations are not supported"
    );
    let e = parse_cluster_text("url=https://h/x,auth=a@b").unwrap_err();
    assert!(matches!(e, ConfigError::BadUrl(_)), "{e}");
    assert!(e.to_string().contains("https://h/x"));
    // Without "@" or "http://" moxi parses a static config, whatever it looks like.
    assert_eq!(err("url=https://h/x"), "missing proxy port");
}
