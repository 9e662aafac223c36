//! Every golden vector file in `testdata/vectors`, asserted key by key.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{assert_all, indices, json, jsonl, keys, servers, strings};
use routing::{vbucket_id, HashFn, HashTag, LibmemcachedDistribution, Locator, VbucketMap};
use serde_json::Value;

/// libmemcached.jsonl cases whose mode this crate does not implement. Empty:
/// every case is expressible. A case that cannot be built and is not listed
/// here fails the test, so nothing is skipped silently.
const LIBMEMCACHED_SKIP: &[&str] = &[];

#[test]
fn hashes_json_every_function_every_key() {
    let keys = keys();
    let doc = json("hashes.json");
    let functions = doc["functions"].as_object().expect("functions object");
    let names: BTreeSet<&str> = functions.keys().map(String::as_str).collect();
    let expected_names = [
        "crc",
        "fnv1_32",
        "fnv1_64",
        "fnv1a_32",
        "fnv1a_64",
        "jenkins",
        "md5",
        "murmur",
        "murmur3",
        "one_at_a_time",
    ];
    assert_eq!(names, expected_names.into_iter().collect());
    for (name, values) in functions {
        let f: HashFn = name.parse().expect("hash name parses");
        let values = values.as_array().expect("values");
        assert_eq!(values.len(), keys.len(), "{name}");
        let bad: Vec<usize> = (0..keys.len())
            .filter(|&i| values[i].as_u64() != Some(u64::from(f.hash(&keys[i]))))
            .collect();
        assert!(
            bad.is_empty(),
            "{name}: {} keys differ, first at {:?}",
            bad.len(),
            &bad[..bad.len().min(5)]
        );
    }
}

/// The locator for one libmemcached.jsonl case, or `None` for a mode this
/// crate does not implement.
fn libmemcached_locator(case: &Value) -> Option<Locator> {
    let distribution = match case["distribution"].as_str()? {
        "MEMCACHED_DISTRIBUTION_MODULA" => LibmemcachedDistribution::Modula,
        "MEMCACHED_DISTRIBUTION_CONSISTENT"
        | "MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA"
        | "MEMCACHED_DISTRIBUTION_CONSISTENT_WEIGHTED" => LibmemcachedDistribution::Ketama,
        "MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA_SPY" => LibmemcachedDistribution::KetamaSpy,
        _ => return None,
    };
    let key_hash: HashFn = case["key_hash"].as_str()?.parse().ok()?;
    let weighted = case["weighted_continuum"].as_bool()?;
    Some(
        Locator::libmemcached(&servers(&case["servers"]), distribution, key_hash, weighted)
            .expect("builds"),
    )
}

#[test]
fn libmemcached_jsonl_all_cases() {
    let keys = keys();
    let cases = jsonl("libmemcached.jsonl");
    assert_eq!(cases.len(), 96);
    let mut checked = 0;
    for case in &cases {
        let id = case["id"].as_str().expect("id");
        let Some(locator) = libmemcached_locator(case) else {
            assert!(
                LIBMEMCACHED_SKIP.contains(&id),
                "{id}: unsupported mode and not in the skip list"
            );
            continue;
        };
        let points = locator.distribution().continuum().map_or(0, |c| c.len());
        assert_eq!(
            Some(points as u64),
            case["continuum_points"].as_u64(),
            "{id}: continuum size"
        );
        assert_all(id, &keys, &indices(&case["index"]), |k| locator.locate(k));
        checked += 1;
    }
    assert_eq!(checked + LIBMEMCACHED_SKIP.len(), cases.len());
}

#[test]
fn libmemcached_continuum_dumps() {
    let cases: BTreeMap<String, Value> = jsonl("libmemcached.jsonl")
        .into_iter()
        .map(|c| (c["id"].as_str().expect("id").to_owned(), c))
        .collect();
    let dumps = jsonl("libmemcached_continuum.jsonl");
    assert!(!dumps.is_empty());
    for dump in &dumps {
        let id = dump["id"].as_str().expect("id");
        let case = cases
            .get(id)
            .unwrap_or_else(|| panic!("{id}: no libmemcached.jsonl case"));
        let locator = libmemcached_locator(case).expect("consistent cases are all supported");
        let got = locator
            .distribution()
            .continuum()
            .expect("a continuum")
            .points();
        let want: Vec<(u32, u32)> = dump["points"]
            .as_array()
            .expect("points")
            .iter()
            .map(|p| {
                (
                    p[0].as_u64().expect("value") as u32,
                    p[1].as_u64().expect("index") as u32,
                )
            })
            .collect();
        assert_eq!(got.len(), want.len(), "{id}: point count");
        assert!(got == want.as_slice(), "{id}: continuum differs");
    }
    // Every consistent-hashing case has a dump.
    let consistent = cases
        .values()
        .filter(|c| c["continuum_points"].as_u64() != Some(0))
        .count();
    assert_eq!(consistent, dumps.len());
}

#[test]
fn nutcracker_jsonl_all_pools() {
    let keys = keys();
    let pools = jsonl("nutcracker.jsonl");
    assert_eq!(pools.len(), 11);
    for pool in &pools {
        let id = pool["id"].as_str().expect("id");
        let servers = servers(&pool["servers"]);
        let hash: HashFn = pool["hash"]
            .as_str()
            .expect("hash")
            .parse()
            .expect("twemproxy hash name");
        let names: Vec<Option<&str>> = pool["servers"]
            .as_array()
            .expect("servers")
            .iter()
            .map(|s| s["name"].as_str())
            .collect();
        let mut locator = match pool["distribution"].as_str().expect("distribution") {
            "ketama" => Locator::twemproxy_ketama_named(&servers, &names, hash),
            "modula" => Locator::twemproxy_modula(&servers, hash),
            other => panic!("{id}: unexpected distribution {other}"),
        }
        .expect("builds");
        if let Some(tag) = pool["hash_tag"].as_str() {
            locator = locator.with_hash_tag(HashTag::new(tag.as_bytes()).expect("two-byte tag"));
        }
        assert_all(id, &keys, &indices(&pool["index"]), |k| locator.locate(k));
    }
}

#[test]
fn moxi_jsonl_all_runs() {
    let keys = keys();
    let runs = jsonl("moxi.jsonl");
    assert_eq!(runs.len(), 7);
    for run in &runs {
        let id = run["id"].as_str().expect("id");
        let expected = indices(&run["index"]);
        let servers = servers(&run["servers"]);
        let mode = id.split('/').nth(1).expect("moxi/MODE/LIST");
        if mode == "vbucket64" {
            let map = vbucket_map(&json(run["config"].as_str().expect("config")));
            assert_all(id, &keys, &expected, |k| {
                map.locate(k).expect("mapped master")
            });
            continue;
        }
        let locator = match mode {
            "default" => Locator::moxi_ketama_weighted(&servers),
            "ketama" => Locator::moxi_ketama(&servers),
            "modula" => Locator::moxi_modula(&servers),
            other => panic!("{id}: unexpected moxi mode {other}"),
        }
        .expect("builds");
        assert_all(id, &keys, &expected, |k| locator.locate(k));
    }
}

#[test]
fn vbucket_json_all_counts() {
    let keys = keys();
    let doc = json("vbucket.json");
    let by_count = doc["vbucket_by_count"]
        .as_object()
        .expect("vbucket_by_count");
    let counts: BTreeSet<&str> = by_count.keys().map(String::as_str).collect();
    assert_eq!(counts, ["1", "1024", "2", "64"].into_iter().collect());
    for (count, ids) in by_count {
        let n: u32 = count.parse().expect("count");
        assert_all(&format!("vbucket {n}"), &keys, &indices(ids), |k| {
            usize::from(vbucket_id(k, n))
        });
    }
}

/// The bare server map of a libvbucket config (bare or in an envelope).
fn vbucket_map(config: &Value) -> VbucketMap {
    let m = config.get("vBucketServerMap").unwrap_or(config);
    let table = |v: &Value| -> Vec<Vec<i32>> {
        v.as_array()
            .expect("map")
            .iter()
            .map(|e| {
                e.as_array()
                    .expect("entry")
                    .iter()
                    .map(|i| i.as_i64().expect("int") as i32)
                    .collect()
            })
            .collect()
    };
    let forward = m.get("vBucketMapForward").map(table);
    let map = VbucketMap::try_new(strings(&m["serverList"]), table(&m["vBucketMap"]), forward)
        .expect("valid map");
    assert_eq!(Some(map.num_replicas() as u64), m["numReplicas"].as_u64());
    map
}

/// A node's libvbucket authority: its hostname with the direct port.
fn authority(node: &Value) -> String {
    let host = node["hostname"]
        .as_str()
        .expect("hostname")
        .split(':')
        .next()
        .expect("host");
    format!(
        "{host}:{}",
        node["ports"]["direct"].as_u64().expect("direct port")
    )
}

#[test]
fn libvbucket_jsonl_all_configs() {
    let keys = keys();
    let runs = jsonl("libvbucket.jsonl");
    assert_eq!(runs.len(), 7);
    for run in &runs {
        let id = run["id"].as_str().expect("id");
        let config = json(run["config"].as_str().expect("config"));
        let order = strings(&run["servers_in_library_order"]);
        let expected = indices(&run["server_index"]);
        match run["distribution"].as_str().expect("distribution") {
            "vbucket" => {
                let map = vbucket_map(&config);
                assert_eq!(map.servers, order, "{id}");
                assert_eq!(
                    Some(u64::from(map.num_vbuckets())),
                    run["num_vbuckets"].as_u64()
                );
                assert_all(id, &keys, &indices(&run["vbucket"]), |k| {
                    usize::from(map.vbucket(k))
                });
                assert_all(id, &keys, &expected, |k| {
                    map.locate(k).expect("mapped master")
                });
            }
            "ketama" => {
                let nodes = config["nodes"].as_array().expect("nodes");
                let authorities: Vec<String> = nodes.iter().map(authority).collect();
                let (locator, sorted) = Locator::libvbucket_ketama(&authorities).expect("builds");
                assert_eq!(sorted, order, "{id}: library order");
                assert_all(id, &keys, &expected, |k| locator.locate(k));
            }
            other => panic!("{id}: unexpected distribution {other}"),
        }
    }
}

#[test]
fn libvbucket_forward_map_rules() {
    let with_forward = vbucket_map(&json("libvbucket_configs/vbucket_64.json"));
    let forward = with_forward
        .forward
        .clone()
        .expect("vbucket_64.json has a forward map");
    for vb in 0..64u16 {
        let mut m = with_forward.clone();
        let want = usize::try_from(forward[usize::from(vb)][0]).ok();
        assert_eq!(m.found_incorrect_master(vb, 0), want, "vb {vb}");
        assert_eq!(
            m.map[usize::from(vb)],
            forward[usize::from(vb)],
            "vb {vb}: replicas copied too"
        );
    }
    let without = vbucket_map(&json("libvbucket_configs/vbucket_1024.json"));
    for vb in 0..1024u16 {
        let mut m = without.clone();
        let master = m.master(vb).expect("every vBucket has a master");
        let bystander = (master + 1) % 3;
        assert_eq!(
            m.found_incorrect_master(vb, bystander),
            Some(master),
            "vb {vb}: not the master"
        );
        assert_eq!(
            m.found_incorrect_master(vb, master),
            Some((master + 1) % 3),
            "vb {vb}"
        );
    }
}
