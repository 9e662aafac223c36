//! The golden vectors: every sample config in `testdata/vectors/libvbucket_configs`
//! parsed and routed as libvbucket did, the moxi runs of `moxi.jsonl`
//! reproduced from their `-z` / `-Z` arguments, and the README's
//! `vbucket1.cfg`.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use common::{
    assert_all, indices, jsonl, keys, no_files, one_file, read, testdata_dir, vectors_dir,
};
use config::{parse_behaviors, parse_cluster, Cluster, NodeLocator, PoolServers, VbucketConfig};
use routing::{Locator, Server};
use serde_json::Value;

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|s| s.as_str().expect("string").to_owned())
        .collect()
}

#[test]
fn every_sample_config_parses() {
    let dir = vectors_dir().join("libvbucket_configs");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .into_string()
                .expect("utf-8")
        })
        .collect();
    names.sort();
    assert!(
        names.len() >= 8,
        "expected the sample configs, found {names:?}"
    );
    for name in names {
        let json = read(&format!("libvbucket_configs/{name}"));
        let config = VbucketConfig::parse(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(config.name, "default", "{name}");
        assert!(!config.servers().is_empty(), "{name}");
        assert_eq!(config.raw, json.trim(), "{name}");
    }
}

#[test]
fn libvbucket_jsonl_routes_every_key() {
    let keys = keys();
    let cases = jsonl("libvbucket.jsonl");
    assert!(cases.len() >= 7);
    for case in &cases {
        let id = case["id"].as_str().expect("id");
        let json = read(case["config"].as_str().expect("config"));
        let config = VbucketConfig::parse(&json).unwrap_or_else(|e| panic!("{id}: {e}"));
        let order = strings(&case["servers_in_library_order"]);
        let expected = indices(&case["server_index"]);
        match case["distribution"].as_str().expect("distribution") {
            "vbucket" => {
                assert_eq!(config.node_locator, NodeLocator::Vbucket, "{id}");
                let map = config.map.as_ref().expect("map");
                assert_eq!(map.servers, order, "{id}");
                let authorities: Vec<String> = config
                    .vbucket_servers
                    .iter()
                    .map(Server::authority)
                    .collect();
                assert_eq!(authorities, order, "{id}");
                assert_eq!(
                    u64::from(map.num_vbuckets()),
                    case["num_vbuckets"].as_u64().expect("n")
                );
                let vbuckets = indices(&case["vbucket"]);
                assert_all(id, &keys, &vbuckets, |k| usize::from(map.vbucket(k)));
                assert_all(id, &keys, &expected, |k| map.locate(k).expect("master"));
            }
            "ketama" => {
                assert_eq!(config.node_locator, NodeLocator::Ketama, "{id}");
                let authorities = config.libvbucket_ketama_authorities().expect("nodes");
                let (locator, sorted) = Locator::libvbucket_ketama(&authorities).expect("locator");
                assert_eq!(sorted, order, "{id}");
                assert_all(id, &keys, &expected, |k| locator.locate(k));
            }
            other => panic!("{id}: unknown distribution {other}"),
        }
    }
}

#[test]
fn moxi_ketama_conversion_keeps_json_order() {
    let json = read("libvbucket_configs/ketama_rest_hostnames.json");
    let config = VbucketConfig::parse(&json).unwrap();
    assert_eq!(
        config.ketama_servers,
        [
            Server::new("10.0.0.2", 11212, 0),
            Server::new("10.0.0.1", 11211, 0),
            Server::new("10.0.0.3", 11213, 0)
        ]
    );
    let json = read("libvbucket_configs/ketama_hosts4_unsorted.json");
    let hosts: Vec<String> = VbucketConfig::parse(&json)
        .unwrap()
        .ketama_servers
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        hosts,
        [
            "mc3.example.com:11211",
            "mc1.example.com:11211",
            "mc4.example.com:11211",
            "mc2.example.com:11211"
        ]
    );
}

/// The `-z` and `-Z` values of a `moxi.jsonl` `args` string.
fn moxi_args(case: &Value) -> (String, String) {
    let args = case["args"].as_str().expect("args");
    if let Some(file) = case["config"].as_str() {
        return (format!("11211={}", read(file)), String::new());
    }
    let mut words = args.split_whitespace();
    let (mut z, mut big_z) = (String::new(), String::new());
    while let Some(flag) = words.next() {
        let value = words.next().expect("flag value");
        match flag {
            "-z" => z = value.replace("PORT", "11211"),
            "-Z" => big_z = value.to_owned(),
            other => panic!("unexpected flag {other}"),
        }
    }
    (z, big_z)
}

#[test]
fn moxi_jsonl_end_to_end_from_arguments() {
    let keys = keys();
    let cases = jsonl("moxi.jsonl");
    assert!(cases.len() >= 7);
    for case in &cases {
        let id = case["id"].as_str().expect("id");
        let (z, big_z) = moxi_args(case);
        let cluster = if case["config"].is_string() {
            parse_cluster("./moxi.cfg", one_file("./moxi.cfg", z))
        } else {
            parse_cluster(&z, no_files)
        }
        .unwrap_or_else(|e| panic!("{id}: {e}"));
        let (behaviors, warnings) = parse_behaviors(&big_z, no_files, |_| None).unwrap();
        assert!(warnings.is_empty(), "{id}");
        let Cluster::Static(pools) = cluster else {
            panic!("{id}: not static")
        };
        assert_eq!(pools.len(), 1);
        assert_eq!(pools[0].port, 11211);
        let want: Vec<Server> = case["servers"]
            .as_array()
            .expect("servers")
            .iter()
            .map(|s| {
                let port = u16::try_from(s["port"].as_u64().expect("port")).expect("u16");
                let weight = u32::try_from(s["weight"].as_u64().expect("w")).expect("u32");
                Server::new(s["host"].as_str().expect("host"), port, weight)
            })
            .collect();
        let expected = indices(&case["index"]);
        match &pools[0].servers {
            PoolServers::List(servers) => {
                assert_eq!(servers, &want, "{id}");
                let locator = behaviors.mcs_opts.locator(servers).expect("locator");
                assert_all(id, &keys, &expected, |k| locator.locate(k));
            }
            PoolServers::Vbucket(config) => {
                assert_eq!(config.vbucket_servers, want, "{id}");
                let map = config.map.as_ref().expect("map");
                assert_all(id, &keys, &expected, |k| map.locate(k).expect("master"));
            }
        }
    }
}

#[test]
fn readme_vbucket1_cfg_verbatim() {
    let readme = testdata_dir().join("moxi-README.txt");
    let readme = std::fs::read_to_string(&readme)
        .unwrap_or_else(|e| panic!("reading {}: {e}", readme.display()));
    let start = readme
        .find("  11211 = {")
        .expect("vbucket1.cfg example in README");
    let len = readme[start..].find("\n  }\n").expect("end of example") + "\n  }\n".len();
    let file = readme[start..start + len].to_owned();
    let cluster = parse_cluster("./vbucket1.cfg", one_file("./vbucket1.cfg", file)).unwrap();
    let Cluster::Static(pools) = cluster else {
        panic!("not static")
    };
    assert_eq!(pools.len(), 1);
    assert_eq!(pools[0].port, 11211);
    let PoolServers::Vbucket(config) = &pools[0].servers else {
        panic!("not a vBucket config")
    };
    assert_eq!(
        config.vbucket_servers,
        [Server::new("memcached_svr1", 11311, 0)]
    );
    let map = config.map.as_ref().expect("map");
    assert_eq!(map.num_vbuckets(), 2);
    assert_eq!(map.locate(b"anything"), Some(0));
}
