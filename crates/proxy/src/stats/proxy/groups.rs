//! The groups of `stats proxy`: what each prints, with moxi's names.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use config::{Behaviors, DefaultBucket, PrefixSpec};

use super::{main_stats, Ctx, PoolView};
use crate::stats::timings::{rows, BINS};
use crate::stats::Totals;

type Lines = Vec<(String, String)>;

fn line(out: &mut Lines, name: impl Into<String>, value: impl ToString) {
    out.push((name.into(), value.to_string()));
}

/// `info`: `basic:*`, `proxy_main:conf_type` and each pool's `info:*`.
pub fn info(ctx: &Ctx) -> Lines {
    let mut o = Lines::new();
    line(&mut o, "basic:version", crate::dispatch::VERSION);
    line(&mut o, "basic:nthreads", ctx.main.nthreads);
    line(&mut o, "basic:hostname", hostname());
    line(&mut o, "proxy_main:conf_type", ctx.main.conf_type);
    for p in &ctx.pools {
        let pre = format!("{}:info:", p.prefix);
        let (port, name) = p.prefix.split_once(':').unwrap_or((&p.prefix, ""));
        line(&mut o, format!("{pre}port"), port);
        line(&mut o, format!("{pre}name"), name);
        let config = x_passwords(&p.topology.config.replace(['\r', '\n'], ""));
        line(&mut o, format!("{pre}config"), config);
    }
    o
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into())
}

/// `"...assword": "secret"` becomes `"...assword": "XXXXXX"` (moxi shows
/// configs with their SASL passwords masked).
pub fn x_passwords(config: &str) -> String {
    let mut out = String::with_capacity(config.len());
    let mut rest = config;
    while let Some(at) = rest.find("assword\"") {
        let (head, tail) = rest.split_at(at + "assword\"".len());
        out.push_str(head);
        let Some(open) = tail.find('"') else {
            rest = tail;
            break;
        };
        out.push_str(&tail[..=open]);
        let value = &tail[open + 1..];
        let len = value.find('"').unwrap_or(value.len());
        out.extend(std::iter::repeat_n('X', value[..len].chars().count()));
        rest = &value[len..];
    }
    out.push_str(rest);
    out
}

/// `settings`: `memcached:settings:*`.
pub fn settings(ctx: &Ctx) -> Lines {
    let pre = "memcached:settings:";
    ctx.main
        .settings
        .iter()
        .map(|(k, v)| (format!("{pre}{k}"), v.clone()))
        .collect()
}

/// `behaviors`: `proxy_main:behavior:*` and each pool's `behavior:*`.
pub fn behaviors(ctx: &Ctx) -> Lines {
    let entries = behavior_entries(&ctx.main.behaviors);
    let mut o = Lines::new();
    let prefixes =
        std::iter::once("proxy_main".to_owned()).chain(ctx.pools.iter().map(|p| p.prefix.clone()));
    for pre in prefixes {
        for (k, v) in &entries {
            line(&mut o, format!("{pre}:behavior:{k}"), v);
        }
    }
    o
}

fn ms(d: Duration) -> String {
    d.as_millis().to_string()
}

fn spec(p: &PrefixSpec) -> String {
    p.prefixes().join("|")
}

/// Every behavior by key, as moxi prints them (times in ms, the protocol
/// as moxi's number, no password), then ours.
pub fn behavior_entries(b: &Behaviors) -> Vec<(&'static str, String)> {
    let default_bucket = match &b.default_bucket_name {
        DefaultBucket::First => "[ <FIRST_BUCKET> ]".to_owned(),
        DefaultBucket::Named(n) => n.clone(),
    };
    vec![
        ("cycle", ms(b.cycle)),
        ("downstream_max", b.downstream_max.to_string()),
        ("downstream_conn_max", b.downstream_conn_max.to_string()),
        ("downstream_weight", b.downstream_weight.to_string()),
        ("downstream_retry", b.downstream_retry.to_string()),
        (
            "downstream_protocol",
            b.downstream_protocol.stat_code().to_string(),
        ),
        ("downstream_timeout", ms(b.downstream_timeout)),
        (
            "downstream_conn_queue_timeout",
            ms(b.downstream_conn_queue_timeout),
        ),
        ("connect_timeout", ms(b.connect_timeout)),
        ("auth_timeout", ms(b.auth_timeout)),
        ("wait_queue_timeout", ms(b.wait_queue_timeout)),
        ("time_stats", u8::from(b.time_stats).to_string()),
        ("connect_max_errors", b.connect_max_errors.to_string()),
        ("connect_retry_interval", ms(b.connect_retry_interval)),
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
        ("host", b.host.clone()),
        ("port", b.port.to_string()),
        ("bucket", b.bucket.clone()),
        ("port_listen", b.port_listen.to_string()),
        ("default_bucket_name", default_bucket),
        ("mcs_opts", b.mcs_opts.as_str().to_owned()),
        ("eject_hosts", b.eject_hosts.to_string()),
        (
            "downstream_conn_pipeline",
            b.downstream_conn_pipeline.to_string(),
        ),
    ]
}

/// `stats`: `memcached:stats:*` (embedded server), `proxy_main:stats:*`
/// and each pool's `pstd_stats:*`.
pub fn stats(ctx: &Ctx) -> Lines {
    let mut o = Lines::new();
    if let Some(embedded) = &ctx.main.embedded {
        for (k, v) in embedded() {
            line(&mut o, format!("memcached:stats:{k}"), v);
        }
    }
    let m = main_stats();
    for (k, c) in [
        ("stat_configs", &m.stat_configs),
        ("stat_config_fails", &m.stat_config_fails),
        ("stat_proxy_starts", &m.stat_proxy_starts),
        ("stat_proxy_start_fails", &m.stat_proxy_start_fails),
        ("stat_proxy_existings", &m.stat_proxy_existings),
        ("stat_proxy_shutdowns", &m.stat_proxy_shutdowns),
    ] {
        line(
            &mut o,
            format!("proxy_main:stats:{k}"),
            c.load(Ordering::Relaxed),
        );
    }
    for p in &ctx.pools {
        let pre = format!("{}:pstd_stats:", p.prefix);
        for (k, v) in pool_totals(p).entries() {
            line(&mut o, format!("{pre}{k}"), v);
        }
        let sets = p.topology.features.tot_optimize_sets();
        line(&mut o, format!("{pre}tot_optimize_sets"), sets);
    }
    o
}

/// `frontcache`: each pool's `frontcache:*` (see `features`).
pub fn frontcache(ctx: &Ctx) -> Lines {
    ctx.pools
        .iter()
        .flat_map(|p| p.topology.features.frontcache_stats(p.port, &p.name))
        .collect()
}

/// `keystats`: each pool's `keystats:<key>:*` (see `features`).
pub fn keystats(ctx: &Ctx) -> Lines {
    ctx.pools
        .iter()
        .flat_map(|p| p.topology.features.keystats(p.port, &p.name))
        .collect()
}

/// `reset` of the front cache, key stats and optimize_set counters.
pub fn reset_features() {
    for p in &Ctx::now().pools {
        p.topology.features.reset_stats();
    }
}

/// The pool's request counters plus the connection counters of its
/// servers (each address once).
pub fn pool_totals(p: &PoolView) -> Totals {
    let mut t = p.topology.runtime.totals();
    let mut seen = HashSet::new();
    for h in &p.topology.health {
        if seen.insert(h.addr().to_owned()) {
            h.add_to(&mut t);
        }
    }
    t
}

fn histogram_lines(o: &mut Lines, name: &str, counts: &[u64; BINS]) {
    for row in rows(counts) {
        line(o, name, row);
    }
}

/// `timings` (with `time_stats=1`): per pool, connect times (`connect`),
/// request times of every command (`reserved`, moxi's name) and of each
/// command (`reserved:<command>`), in µs.
pub fn timings(ctx: &Ctx) -> Lines {
    let mut o = Lines::new();
    for p in &ctx.pools {
        let mut sum = [0u64; BINS];
        let mut seen = HashSet::new();
        for h in &p.topology.health {
            if seen.insert(h.addr().to_owned()) {
                for (s, c) in sum.iter_mut().zip(h.connect_time.counts()) {
                    *s += c;
                }
            }
        }
        histogram_lines(&mut o, &format!("{}:connect", p.prefix), &sum);
        let t = &p.topology.runtime.timings;
        histogram_lines(&mut o, &format!("{}:reserved", p.prefix), &t.all());
        for (cmd, counts) in t.by_command() {
            histogram_lines(&mut o, &format!("{}:reserved:{cmd}", p.prefix), &counts);
        }
    }
    o
}

/// `config`: each pool's configuration as given.
pub fn config(ctx: &Ctx) -> Lines {
    ctx.pools
        .iter()
        .map(|p| (format!("{}:config", p.prefix), p.topology.config.clone()))
        .collect()
}

/// `reset`: every `tot_` counter and histogram (`num_` gauges stay).
pub fn reset_counters() {
    crate::stats::reset_totals();
    for p in &Ctx::now().pools {
        p.topology.runtime.reset();
    }
    for h in crate::health::all() {
        h.counters.reset();
        h.connect_time.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            x_passwords(r#"{"name":"b","saslPassword":"pw1","x":"y"}"#),
            r#"{"name":"b","saslPassword":"XXX","x":"y"}"#
        );
        assert_eq!(x_passwords("no secrets"), "no secrets");
        assert_eq!(x_passwords(r#"a"assword""#), r#"a"assword""#);
    }

    #[test]
    fn every_behavior_is_listed() {
        let e = behavior_entries(&Behaviors::default());
        let get = |k: &str| e.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("downstream_protocol"), Some("8"));
        assert_eq!(get("wait_queue_timeout"), Some("200"));
        assert_eq!(get("default_bucket_name"), Some("[ <FIRST_BUCKET> ]"));
        assert_eq!(get("pwd"), None, "never printed");
        assert_eq!(e.len(), 32);
    }
}
