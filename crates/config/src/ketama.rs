//! `"nodeLocator": "ketama"` buckets (memcached buckets). Two readings exist:
//!
//! * moxi's REST path converts the JSON into a libmemcached `host:port` list
//!   and hashes it with ketama-weighted ([`VbucketConfig::ketama_servers`]);
//! * libvbucket's own reading (used by moxi only for a ketama JSON given
//!   statically in `-z`): every node's `host:direct` authority, sorted, for
//!   `routing::Locator::libvbucket_ketama`
//!   ([`VbucketConfig::libvbucket_ketama_authorities`]).

use serde_json::{Map, Value};

use crate::error::VbucketError;
use crate::vbucket::{as_int, node_authority, parse_host_port, substitute_host, VbucketConfig};
use routing::Server;

/// moxi's conversion (`cproxy_on_config_json_one_ketama`):
/// `vBucketServerMap.serverList` when it is an array, else `nodes`. String
/// entries are `host:port`; object entries are nodes: skipped when `status`
/// is a string other than `"healthy"`, else `hostname` (without `:port`)
/// plus `ports.direct`. `$HOST` becomes `localhost` (moxi did not substitute
/// here; a literal `$HOST` host could never be reached anyway).
pub(crate) fn moxi_ketama_servers(top: &Map<String, Value>) -> Result<Vec<Server>, VbucketError> {
    let server_list = top
        .get("vBucketServerMap")
        .and_then(|m| m.get("serverList"))
        .and_then(Value::as_array);
    let list = server_list
        .or_else(|| top.get("nodes").and_then(Value::as_array))
        .ok_or(VbucketError::KetamaNoServers)?;
    let mut servers = Vec::with_capacity(list.len());
    for (index, item) in list.iter().enumerate() {
        let bad = |reason| VbucketError::KetamaEntry { index, reason };
        match item {
            Value::String(s) => {
                let server =
                    parse_host_port(&substitute_host(s)).map_err(|_| bad("not host:port"))?;
                servers.push(server);
            }
            Value::Object(node) => {
                if let Some(status) = node.get("status").and_then(Value::as_str) {
                    if status != "healthy" {
                        continue;
                    }
                }
                let hostname = node
                    .get("hostname")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("no hostname"))?;
                let direct = node
                    .get("ports")
                    .and_then(|p| p.get("direct"))
                    .and_then(as_int)
                    .and_then(|p| u16::try_from(p).ok())
                    .filter(|&p| p > 0)
                    .ok_or_else(|| bad("no ports.direct port"))?;
                let host = substitute_host(hostname.split(':').next().unwrap_or(hostname));
                if host.is_empty() {
                    return Err(bad("empty hostname"));
                }
                servers.push(Server::new(host, direct, 0));
            }
            _ => return Err(bad("neither a string nor an object")),
        }
    }
    if servers.is_empty() {
        return Err(VbucketError::KetamaEmpty);
    }
    Ok(servers)
}

impl VbucketConfig {
    /// libvbucket's reading of a ketama config: every node's `host:direct`
    /// authority in JSON order (status ignored, port always present), with
    /// libvbucket's error texts. `routing::Locator::libvbucket_ketama` sorts
    /// them. Re-reads [`VbucketConfig::raw`].
    pub fn libvbucket_ketama_authorities(&self) -> Result<Vec<String>, VbucketError> {
        let value: Value =
            serde_json::from_str(&self.raw).map_err(|_| VbucketError::InvalidJson)?;
        let nodes = value
            .get("nodes")
            .and_then(Value::as_array)
            .ok_or(VbucketError::NodesNotArray)?;
        if nodes.is_empty() {
            return Err(VbucketError::EmptyServerList);
        }
        nodes.iter().map(node_authority).collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::error::VbucketError;
    use crate::vbucket::{NodeLocator, VbucketConfig};
    use routing::Server;

    fn servers(json: &str) -> Result<Vec<Server>, VbucketError> {
        VbucketConfig::parse(json).map(|c| {
            assert_eq!(c.node_locator, NodeLocator::Ketama);
            assert!(c.map.is_none() && c.vbucket_servers.is_empty());
            assert_eq!(c.servers(), c.ketama_servers.as_slice());
            c.ketama_servers
        })
    }

    #[test]
    fn nodes_healthy_only_in_json_order() {
        let json = r#"{"nodeLocator":"ketama","nodes":[
            {"hostname":"b:8091","status":"healthy","ports":{"direct":11212}},
            {"hostname":"x:8091","status":"warmup","ports":{"direct":11211}},
            {"hostname":"a","ports":{"direct":11211}},
            {"hostname":"$HOST:8091","ports":{"direct":12000}}]}"#;
        assert_eq!(
            servers(json).unwrap(),
            [
                Server::new("b", 11212, 0),
                Server::new("a", 11211, 0),
                Server::new("localhost", 12000, 0)
            ]
        );
    }

    #[test]
    fn server_list_wins_over_nodes() {
        let json = r#"{"nodeLocator":"ketama","nodes":[{"hostname":"n","ports":{"direct":1}}],
            "vBucketServerMap":{"serverList":["s1:11211","s2:22122"]}}"#;
        assert_eq!(
            servers(json).unwrap(),
            [Server::new("s1", 11211, 0), Server::new("s2", 22122, 0)]
        );
    }

    #[test]
    fn errors() {
        let cases = [
            (r#"{"nodeLocator":"ketama"}"#, VbucketError::KetamaNoServers),
            (
                r#"{"nodeLocator":"ketama","nodes":[]}"#,
                VbucketError::KetamaEmpty,
            ),
            (
                r#"{"nodeLocator":"ketama","nodes":[{"hostname":"a","status":"down"}]}"#,
                VbucketError::KetamaEmpty,
            ),
            (
                r#"{"nodeLocator":"ketama","nodes":[{"hostname":"a","ports":{}}]}"#,
                VbucketError::KetamaEntry {
                    index: 0,
                    reason: "no ports.direct port",
                },
            ),
            (
                r#"{"nodeLocator":"ketama","nodes":[{"ports":{"direct":1}}]}"#,
                VbucketError::KetamaEntry {
                    index: 0,
                    reason: "no hostname",
                },
            ),
            (
                r#"{"nodeLocator":"ketama","vBucketServerMap":{"serverList":["a:1","b"]}}"#,
                VbucketError::KetamaEntry {
                    index: 1,
                    reason: "not host:port",
                },
            ),
            (
                r#"{"nodeLocator":"ketama","nodes":[7]}"#,
                VbucketError::KetamaEntry {
                    index: 0,
                    reason: "neither a string nor an object",
                },
            ),
        ];
        for (json, want) in cases {
            assert_eq!(servers(json), Err(want), "{json}");
        }
    }

    #[test]
    fn libvbucket_authorities() {
        let json = r#"{"nodeLocator":"ketama","nodes":[
            {"hostname":"10.0.0.2:8091","status":"down","ports":{"direct":11212}},
            {"hostname":"10.0.0.1","ports":{"direct":11211}}]}"#;
        let c = VbucketConfig::parse(json).unwrap();
        assert_eq!(
            c.libvbucket_ketama_authorities().unwrap(),
            ["10.0.0.2:11212", "10.0.0.1:11211"]
        );
        let list_only = r#"{"nodeLocator":"ketama","vBucketServerMap":{"serverList":["a:1"]}}"#;
        let c = VbucketConfig::parse(list_only).unwrap();
        assert_eq!(
            c.libvbucket_ketama_authorities(),
            Err(VbucketError::NodesNotArray)
        );
        let no_direct = r#"{"nodeLocator":"ketama","nodes":[
            {"hostname":"a","ports":{"direct":1}},{"hostname":"b","status":"down","ports":{}}]}"#;
        let c = VbucketConfig::parse(no_direct).unwrap();
        assert_eq!(
            c.libvbucket_ketama_authorities(),
            Err(VbucketError::NodeDirectPort)
        );
    }
}
