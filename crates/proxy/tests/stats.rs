//! Plain `stats` merged across two real memcached (behaviour inventory
//! 7.1: sums, keep-first and keep-max), `stats reset`, and `stats proxy`
//! answered locally for the pools that carry a label.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::collections::HashMap;

use common::{stats_lines, Client};
use proxy::topology::DownstreamProtocol;

fn map(lines: Vec<(String, String)>) -> HashMap<String, String> {
    lines.into_iter().collect()
}

fn num(m: &HashMap<String, String>, k: &str) -> u64 {
    m.get(k)
        .unwrap_or_else(|| panic!("no {k}"))
        .parse()
        .unwrap()
}

#[test]
fn stats_are_merged_by_moxis_rules() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mcs = common::memcacheds(2);
    let addrs: Vec<_> = mcs.iter().map(|m| m.addr()).collect();
    for ds in [DownstreamProtocol::Ascii, DownstreamProtocol::Binary] {
        let p = common::proxy_for(&addrs, ds);
        let mut c = Client::connect(p.addr());
        for i in 0..10 {
            c.send(format!("set merge{i} 0 0 1\r\nx\r\n").as_bytes());
            c.expect(b"STORED\r\n");
        }
        let before: Vec<_> = addrs
            .iter()
            .map(|a| map(stats_lines(*a, "stats")))
            .collect();
        let merged = map(stats_lines(p.addr(), "stats"));
        let after: Vec<_> = addrs
            .iter()
            .map(|a| map(stats_lines(*a, "stats")))
            .collect();
        for k in ["curr_items", "total_items", "cmd_set", "threads"] {
            let sum = num(&before[0], k) + num(&before[1], k);
            assert_eq!(num(&merged, k), sum, "{ds:?} {k} is summed");
        }
        for k in ["pid", "version", "libevent"] {
            assert_eq!(merged[k], before[0][k], "{ds:?} {k} keeps the first");
        }
        for k in ["limit_maxbytes", "pointer_size"] {
            let max = num(&before[0], k).max(num(&before[1], k));
            assert_eq!(num(&merged, k), max, "{ds:?} {k} keeps the largest");
        }
        let lo = num(&before[0], "uptime").max(num(&before[1], "uptime"));
        let hi = num(&after[0], "uptime").max(num(&after[1], "uptime"));
        assert!((lo..=hi).contains(&num(&merged, "uptime")), "{ds:?} uptime");
        let user = |m: &HashMap<String, String>| m["rusage_user"].parse::<f64>().unwrap();
        let r = user(&merged);
        assert!(
            r >= user(&before[0]) + user(&before[1]) - 1e-6,
            "floats summed"
        );
        assert!(merged["rusage_user"].contains('.'), "printed as a float");
        c.send(b"stats reset\r\n");
        c.expect(b"RESET\r\n");
        let reset = map(stats_lines(p.addr(), "stats"));
        assert_eq!(num(&reset, "cmd_set"), 0, "{ds:?}: both servers reset");
        assert_eq!(num(&reset, "curr_items"), num(&merged, "curr_items"));
        c.send(b"flush_all\r\n");
        c.expect(b"OK\r\n");
    }
}

#[test]
fn stats_proxy_is_answered_locally_for_labelled_pools() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let mcs = common::memcacheds(1);
    let mut topo = common::topology(
        common::servers_of(&[mcs[0].addr()]),
        DownstreamProtocol::Binary,
        Default::default(),
    );
    topo.config = "127.0.0.1:1".into();
    let p = common::start(topo);
    p.shared.set_label(p.addr().port(), "stats-test");
    let pre = format!("{}:stats-test", p.addr().port());
    let mut c = Client::connect(p.addr());
    c.send(b"set a 0 0 1\r\nx\r\nget a b a\r\n");
    c.expect(b"STORED\r\nVALUE a 0 1\r\nx\r\nVALUE a 0 1\r\nx\r\nEND\r\n");
    let all = map(stats_lines(p.addr(), "stats proxy"));
    assert_eq!(all["proxy_main:conf_type"], "static");
    assert_eq!(all[&format!("{pre}:info:config")], "127.0.0.1:1");
    assert_eq!(all[&format!("{pre}:pstd_stats:tot_multiget_keys")], "3");
    assert_eq!(
        all[&format!("{pre}:pstd_stats:tot_multiget_keys_dedupe")],
        "1"
    );
    assert_eq!(all[&format!("{pre}:pstd_stats:tot_cmd_count")], "2");
    assert_eq!(
        all[&format!("{pre}:pstd_stats:num_upstream")],
        "2",
        "this client and the one asking"
    );
    assert_eq!(all[&format!("{pre}:pstd_stats:num_downstream_conn")], "1");
    assert_eq!(all[&format!("{pre}:behavior:downstream_max")], "1024");
    let config = stats_lines(p.addr(), "stats proxy config");
    assert!(config.contains(&(format!("{pre}:config"), "127.0.0.1:1".into())));
    assert!(stats_lines(p.addr(), "stats proxy nonsense").is_empty());
    let mut b = Client::connect(p.addr());
    b.send(&common::bin(0x10, b"proxy config", &[], &[], 5));
    let f = b.read_frame();
    assert_eq!((f.opcode, f.status, f.opaque), (0x10, 0, 5));
    assert_eq!(
        (f.key, f.value),
        (
            format!("{pre}:config").into_bytes(),
            b"127.0.0.1:1".to_vec()
        )
    );
    let end = b.read_frame();
    assert!(
        end.key.is_empty() && end.value.is_empty(),
        "binary STAT ends empty"
    );
    c.send(b"stats proxy reset\r\n");
    c.expect(b"OK\r\n");
    let after = map(stats_lines(p.addr(), "stats proxy stats"));
    assert_eq!(after[&format!("{pre}:pstd_stats:tot_multiget_keys")], "0");
    assert_ne!(after[&format!("{pre}:pstd_stats:num_upstream")], "0");
    assert!(!after.contains_key("basic:version"), "only the stats group");
}
