//! vBucket / ketama JSON and the REST `{"buckets":[..]}` body under fuzzing.

use serde_json::{json, Value};

use crate::rest::parse_rest_body;
use crate::vbucket::{NodeLocator, VbucketConfig};

/// Feeds `data` to [`VbucketConfig::parse_bytes`] and [`parse_rest_body`].
///
/// Invariants: an accepted vBucket config holds a valid map whose servers
/// are the parsed `serverList`, routes keys to one of them, and is a stable
/// update of itself; an accepted ketama config has servers and no map.
/// Rendered as canonical JSON (name, password, locator, the map with its
/// forward map) it parses back to the same config. A body without a
/// `buckets` array means the same to both parsers; with one, every bucket
/// configured parses alone (from its own JSON) to the same config, the
/// `default` bucket comes first, and no bucket object is lost.
pub fn fuzz_vbucket_json(data: &[u8]) {
    let single = VbucketConfig::parse_bytes(data);
    if let Ok(config) = &single {
        check_config(config);
    }
    let has_buckets = serde_json::from_slice::<Value>(data)
        .ok()
        .and_then(|v| v.get("buckets").and_then(Value::as_array).map(Vec::len));
    let body = parse_rest_body(data);
    match (has_buckets, body) {
        (None, body) => {
            let body = body.map(|update| {
                assert!(update.rejected.is_empty(), "single body with rejects");
                update.buckets
            });
            assert_eq!(body, single.map(|c| vec![c]), "REST body differs");
        }
        (Some(_), Err(e)) => panic!("JSON with a buckets array refused: {e}"),
        (Some(entries), Ok(update)) => {
            assert!(
                update.buckets.len() + update.rejected.len() <= entries,
                "more buckets than entries"
            );
            let first_other = update.buckets.iter().position(|b| b.name != "default");
            if let Some(i) = first_other {
                assert!(
                    update.buckets[i..].iter().all(|b| b.name != "default"),
                    "a default bucket after another"
                );
            }
            for bucket in &update.buckets {
                check_config(bucket);
                match VbucketConfig::parse(&bucket.raw) {
                    Ok(alone) => assert_eq!(&alone, bucket, "bucket parsed alone"),
                    Err(e) => panic!("bucket {:?} refused alone: {e}", bucket.raw),
                }
            }
        }
    }
}

fn check_config(config: &VbucketConfig) {
    assert!(config.is_stable_update_of(config), "not stable to itself");
    assert!(!config.servers().is_empty(), "accepted without servers");
    for s in config.servers() {
        assert!(!s.host.is_empty() && s.port != 0, "bad server {s:?}");
    }
    match (config.node_locator, &config.map) {
        (NodeLocator::Vbucket, Some(map)) => {
            assert_eq!(map.validate(), Ok(()), "invalid map accepted");
            let count = config.servers().len();
            assert_eq!(count, map.servers.len(), "servers differ from serverList");
            assert!(config.ketama_servers.is_empty());
            for key in [&b""[..], b"a", b"key", b"\xff\x00"] {
                if let Some(i) = map.locate(key) {
                    assert!(i < map.servers.len(), "key routed out of range");
                }
            }
        }
        (NodeLocator::Ketama, None) => assert!(config.vbucket_servers.is_empty()),
        (locator, map) => panic!("locator {locator:?} with map {map:?}"),
    }
    // `$HOST` is replaced once per string, so a rendering holding a second
    // `$HOST` would not read back the same; such hosts cannot be reached.
    let hosts = config.servers().iter().map(|s| s.host.as_str());
    let in_map = config
        .map
        .iter()
        .flat_map(|m| m.servers.iter().map(String::as_str));
    if !hosts.chain(in_map).any(|s| s.contains("$HOST")) {
        let rendered = render(config).to_string();
        match VbucketConfig::parse(&rendered) {
            Ok(again) => assert_eq!(
                VbucketConfig {
                    raw: config.raw.clone(),
                    ..again
                },
                *config,
                "rendered as {rendered}"
            ),
            Err(e) => panic!("rendered as {rendered}, refused: {e}"),
        }
    }
}

/// The canonical JSON of a config.
fn render(config: &VbucketConfig) -> Value {
    let authorities: Vec<String> = config.servers().iter().map(|s| s.authority()).collect();
    let mut server_map = json!({ "serverList": authorities });
    let locator = match (config.node_locator, &config.map) {
        (NodeLocator::Vbucket, Some(map)) => {
            // As given (after `$HOST`), so that `h:01` stays `h:01`.
            server_map["serverList"] = json!(map.servers);
            server_map["numReplicas"] = json!(map.num_replicas());
            server_map["vBucketMap"] = json!(map.map);
            if let Some(forward) = &map.forward {
                server_map["vBucketMapForward"] = json!(forward);
            }
            "vbucket"
        }
        _ => "ketama",
    };
    json!({
        "name": config.name,
        "saslPassword": config.sasl_password,
        "nodeLocator": locator,
        "vBucketServerMap": server_map,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_corpus() {
        super::super::run_corpus("vbucket_json", 8, fuzz_vbucket_json);
    }
}
