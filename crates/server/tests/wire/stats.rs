//! `stats`: memcached 1.6.18's general names in its order, `stats reset`,
//! `stats settings`, and the per-key counting of multi-gets.

use server::settings::Settings;

use crate::client::{bin, op, settings, start, status, Conn};

fn names(stats: &[(String, String)]) -> Vec<&str> {
    stats.iter().map(|(n, _)| n.as_str()).collect()
}

fn value<'a>(stats: &'a [(String, String)], name: &str) -> &'a str {
    stats
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no stat {name} in {stats:?}"))
}

#[test]
fn general_stat_names_match_memcached_in_order() {
    if !testkit::require_tool("memcached") {
        return;
    }
    let reference = testkit::Memcached::start(&["-U", "0", "-t", "2"]).unwrap();
    let server = start(settings());
    let want = Conn::open(reference.addr()).stats("");
    let got = Conn::open(server.local_addrs()[0]).stats("");
    assert_eq!(names(&got), names(&want));
    let want = Conn::open(reference.addr()).stats("settings");
    let got = Conn::open(server.local_addrs()[0]).stats("settings");
    // Every setting we print is one memcached prints, in memcached's order.
    let mut theirs = names(&want).into_iter();
    for name in names(&got) {
        assert!(
            theirs.any(|n| n == name),
            "stats settings: {name} unknown to memcached or out of order"
        );
    }
}

#[test]
fn multiget_counts_per_key() {
    let server = start(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    assert_eq!(c.set("a", 0, b"1"), "STORED");
    assert_eq!(c.set("b", 0, b"2"), "STORED");
    assert_eq!(c.retrieve("get a b c d").len(), 2);
    assert_eq!(c.retrieve("gets a zz").len(), 1);
    let s = c.stats("");
    assert_eq!(value(&s, "cmd_get"), "6");
    assert_eq!(value(&s, "get_hits"), "3");
    assert_eq!(value(&s, "get_misses"), "3");
    assert_eq!(value(&s, "cmd_set"), "2");
    assert_eq!(value(&s, "curr_items"), "2");
}

#[test]
fn binary_gets_count_like_ascii() {
    let server = start(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    let ex = crate::client::store_extras(0, 0);
    assert_eq!(
        c.request(&bin(op::SET, b"a", &ex, b"1", 1)).status,
        status::OK
    );
    assert_eq!(
        c.request(&bin(op::GET, b"a", b"", b"", 2)).status,
        status::OK
    );
    assert_eq!(
        c.request(&bin(op::GETK, b"z", b"", b"", 3)).status,
        status::NOT_FOUND
    );
    let mut a = Conn::open(server.local_addrs()[0]);
    let s = a.stats("");
    assert_eq!(
        (
            value(&s, "cmd_get"),
            value(&s, "get_hits"),
            value(&s, "get_misses")
        ),
        ("2", "1", "1")
    );
}

#[test]
fn item_bytes_follow_memcacheds_item_size() {
    let server = start(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    // 48 header + key 1 + 1 + value 20 + 2 + 8 CAS = 80 bytes.
    assert_eq!(c.set("a", 0, &[b'x'; 20]), "STORED");
    assert_eq!(c.stat("bytes"), 80);
    // Non-zero flags add 4.
    assert_eq!(c.store("set b 5 0 20", &[b'x'; 20]), "STORED");
    assert_eq!(c.stat("bytes"), 164);
    assert_eq!(c.call("delete a"), "DELETED");
    assert_eq!(c.stat("bytes"), 84);
    assert_eq!(c.stat("curr_items"), 1);
}

#[test]
fn stats_reset_zeroes_counters_but_not_items() {
    let server = start(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    assert_eq!(c.set("a", 0, b"1"), "STORED");
    assert_eq!(c.retrieve("get a a b").len(), 2);
    assert_eq!(c.call("incr a 1"), "2");
    assert_eq!(c.call("delete zz"), "NOT_FOUND");
    let s = c.stats("");
    assert_eq!((value(&s, "get_hits"), value(&s, "incr_hits")), ("2", "1"));
    assert_eq!(value(&s, "delete_misses"), "1");
    assert_eq!(c.call("stats reset"), "RESET");
    let s = c.stats("");
    for name in [
        "cmd_get",
        "get_hits",
        "get_misses",
        "cmd_set",
        "incr_hits",
        "delete_misses",
    ] {
        assert_eq!(value(&s, name), "0", "{name} not reset");
    }
    assert_eq!(value(&s, "curr_items"), "1", "reset must keep items");
    assert_eq!(c.value("a").as_deref(), Some(&b"2"[..]));
    assert_eq!(c.stat("get_hits"), 1, "counting resumes after a reset");
}

#[test]
fn stats_settings_reflect_the_settings() {
    let server = start(Settings {
        max_conns: 77,
        max_bytes: 3 * 1024 * 1024,
        item_size_max: 512 * 1024,
        cas_disabled: true,
        no_evict: true,
        ..settings()
    });
    let mut c = Conn::open(server.local_addrs()[0]);
    let s = c.stats("settings");
    assert_eq!(value(&s, "maxbytes"), "3145728");
    assert_eq!(value(&s, "maxconns"), "77");
    assert_eq!(value(&s, "item_size_max"), "524288");
    assert_eq!(value(&s, "cas_enabled"), "no");
    assert_eq!(value(&s, "evictions"), "off");
    assert_eq!(value(&s, "num_threads"), "2");
    assert_eq!(
        value(&s, "tcpport"),
        server.local_addrs()[0].port().to_string()
    );
    assert_eq!(value(&s, "binding_protocol"), "auto-negotiate");
    let g = c.stats("");
    assert_eq!(value(&g, "limit_maxbytes"), "3145728");
    assert_eq!(value(&g, "max_connections"), "77");
    // -C: every CAS is 0.
    assert_eq!(c.set("k", 0, b"v"), "STORED");
    assert_eq!(c.retrieve("gets k")[0].cas, Some(0));
}

#[test]
fn disabled_flush_is_refused_and_counted_like_memcached() {
    let server = start(Settings {
        flush_disabled: true,
        ..settings()
    });
    let addr = server.local_addrs()[0];
    let mut c = Conn::open(addr);
    assert_eq!(c.set("a", 0, b"x"), "STORED");
    assert_eq!(c.call("flush_all"), "CLIENT_ERROR flush_all not allowed");
    assert_eq!(c.call("flush_all 10"), "CLIENT_ERROR flush_all not allowed");
    // Binary FLUSH and FLUSHQ: an auth failure, even when quiet.
    let mut b = Conn::open(addr);
    let r = b.request(&bin(0x08, b"", b"", b"", 1));
    assert_eq!(
        (r.status, r.value.as_slice()),
        (0x20, &b"Auth failure."[..])
    );
    let r = b.request(&bin(0x18, b"", b"", b"", 2));
    assert_eq!((r.status, r.opaque), (0x20, 2));
    assert_eq!(
        c.value("a").as_deref(),
        Some(&b"x"[..]),
        "the cache was flushed"
    );
    // memcached counts refused ascii flushes, not binary ones.
    assert_eq!(c.stat("cmd_flush"), 2);
    let s = c.stats("settings");
    assert_eq!(value(&s, "flush_enabled"), "no");
}

#[test]
fn cache_memlimit_sets_maxbytes_at_run_time() {
    let server = start(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    assert_eq!(c.call("cache_memlimit 100"), "OK");
    assert_eq!(value(&c.stats(""), "limit_maxbytes"), "104857600");
    assert_eq!(value(&c.stats("settings"), "maxbytes"), "104857600");
    assert_eq!(server.engine().max_bytes(), 100 << 20);
    // Refused values leave it.
    assert_eq!(
        c.call("cache_memlimit 7"),
        "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m"
    );
    assert_eq!(c.call("cache_memlimit x"), "ERROR");
    assert_eq!(value(&c.stats(""), "limit_maxbytes"), "104857600");
}

#[test]
fn stats_settings_show_stats_detail() {
    let server = start(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    assert_eq!(value(&c.stats("settings"), "detail_enabled"), "no");
    assert_eq!(c.call("stats detail on"), "OK");
    assert_eq!(value(&c.stats("settings"), "detail_enabled"), "yes");
    assert_eq!(value(&c.stats("settings"), "stat_key_prefix"), ":");
}

#[test]
fn d_sets_the_delimiter_and_turns_detail_on() {
    let server = start(Settings {
        prefix_delimiter: Some(b'/'),
        ..settings()
    });
    let mut c = Conn::open(server.local_addrs()[0]);
    assert_eq!(value(&c.stats("settings"), "detail_enabled"), "yes");
    assert_eq!(value(&c.stats("settings"), "stat_key_prefix"), "/");
    assert_eq!(c.set("a/1", 0, b"x"), "STORED");
    c.send("stats detail dump\r\n");
    assert_eq!(c.line(), "PREFIX a get 0 hit 0 set 1 del 0");
    assert_eq!(c.line(), "END");
}

#[test]
fn stats_conns_lists_each_connection_as_memcached_does() {
    let server = start(settings());
    let addr = server.local_addrs()[0];
    let mut used = Conn::open(addr);
    assert!(used.call("version").starts_with("VERSION "));
    let fresh = Conn::open(addr);
    let mut asking = Conn::open(addr);
    // A connection is listed once a worker has taken it from the acceptor,
    // which may be after the client's connect returned (`fresh` sends
    // nothing to wait on): ask until all three are there.
    let mut stats = Vec::new();
    crate::client::eventually("every open connection is listed", || {
        stats = asking.stats("conns");
        stats.len() == 12
    });
    let state_of = |c: &Conn| {
        let me = format!("tcp:{}", c.writer().local_addr().unwrap());
        let (name, _) = stats.iter().find(|(_, v)| *v == me).expect("listed");
        let fd = name.strip_suffix(":addr").unwrap().to_string();
        assert_eq!(
            value(&stats, &format!("{fd}:listen_addr")),
            format!("tcp:{addr}")
        );
        // (0, or 1 when a second boundary passed in between.)
        let idle: u64 = value(&stats, &format!("{fd}:secs_since_last_cmd"))
            .parse()
            .unwrap();
        assert!(idle <= 1, "{idle}");
        value(&stats, &format!("{fd}:state")).to_string()
    };
    assert_eq!(state_of(&asking), "conn_parse_cmd");
    assert_eq!(state_of(&used), "conn_read");
    assert_eq!(state_of(&fresh), "conn_new_cmd");
    // A closed connection leaves the table.
    drop(used);
    drop(fresh);
    crate::client::eventually("closed connections leave stats conns", || {
        asking.stats("conns").len() == 4
    });
}

#[test]
fn binary_stat_detail_dumps_one_detailed_stat() {
    const STAT: u8 = 0x10;
    let server = start(settings());
    let mut c = Conn::open(server.local_addrs()[0]);
    let on = c.request(&bin(STAT, b"detail on", b"", b"", 1));
    assert_eq!((on.status, on.key.len()), (status::OK, 0));
    let ex = crate::client::store_extras(0, 0);
    assert_eq!(
        c.request(&bin(op::SET, b"a:1", &ex, b"x", 2)).status,
        status::OK
    );
    let dump = c.request(&bin(STAT, b"detail dump", b"", b"", 3));
    assert_eq!(&dump.key[..], b"detailed");
    assert_eq!(
        &dump.value[..],
        b"PREFIX a get 0 hit 0 set 1 del 0\r\nEND\r\n"
    );
    assert_eq!(c.frame().key.len(), 0, "the terminating stat");
    let miss = c.request(&bin(STAT, b"detail x", b"", b"", 4));
    assert_eq!(miss.status, status::NOT_FOUND);
}
