//! `-Z`: defaults, every key and alias, comments, the file form, the
//! environment, warnings and error texts.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::io;
use std::time::Duration;

use common::{no_files, one_file};
use config::{
    parse_behaviors, Behaviors, ConfigError, DefaultBucket, DownstreamProtocol, McsDistribution,
    Warning,
};
use routing::HashFn;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn parse(s: &str) -> Behaviors {
    let (b, warnings) =
        parse_behaviors(s, no_files, |_| None).unwrap_or_else(|e| panic!("{s}: {e}"));
    assert!(warnings.is_empty(), "{s}: {warnings:?}");
    b
}

fn err(s: &str) -> String {
    parse_behaviors(s, no_files, |_| None)
        .unwrap_err()
        .to_string()
}

#[test]
fn defaults() {
    let b = parse("");
    assert_eq!(b, Behaviors::default());
    assert_eq!(b.cycle, ms(200));
    assert_eq!((b.downstream_max, b.downstream_conn_max), (1024, 4));
    assert_eq!(b.downstream_conn_queue_timeout, ms(200));
    assert_eq!(b.downstream_timeout, ms(5000));
    assert_eq!(b.wait_queue_timeout, ms(200));
    assert_eq!(b.connect_timeout, ms(400));
    assert_eq!(b.auth_timeout, ms(100));
    assert_eq!(b.connect_max_errors, 5);
    assert_eq!(b.connect_retry_interval, ms(30000));
    assert_eq!((b.downstream_retry, b.downstream_weight), (1, 0));
    assert_eq!(b.downstream_protocol, DownstreamProtocol::Binary);
    assert_eq!(b.downstream_protocol.stat_code(), 8);
    assert!(!b.time_stats);
    assert_eq!(b.mcs_opts.distribution, McsDistribution::KetamaWeighted);
    assert_eq!(b.mcs_opts.as_str(), "");
    assert_eq!(
        (b.front_cache_max, b.front_cache_lifespan),
        (200, Duration::ZERO)
    );
    assert!(b.front_cache_spec.is_empty() && b.front_cache_unspec.is_empty());
    assert_eq!(
        (b.key_stats_max, b.key_stats_lifespan),
        (4000, Duration::ZERO)
    );
    assert!(b.key_stats_spec.is_empty() && b.key_stats_unspec.is_empty());
    assert!(b.optimize_set.is_empty());
    assert_eq!(
        (b.usr.as_str(), b.pwd.as_str(), b.host.as_str()),
        ("", "", "")
    );
    assert_eq!((b.port, b.bucket.as_str(), b.port_listen), (0, "", 11211));
    assert_eq!(b.default_bucket_name, DefaultBucket::First);
}

#[test]
fn every_key() {
    let b = parse(
        "cycle=10, downstream_max=7, downstream_conn_max=0, downstream_conn_queue_timeout=11,
         downstream_timeout=12, wait_queue_timeout=13, connect_timeout=14, auth_timeout=15,
         connect_max_errors=3, connect_retry_interval=16, downstream_retry=2,
         downstream_weight=9, downstream_protocol=ascii, time_stats=1,
         mcs_opts=distribution:modula, front_cache_max=5, front_cache_lifespan=17,
         front_cache_spec=a:|b:, front_cache_unspec=a:x, key_stats_max=6,
         key_stats_lifespan=18, key_stats_spec=k:, key_stats_unspec=k:x,
         optimize_set=s:||t:, usr=u, pwd=p w, host=h, port=1, bucket=bk,
         port_listen=11311, default_bucket_name=default",
    );
    assert_eq!(b.cycle, ms(10));
    assert_eq!((b.downstream_max, b.downstream_conn_max), (7, 0));
    assert_eq!(b.downstream_conn_queue_timeout, ms(11));
    assert_eq!(b.downstream_timeout, ms(12));
    assert_eq!(b.wait_queue_timeout, ms(13));
    assert_eq!(b.connect_timeout, ms(14));
    assert_eq!(b.auth_timeout, ms(15));
    assert_eq!(b.connect_max_errors, 3);
    assert_eq!(b.connect_retry_interval, ms(16));
    assert_eq!((b.downstream_retry, b.downstream_weight), (2, 9));
    assert_eq!(b.downstream_protocol, DownstreamProtocol::Ascii);
    assert_eq!(b.downstream_protocol.stat_code(), 7);
    assert!(b.time_stats);
    assert_eq!(b.mcs_opts.distribution, McsDistribution::Modula);
    assert_eq!((b.front_cache_max, b.front_cache_lifespan), (5, ms(17)));
    assert_eq!(b.front_cache_spec.prefixes(), ["a:", "b:"]);
    assert!(b.front_cache_spec.matches(b"b:1") && !b.front_cache_spec.matches(b"c:1"));
    assert_eq!(b.front_cache_unspec.prefixes(), ["a:x"]);
    assert_eq!((b.key_stats_max, b.key_stats_lifespan), (6, ms(18)));
    assert_eq!(b.key_stats_spec.prefixes(), ["k:"]);
    assert_eq!(b.key_stats_unspec.prefixes(), ["k:x"]);
    assert_eq!(b.optimize_set.prefixes(), ["s:", "t:"]);
    assert_eq!(
        (b.usr.as_str(), b.pwd.as_str(), b.host.as_str()),
        ("u", "p w", "h")
    );
    assert_eq!((b.port, b.bucket.as_str(), b.port_listen), (1, "bk", 11311));
    assert_eq!(
        b.default_bucket_name,
        DefaultBucket::Named("default".into())
    );
}

#[test]
fn aliases_and_protocol_names() {
    let b = parse("concurrency=3,timeout=4,retry=5,weight=6,protocol=memcached-ascii");
    assert_eq!(b.downstream_max, 3);
    assert_eq!(b.downstream_timeout, ms(4));
    assert_eq!((b.downstream_retry, b.downstream_weight), (5, 6));
    assert_eq!(b.downstream_protocol, DownstreamProtocol::Ascii);
    assert_eq!(parse("downstream_conn_timeout=7").downstream_timeout, ms(7));
    for (v, p) in [
        ("ascii", DownstreamProtocol::Ascii),
        ("membase-ascii", DownstreamProtocol::Ascii),
        ("binary", DownstreamProtocol::Binary),
        ("memcached-binary", DownstreamProtocol::Binary),
        ("membase-binary", DownstreamProtocol::Binary),
    ] {
        let b = parse(&format!("protocol=ascii,downstream_protocol={v}"));
        assert_eq!(b.downstream_protocol, p, "{v}");
    }
    assert_eq!(
        parse("default_bucket_name=").default_bucket_name,
        DefaultBucket::Named(String::new())
    );
    assert!(!parse("time_stats=0").time_stats);
}

#[test]
fn our_own_keys() {
    let d = parse("");
    assert!(!d.eject_hosts);
    assert_eq!(d.downstream_conn_pipeline, 0);
    let b = parse("eject_hosts=true,downstream_conn_pipeline=1");
    assert!(b.eject_hosts);
    assert_eq!(b.downstream_conn_pipeline, 1);
    for v in ["1", "yes"] {
        assert!(parse(&format!("eject_hosts={v}")).eject_hosts);
    }
    for v in ["0", "no", "false"] {
        assert!(!parse(&format!("eject_hosts=true,eject_hosts={v}")).eject_hosts);
    }
    assert_eq!(
        err("eject_hosts=maybe"),
        "config error in key: eject_hosts value: maybe"
    );
}

#[test]
fn twemproxy_mcs_opts_survive_the_comma_list() {
    let b = parse("mcs_opts=distribution:twemproxy-ketama;hash:md5,cycle=1");
    assert_eq!(
        b.mcs_opts.distribution,
        McsDistribution::TwemproxyKetama(HashFn::Md5)
    );
    assert_eq!(b.cycle, ms(1));
}

#[test]
fn comments_whitespace_empty_items_and_overrides() {
    let b = parse(" #a comment=1 , ,cycle = 5 ,\n# whole line\n cycle=6,#x,");
    assert_eq!(b.cycle, ms(6));
}

#[test]
fn unknown_keys_warn() {
    let (b, warnings) =
        parse_behaviors("downstream=5,Cycle=1,cycle=2", no_files, |_| None).unwrap();
    assert_eq!(b.cycle, ms(2));
    assert_eq!(b.downstream_max, 1024, "no prefix matching");
    assert_eq!(
        warnings,
        [
            Warning::UnknownBehaviorKey("downstream".into()),
            Warning::UnknownBehaviorKey("Cycle".into())
        ]
    );
    assert_eq!(warnings[0].to_string(), "unknown behavior key: downstream");
}

#[test]
fn bad_values_name_the_key() {
    for (s, k, v) in [
        ("cycle=x", "cycle", "x"),
        ("downstream_max=-1", "downstream_max", "-1"),
        ("timeout=4294967296", "timeout", "4294967296"),
        ("protocol=", "protocol", ""),
        ("protocol=asc", "protocol", "asc"),
        ("port=65536", "port", "65536"),
        ("port_listen=-1", "port_listen", "-1"),
        ("time_stats=yes", "time_stats", "yes"),
        (
            "mcs_opts=distribution:consistent",
            "mcs_opts",
            "distribution:consistent",
        ),
        ("connect_timeout = 1 0", "connect_timeout", "1 0"),
    ] {
        assert_eq!(
            err(s),
            format!("config error in key: {k} value: {v}"),
            "{s}"
        );
    }
    assert_eq!(err("cycle"), "config error in key: cycle value: (null)");
    assert!(matches!(
        parse_behaviors("cycle=x", no_files, |_| None),
        Err(ConfigError::Behavior { .. })
    ));
}

#[test]
fn file_form() {
    let read = one_file("./moxi.z", "# behaviors\ncycle=7,\nusr=u\n".into());
    let (b, _) = parse_behaviors("./moxi.z", read, |_| None).unwrap();
    assert_eq!((b.cycle, b.usr.as_str()), (ms(7), "u"));
    let missing = |_: &str| Err(io::Error::new(io::ErrorKind::NotFound, "gone"));
    let e = parse_behaviors("/etc/nope", missing, |_| None).unwrap_err();
    assert_eq!(e.to_string(), "could not read behavior file: /etc/nope");
}

#[test]
fn environment_defaults_then_overrides() {
    let env = |k: &str| match k {
        "MOXI_SASL_PLAIN_USR" => Some("envu".to_owned()),
        "MOXI_SASL_PLAIN_PWD" => Some("envp".to_owned()),
        _ => None,
    };
    let (b, _) = parse_behaviors("", no_files, env).unwrap();
    assert_eq!((b.usr.as_str(), b.pwd.as_str()), ("envu", "envp"));
    let (b, _) = parse_behaviors("usr=z", no_files, env).unwrap();
    assert_eq!((b.usr.as_str(), b.pwd.as_str()), ("z", "envp"));
}

#[test]
fn usage_gateway_example() {
    let b = parse(
        "usr=Administrator,pwd=password,port_listen=11311,concurrency=1024,\
         wait_queue_timeout=200,connect_timeout=400,connect_max_errors=3,\
         connect_retry_interval=30000,auth_timeout=100,downstream_conn_max=16,\
         downstream_timeout=5000,cycle=200,default_bucket_name=default",
    );
    assert_eq!(b.port_listen, 11311);
    assert_eq!(b.connect_max_errors, 3);
    assert_eq!(b.downstream_conn_max, 16);
}

#[test]
fn apply_and_set_layer_on_top() {
    let mut b = parse("cycle=5");
    assert_eq!(b.apply("usr=bucket1,pwd=pw").unwrap(), []);
    assert_eq!((b.cycle, b.usr.as_str()), (ms(5), "bucket1"));
    assert!(b.set("pwd", "x").unwrap());
    assert!(!b.set("nope", "x").unwrap());
}
