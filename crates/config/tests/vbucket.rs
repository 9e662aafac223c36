//! vBucket JSON: the envelope, `$HOST`, every libvbucket error text, and the
//! `{"buckets":[...]}` REST body.
#![cfg(test)] // a test crate: clippy.toml lets its helpers unwrap too

use config::{parse_rest_body, NodeLocator, VbucketConfig, VbucketError};
use routing::Server;

const MAP: &str =
    r#"{"numReplicas":1,"serverList":["a:11210","b:11210"],"vBucketMap":[[0,1],[1,-1]]}"#;

fn err(json: &str) -> String {
    VbucketConfig::parse(json).unwrap_err().to_string()
}

#[test]
fn bare_map() {
    let c = VbucketConfig::parse(MAP).unwrap();
    assert_eq!(c.name, "default");
    assert_eq!(c.sasl_user(), None);
    assert_eq!(c.sasl_password, "");
    assert_eq!(c.node_locator, NodeLocator::Vbucket);
    assert!(c.ketama_servers.is_empty());
    assert_eq!(
        c.servers(),
        [Server::new("a", 11210, 0), Server::new("b", 11210, 0)]
    );
    let map = c.map.as_ref().unwrap();
    assert_eq!(map.map, [vec![0, 1], vec![1, -1]]);
    assert_eq!(map.forward, None);
    assert_eq!(c.raw, MAP);
}

#[test]
fn envelope_with_credentials_nodes_and_forward_map() {
    let json = r#"{"name":"bucket1","saslPassword":"pw","nodeLocator":"vbucket",
            "nodes":[{"hostname":"a:8091","ports":{"direct":11210},"thisNode":true}],
            "vBucketServerMap":{"hashAlgorithm":"MD5","numReplicas":0,
              "serverList":["$HOST:11210","b:11211"],
              "vBucketMap":[[0],[1]],"vBucketMapForward":[[1],[0],[1]]}}"#;
    let c = VbucketConfig::parse(json).unwrap();
    assert_eq!(c.name, "bucket1");
    assert_eq!(c.sasl_user(), Some("bucket1"));
    assert_eq!(c.sasl_password, "pw");
    let map = c.map.as_ref().unwrap();
    assert_eq!(map.servers, ["localhost:11210", "b:11211"]);
    assert_eq!(
        map.forward,
        Some(vec![vec![1], vec![0]]),
        "extra forward entries ignored"
    );
    assert_eq!(c.vbucket_servers[0], Server::new("localhost", 11210, 0));
}

#[test]
fn every_libvbucket_error_text() {
    let cases: &[(&str, &str)] = &[
        ("not json", "Failed to parse data. Invalid JSON?"),
        ("", "Failed to parse data. Invalid JSON?"),
        (r#"{"nodeLocator":1}"#, "Expected string for nodeLocator"),
        (r#"{"nodeLocator":"crc"}"#, "Unknown nodeLocator: crc"),
        (r#"{}"#, "Expected number <= 4 for numReplicas"),
        (r#"[1]"#, "Expected number <= 4 for numReplicas"),
        (
            r#"{"numReplicas":5}"#,
            "Expected number <= 4 for numReplicas",
        ),
        (
            r#"{"numReplicas":-1}"#,
            "Expected number <= 4 for numReplicas",
        ),
        (
            r#"{"numReplicas":"1"}"#,
            "Expected number <= 4 for numReplicas",
        ),
        (r#"{"numReplicas":0}"#, "Expected array for serverList"),
        (
            r#"{"numReplicas":0,"serverList":"a:1"}"#,
            "Expected array for serverList",
        ),
        (r#"{"numReplicas":0,"serverList":[]}"#, "Empty serverList"),
        (
            r#"{"numReplicas":0,"serverList":[1]}"#,
            "Expected array of strings for serverList",
        ),
        (
            r#"{"numReplicas":0,"serverList":["a:1"]}"#,
            "Expected array for vBucketMap",
        ),
        (
            r#"{"numReplicas":0,"serverList":["a:1"],"vBucketMap":[]}"#,
            "No vBuckets available; service maybe still initializing",
        ),
        (
            r#"{"numReplicas":0,"serverList":["a:1"],"vBucketMap":[[0],[0],[0]]}"#,
            "Number of vBuckets must be a power of two > 0 and <= 65536",
        ),
        (
            r#"{"numReplicas":1,"serverList":["a:1"],"vBucketMap":[[0],[0]]}"#,
            "Expected array of arrays each with numReplicas + 1 ints for vBucketMap",
        ),
        (
            r#"{"numReplicas":0,"serverList":["a:1"],"vBucketMap":[0,0]}"#,
            "Expected array of arrays each with numReplicas + 1 ints for vBucketMap",
        ),
        (
            r#"{"numReplicas":0,"serverList":["a:1"],"vBucketMap":[[0],[1]]}"#,
            "Server ID must be >= -1 and < num_servers",
        ),
        (
            r#"{"numReplicas":0,"serverList":["a:1"],"vBucketMap":[[0],[-2]]}"#,
            "Server ID must be >= -1 and < num_servers",
        ),
        (
            r#"{"numReplicas":0,"serverList":["a:1"],"vBucketMap":[[0],["0"]]}"#,
            "Server ID must be >= -1 and < num_servers",
        ),
        (
            r#"{"numReplicas":0,"serverList":["a:1"],"vBucketMap":[[0]],"vBucketMapForward":{}}"#,
            "Expected array for vBucketMapForward",
        ),
        (
            r#"{"numReplicas":0,"serverList":["a:1"],"vBucketMap":[[0],[0]],"vBucketMapForward":[[0]]}"#,
            "Expected array of arrays each with numReplicas + 1 ints for vBucketMap",
        ),
        (
            r#"{"numReplicas":0,"serverList":["a:1"],"nodes":{}}"#,
            "Expected array for nodes",
        ),
        (
            r#"{"numReplicas":0,"serverList":["a:1"],"nodes":[1]}"#,
            "Expected json object for nodes array item",
        ),
        (
            r#"{"numReplicas":0,"serverList":["a:1"],"nodes":[{}]}"#,
            "Expected string for node's hostname",
        ),
        (
            r#"{"numReplicas":0,"serverList":["a:1"],"nodes":[{"hostname":"a"}]}"#,
            "Expected json object for node's ports",
        ),
        (
            r#"{"numReplicas":0,"serverList":["a:1"],"nodes":[{"hostname":"a","ports":{}}]}"#,
            "Expected number for node's direct port",
        ),
        (
            r#"{"numReplicas":0,"serverList":["a"],"vBucketMap":[[0]]}"#,
            "missing port: a",
        ),
        (
            r#"{"numReplicas":0,"serverList":["a:0"],"vBucketMap":[[0]]}"#,
            "could not parse port: a:0",
        ),
        (
            r#"{"numReplicas":0,"serverList":["a:x"],"vBucketMap":[[0]]}"#,
            "could not parse port: a:x",
        ),
    ];
    for (json, want) in cases {
        assert_eq!(err(json), *want, "{json}");
    }
}

#[test]
fn vbucket_count_limits() {
    let map = |n: usize| {
        let entries = vec!["[0]"; n].join(",");
        format!(r#"{{"numReplicas":0,"serverList":["a:1"],"vBucketMap":[{entries}]}}"#)
    };
    assert!(VbucketConfig::parse(&map(1)).is_ok());
    assert!(VbucketConfig::parse(&map(65536)).is_ok());
    assert_eq!(
        VbucketConfig::parse(&map(131072)),
        Err(VbucketError::VbucketCount)
    );
}

#[test]
fn numbers_may_be_written_as_floats_without_fraction() {
    let json = r#"{"numReplicas":1.0,"serverList":["a:1","b:2"],"vBucketMap":[[0,1.0]]}"#;
    assert_eq!(
        VbucketConfig::parse(json).unwrap().map.unwrap().map,
        [vec![0, 1]]
    );
    let json = r#"{"numReplicas":0.5,"serverList":["a:1"],"vBucketMap":[[0]]}"#;
    assert_eq!(VbucketConfig::parse(json), Err(VbucketError::NumReplicas));
}

#[test]
fn stable_update() {
    let a = VbucketConfig::parse(MAP).unwrap();
    let moved = MAP.replace("[[0,1],[1,-1]]", "[[1,0],[0,1]]");
    let b = VbucketConfig::parse(&moved).unwrap();
    assert!(b.is_stable_update_of(&a));
    let other = VbucketConfig::parse(&MAP.replace("b:11210", "c:11210")).unwrap();
    assert!(!other.is_stable_update_of(&a));
}

#[test]
fn buckets_body_default_first_and_rejects_listed() {
    let body = format!(
        r#"{{"buckets":[
            {{"name":"b1","saslPassword":"p1","vBucketServerMap":{MAP}}},
            {{"name":"bad","vBucketServerMap":{{"numReplicas":9}}}},
            {{"vBucketServerMap":{MAP}}},
            7,
            {{"name":"k","nodeLocator":"ketama","nodes":[{{"hostname":"h:8091","ports":{{"direct":11211}}}}]}}
        ]}}"#
    );
    let update = parse_rest_body(body.as_bytes()).unwrap();
    let names: Vec<&str> = update.buckets.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["default", "b1", "k"]);
    assert_eq!(update.buckets[1].sasl_password, "p1");
    assert_eq!(
        update.buckets[2].ketama_servers,
        [Server::new("h", 11211, 0)]
    );
    assert!(update.buckets[1].raw.starts_with('{'));
    assert_eq!(
        update.rejected,
        [("bad".to_owned(), VbucketError::NumReplicas)]
    );
}

#[test]
fn rest_body_forms() {
    let empty = parse_rest_body(br#"{"buckets":[]}"#).unwrap();
    assert!(empty.buckets.is_empty() && empty.rejected.is_empty());
    let single = parse_rest_body(MAP.as_bytes()).unwrap();
    assert_eq!(single.buckets.len(), 1);
    assert_eq!(single.buckets[0].name, "default");
    assert_eq!(parse_rest_body(b"{nope"), Err(VbucketError::InvalidJson));
    assert_eq!(parse_rest_body(b"\xff\xfe"), Err(VbucketError::InvalidJson));
    assert_eq!(parse_rest_body(b"{}"), Err(VbucketError::NumReplicas));
}
