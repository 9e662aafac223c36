//! vBucket server-map JSON, as libvbucket's `vbucket_config_parse_string`
//! accepts it (vectors README section 7.2): a bare map or the REST envelope
//! (`name`, `saslPassword`, `nodeLocator`, `nodes`, `vBucketServerMap`).
//! Checks run in libvbucket's order and fail with its texts; `hashAlgorithm`
//! is ignored (always CRC), `$HOST` becomes `localhost`. moxi's own checks
//! follow: every `serverList` entry must be `host:port`.
//!
//! Stricter than libvbucket: numbers must be integers (cJSON truncated
//! `1.5`), `numReplicas` must not be negative, more than 65536 vBuckets are
//! refused, an unknown `nodeLocator` is an error.

use routing::{Server, VbucketMap, MAX_REPLICAS, MAX_VBUCKETS};
use serde_json::{Map, Value};

use crate::error::VbucketError;

/// How a bucket maps keys to servers (`nodeLocator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NodeLocator {
    /// `"vbucket"` or absent: CRC → vBucket → `vBucketMap`.
    #[default]
    Vbucket,
    /// `"ketama"`: memcached buckets; moxi hashes with ketama-weighted.
    Ketama,
}

/// One bucket's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VbucketConfig {
    /// `name`, or `"default"`. moxi uses it as the downstream SASL user in
    /// REST mode (see [`VbucketConfig::sasl_user`] for libvbucket's rule).
    pub name: String,
    /// `saslPassword`, or empty.
    pub sasl_password: String,
    /// `nodeLocator`.
    pub node_locator: NodeLocator,
    /// The validated map, for [`NodeLocator::Vbucket`].
    pub map: Option<VbucketMap>,
    /// `serverList` as servers (index order of `map`), for
    /// [`NodeLocator::Vbucket`]; empty otherwise.
    pub vbucket_servers: Vec<Server>,
    /// For [`NodeLocator::Ketama`]: the `host:port` list moxi builds for
    /// libmemcached (`vBucketServerMap.serverList` if present, else the
    /// healthy `nodes` as hostname without `:port` plus `ports.direct`, in
    /// JSON order); hash it with `Locator::moxi_ketama_weighted`. Empty
    /// otherwise.
    pub ketama_servers: Vec<Server>,
    /// The JSON text this was parsed from.
    pub raw: String,
}

impl VbucketConfig {
    /// Parses one bucket's JSON.
    pub fn parse(json: &str) -> Result<Self, VbucketError> {
        Self::parse_bytes(json.as_bytes())
    }

    /// Parses one bucket's JSON from bytes (invalid UTF-8 is invalid JSON).
    pub fn parse_bytes(json: &[u8]) -> Result<Self, VbucketError> {
        let value: Value = serde_json::from_slice(json).map_err(|_| VbucketError::InvalidJson)?;
        let raw = String::from_utf8_lossy(json).trim().to_owned();
        Self::from_value(&value, "default", raw)
    }

    /// Builds a config from parsed JSON; `default_name` applies when the
    /// JSON has no string `name`.
    pub(crate) fn from_value(
        value: &Value,
        default_name: &str,
        raw: String,
    ) -> Result<Self, VbucketError> {
        let empty = Map::new();
        let top = value.as_object().unwrap_or(&empty);
        let string = |k: &str| top.get(k).and_then(Value::as_str);
        let node_locator = match top.get("nodeLocator") {
            None => NodeLocator::Vbucket,
            Some(Value::String(s)) if s == "vbucket" => NodeLocator::Vbucket,
            Some(Value::String(s)) if s == "ketama" => NodeLocator::Ketama,
            Some(Value::String(s)) => return Err(VbucketError::UnknownNodeLocator(s.clone())),
            Some(_) => return Err(VbucketError::NodeLocatorNotString),
        };
        let mut config = VbucketConfig {
            name: string("name").unwrap_or(default_name).to_owned(),
            sasl_password: string("saslPassword").unwrap_or_default().to_owned(),
            node_locator,
            map: None,
            vbucket_servers: Vec::new(),
            ketama_servers: Vec::new(),
            raw,
        };
        match node_locator {
            NodeLocator::Vbucket => {
                let map = parse_server_map(top)?;
                config.vbucket_servers = map
                    .servers
                    .iter()
                    .map(|s| parse_host_port(s))
                    .collect::<Result<_, _>>()?;
                config.map = Some(map);
            }
            NodeLocator::Ketama => config.ketama_servers = crate::ketama::moxi_ketama_servers(top)?,
        }
        Ok(config)
    }

    /// The downstream servers in the index order the locator uses.
    pub fn servers(&self) -> &[Server] {
        match self.node_locator {
            NodeLocator::Vbucket => &self.vbucket_servers,
            NodeLocator::Ketama => &self.ketama_servers,
        }
    }

    /// libvbucket's SASL user: `name` unless it is `"default"`.
    pub fn sasl_user(&self) -> Option<&str> {
        (self.name != "default").then_some(self.name.as_str())
    }

    /// moxi's "stable update": same locator, same servers in the same order
    /// and same credentials, so downstream connections may be kept and only
    /// the map swapped.
    pub fn is_stable_update_of(&self, old: &VbucketConfig) -> bool {
        self.node_locator == old.node_locator
            && self.servers() == old.servers()
            && self.name == old.name
            && self.sasl_password == old.sasl_password
    }
}

/// The `rev` of a bucket's JSON (Couchbase's config revision), if it has
/// one: what a log line names a config by.
pub fn revision(json: &str) -> Option<i64> {
    let value: Value = serde_json::from_str(json).ok()?;
    value.get("rev")?.as_i64()
}

/// A JSON number as an integer (cJSON's `valueint`, but refusing fractions).
pub(crate) fn as_int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

/// libvbucket's `$HOST` placeholder (first occurrence) → `localhost`.
pub(crate) fn substitute_host(s: &str) -> String {
    s.replacen("$HOST", "localhost", 1)
}

/// `host:port` → a server (weight 0), as moxi's `mcs_create` checks it.
pub(crate) fn parse_host_port(s: &str) -> Result<Server, VbucketError> {
    let (host, port) = s
        .split_once(':')
        .ok_or_else(|| VbucketError::MissingPort(s.to_owned()))?;
    match port.parse::<u16>() {
        Ok(p) if p > 0 && !host.is_empty() => Ok(Server::new(host, p, 0)),
        _ => Err(VbucketError::BadPort(s.to_owned())),
    }
}

/// libvbucket's node authority: `hostname` with any `:port` replaced by
/// `:{ports.direct}`, `$HOST` substituted.
pub(crate) fn node_authority(node: &Value) -> Result<String, VbucketError> {
    let node = node.as_object().ok_or(VbucketError::NodeNotObject)?;
    let hostname = node
        .get("hostname")
        .and_then(Value::as_str)
        .ok_or(VbucketError::NodeHostname)?;
    let ports = node
        .get("ports")
        .and_then(Value::as_object)
        .ok_or(VbucketError::NodePorts)?;
    let direct = ports
        .get("direct")
        .and_then(as_int)
        .ok_or(VbucketError::NodeDirectPort)?;
    let host = hostname.split(':').next().unwrap_or(hostname);
    Ok(substitute_host(&format!("{host}:{direct}")))
}

/// The vBucket part: libvbucket's `parse_vbucket_config`.
fn parse_server_map(top: &Map<String, Value>) -> Result<VbucketMap, VbucketError> {
    let config = match top.get("vBucketServerMap") {
        Some(Value::Object(m)) => m,
        _ => top,
    };
    let replicas = config
        .get("numReplicas")
        .and_then(as_int)
        .and_then(|r| usize::try_from(r).ok())
        .filter(|&r| r <= MAX_REPLICAS)
        .ok_or(VbucketError::NumReplicas)?;
    let Some(Value::Array(list)) = config.get("serverList") else {
        return Err(VbucketError::ServerListNotArray);
    };
    if list.is_empty() {
        return Err(VbucketError::EmptyServerList);
    }
    let servers: Vec<String> = list
        .iter()
        .map(|s| s.as_str().map(substitute_host))
        .collect::<Option<_>>()
        .ok_or(VbucketError::ServerListNotStrings)?;
    if let Some(nodes) = top.get("nodes") {
        let nodes = nodes.as_array().ok_or(VbucketError::NodesNotArray)?;
        for node in nodes {
            node_authority(node)?;
        }
    }
    let Some(Value::Array(map)) = config.get("vBucketMap") else {
        return Err(VbucketError::VbucketMapNotArray);
    };
    let count = map.len();
    if count == 0 {
        return Err(VbucketError::NoVbuckets);
    }
    if !count.is_power_of_two() || count > MAX_VBUCKETS {
        return Err(VbucketError::VbucketCount);
    }
    let entries = parse_entries(map, count, replicas, servers.len())?;
    let forward = match config.get("vBucketMapForward") {
        None => None,
        Some(Value::Array(fwd)) => Some(parse_entries(fwd, count, replicas, servers.len())?),
        Some(_) => return Err(VbucketError::ForwardMapNotArray),
    };
    // Everything VbucketMap::validate checks was checked above.
    VbucketMap::try_new(servers, entries, forward).map_err(|_| VbucketError::VbucketEntry)
}

/// The first `count` entries of a (forward) map, each `replicas + 1` ids in
/// `-1..servers`. Extra forward entries are ignored, as libvbucket does.
fn parse_entries(
    map: &[Value],
    count: usize,
    replicas: usize,
    servers: usize,
) -> Result<Vec<Vec<i32>>, VbucketError> {
    let in_range = |id: i64| id >= -1 && usize::try_from(id).map_or(true, |i| i < servers);
    (0..count)
        .map(|i| {
            let entry = map
                .get(i)
                .and_then(Value::as_array)
                .filter(|e| e.len() == replicas + 1)
                .ok_or(VbucketError::VbucketEntry)?;
            entry
                .iter()
                .map(|id| {
                    as_int(id)
                        .filter(|&id| in_range(id))
                        .and_then(|id| i32::try_from(id).ok())
                        .ok_or(VbucketError::ServerId)
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn revisions() {
        assert_eq!(revision(r#"{"rev":12,"name":"b"}"#), Some(12));
        assert_eq!(revision(r#"{"name":"b"}"#), None);
        assert_eq!(revision("not json"), None);
    }

    #[test]
    fn integers() {
        assert_eq!(as_int(&json!(3)), Some(3));
        assert_eq!(as_int(&json!(-1)), Some(-1));
        assert_eq!(as_int(&json!(2.0)), Some(2));
        assert_eq!(as_int(&json!(2.5)), None);
        assert_eq!(as_int(&json!("2")), None);
        assert_eq!(as_int(&json!(1e300)), None);
    }

    #[test]
    fn host_placeholder_and_ports() {
        assert_eq!(substitute_host("$HOST:11210"), "localhost:11210");
        assert_eq!(substitute_host("$HOST:$HOST"), "localhost:$HOST");
        assert_eq!(parse_host_port("h:1"), Ok(Server::new("h", 1, 0)));
        assert_eq!(
            parse_host_port(":1"),
            Err(VbucketError::BadPort(":1".into()))
        );
        assert_eq!(
            parse_host_port("h"),
            Err(VbucketError::MissingPort("h".into()))
        );
    }

    #[test]
    fn authorities() {
        let node = json!({"hostname": "$HOST:8091", "ports": {"direct": 11210}});
        assert_eq!(node_authority(&node), Ok("localhost:11210".to_owned()));
        let node = json!({"hostname": "h", "ports": {"direct": 11211}});
        assert_eq!(node_authority(&node), Ok("h:11211".to_owned()));
    }
}
