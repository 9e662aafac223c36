//! `-z`: the cluster configuration (section 2 of moxi-behaviour.md).
//!
//! Decision order, as moxi's `cproxy_init`:
//! 1. a value starting with `.` or `/` is a file whose contents are the value;
//! 2. a value with neither `@` nor `http://` is **static**:
//!    `PORT=SERVERS[;PORT=SERVERS...]`, SERVERS being a libmemcached list or
//!    a vBucket JSON object;
//! 3. anything else is **dynamic** (REST): `url=URL[|URL...]`,
//!    `auth=USER%PASS`, `host=URL`, items separated by `,` or newlines; a
//!    bare `http://...` value means `url=` with its commas turned into `|`.
//!
//! Deviations: a value that starts with `PORT =` is static even when it
//! contains `@` or `http://` (moxi sent a vBucket JSON holding
//! `couchApiBase` URLs to REST mode and failed); empty `;` sections are
//! skipped (moxi exited); duplicate ports, port numbers with trailing
//! garbage and empty server lists are errors; only one REST configuration
//! (no `;`) is supported; the XMPP forms (`apikey=`, JIDs) are refused.

use std::collections::HashSet;
use std::io;

use routing::{Server, DEFAULT_PORT};

use crate::behaviors::Behaviors;
use crate::error::{ConfigError, Warning};
use crate::http::HttpUrl;
use crate::vbucket::VbucketConfig;

/// A parsed `-z` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cluster {
    /// Static mode: one proxy per port, in the order given.
    Static(Vec<StaticPool>),
    /// Dynamic mode: configs streamed from a REST server.
    Rest(RestConfig),
}

/// One static `PORT=SERVERS` section (moxi names its proxy `default`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticPool {
    /// The port to listen on.
    pub port: u16,
    /// The downstream servers.
    pub servers: PoolServers,
}

/// The SERVERS of a static section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolServers {
    /// A libmemcached list, hashed as `-Z mcs_opts` says.
    List(Vec<Server>),
    /// A vBucket (or libvbucket ketama) JSON config.
    Vbucket(VbucketConfig),
}

/// Dynamic-mode settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestConfig {
    /// The URLs, tried in order.
    pub urls: Vec<HttpUrl>,
    /// `auth=` user; `None` means `-Z usr`.
    pub user: Option<String>,
    /// `auth=` password (empty when `auth=` had no `%`); `None` means
    /// `-Z pwd`.
    pub password: Option<String>,
    /// Items moxi would have logged and ignored.
    pub warnings: Vec<Warning>,
}

impl RestConfig {
    /// The HTTP Basic credentials: `auth=` if given, else `-Z usr`/`pwd`;
    /// `None` when the user is empty (moxi sends no auth then).
    pub fn credentials<'a>(&'a self, behaviors: &'a Behaviors) -> Option<(&'a str, &'a str)> {
        let user = self.user.as_deref().unwrap_or(&behaviors.usr);
        let password = match &self.user {
            Some(_) => self.password.as_deref().unwrap_or(""),
            None => &behaviors.pwd,
        };
        (!user.is_empty()).then_some((user, password))
    }
}

/// Parses a `-z` value; `read_file` reads the file form.
pub fn parse_cluster(
    value: &str,
    read_file: impl Fn(&str) -> io::Result<String>,
) -> Result<Cluster, ConfigError> {
    let trimmed = value.trim();
    if trimmed.starts_with(['.', '/']) {
        let contents = read_file(trimmed).map_err(|source| ConfigError::ReadCfgFile {
            path: trimmed.to_owned(),
            source,
        })?;
        return parse_cluster_text(&contents);
    }
    parse_cluster_text(trimmed)
}

/// Whether a trailing command-line word is a `-z` value given without `-z`
/// (moxi: it starts with `apikey=` or `http://`, or contains `@`), as in
/// `moxi http://host:8091/pools/default/bucketsStreaming/default`.
pub fn is_positional_cluster_arg(word: &str) -> bool {
    word.starts_with("apikey=") || word.starts_with("http://") || word.contains('@')
}

/// Parses a `-z` value that is not a file name (or a file's contents).
pub fn parse_cluster_text(text: &str) -> Result<Cluster, ConfigError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ConfigError::Empty);
    }
    let dynamic = text.contains('@') || text.contains("http://");
    if !dynamic || starts_with_port_equals(text) {
        parse_static(text).map(Cluster::Static)
    } else {
        parse_rest(text).map(Cluster::Rest)
    }
}

/// `^\s*[0-9]+\s*=`.
fn starts_with_port_equals(text: &str) -> bool {
    let digits = text.trim_start();
    let rest = digits.trim_start_matches(|c: char| c.is_ascii_digit());
    rest.len() < digits.len() && rest.trim_start().starts_with('=')
}

fn parse_static(text: &str) -> Result<Vec<StaticPool>, ConfigError> {
    let mut pools = Vec::new();
    let mut ports = HashSet::new();
    for section in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let (port, servers) = section.split_once('=').ok_or(ConfigError::MissingEquals)?;
        let port = parse_proxy_port(port.trim())?;
        if !ports.insert(port) {
            return Err(ConfigError::DuplicateProxyPort(port));
        }
        let servers = servers.trim();
        let servers = if servers.starts_with('{') {
            PoolServers::Vbucket(VbucketConfig::parse(servers)?)
        } else {
            let list = parse_server_list(servers)?;
            if list.is_empty() {
                return Err(ConfigError::NoServers(port));
            }
            PoolServers::List(list)
        };
        pools.push(StaticPool { port, servers });
    }
    if pools.is_empty() {
        return Err(ConfigError::Empty);
    }
    Ok(pools)
}

/// moxi's `atoi(port) <= 0` → "missing proxy port"; digits that are not a
/// port number → a stricter error.
fn parse_proxy_port(s: &str) -> Result<u16, ConfigError> {
    match s.parse::<u16>() {
        Ok(0) => Err(ConfigError::MissingProxyPort),
        Ok(port) => Ok(port),
        Err(_) if s.starts_with(|c: char| c.is_ascii_digit()) => {
            Err(ConfigError::BadProxyPort(s.to_owned()))
        }
        Err(_) => Err(ConfigError::MissingProxyPort),
    }
}

/// Parses a libmemcached server list `host[:port[:weight]](,...)*`: port
/// 11211 when absent (or 0, as libmemcached), weight also as
/// `host:port weight`, whitespace around entries and empty entries ignored.
/// A host starting with `{` is refused (stricter than moxi), so that a list
/// is never mistaken for vBucket JSON or the other way round.
pub fn parse_server_list(list: &str) -> Result<Vec<Server>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse_server)
        .collect()
}

fn parse_server(entry: &str) -> Result<Server, ConfigError> {
    let bad = |reason| ConfigError::BadServer {
        server: entry.to_owned(),
        reason,
    };
    let (host, rest) = entry.split_once(':').unwrap_or((entry, ""));
    // A `{` host would make `PORT=,{..` and `PORT={..` (vBucket JSON) mean
    // different things; no host name starts with one.
    if host.is_empty() || host.contains(char::is_whitespace) || host.starts_with('{') {
        return Err(bad("bad host"));
    }
    let (port, weight) = rest
        .split_once(|c: char| c == ':' || c.is_whitespace())
        .unwrap_or((rest, ""));
    let port = match port.trim() {
        "" => DEFAULT_PORT,
        p => match p.parse::<u16>() {
            Ok(0) => DEFAULT_PORT,
            Ok(p) => p,
            Err(_) => return Err(bad("bad port")),
        },
    };
    let weight = match weight.trim() {
        "" => 0,
        w => w.parse::<u32>().map_err(|_| bad("bad weight"))?,
    };
    Ok(Server::new(host, port, weight))
}

fn parse_rest(text: &str) -> Result<RestConfig, ConfigError> {
    let rewritten;
    let text = if text.starts_with("http://") {
        rewritten = format!("url={}", text.replace(',', "|"));
        rewritten.as_str()
    } else {
        text
    };
    let mut sections = text.split(';').map(str::trim).filter(|s| !s.is_empty());
    let section = sections.next().unwrap_or("");
    if sections.next().is_some() {
        return Err(ConfigError::MultipleRestConfigs);
    }
    let mut config = RestConfig {
        urls: Vec::new(),
        user: None,
        password: None,
        warnings: Vec::new(),
    };
    for item in section.split([',', '\r', '\n']).map(str::trim) {
        if item.is_empty() || item.starts_with('#') {
            continue;
        }
        let Some((key, val)) = item.split_once('=') else {
            if item.contains('@') {
                return Err(ConfigError::ObsoleteXmpp(item.to_owned()));
            }
            config
                .warnings
                .push(Warning::UnknownClusterKey(item.to_owned()));
            continue;
        };
        let (key, val) = (key.trim(), val.trim());
        match key {
            "url" | "host" => {
                for url in val.split('|').map(str::trim).filter(|u| !u.is_empty()) {
                    config
                        .urls
                        .push(HttpUrl::parse(url).map_err(ConfigError::BadUrl)?);
                }
            }
            "auth" => {
                let (user, password) = val.split_once('%').unwrap_or((val, ""));
                config.user = Some(user.to_owned());
                config.password = Some(password.to_owned());
            }
            "apikey" => return Err(ConfigError::ObsoleteXmpp(item.to_owned())),
            "config" | "dbpath" => config
                .warnings
                .push(Warning::ObsoleteClusterKey(key.to_owned())),
            _ => config
                .warnings
                .push(Warning::UnknownClusterKey(key.to_owned())),
        }
    }
    if config.urls.is_empty() {
        return Err(ConfigError::MissingUrl);
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_equals_prefix() {
        assert!(starts_with_port_equals("11211=a"));
        assert!(starts_with_port_equals(
            " 11211 =\n{\"couchApiBase\":\"http://h\"}"
        ));
        assert!(!starts_with_port_equals("=a"));
        assert!(!starts_with_port_equals("url=http://h/"));
        assert!(!starts_with_port_equals("11211"));
        assert!(!starts_with_port_equals("1x=a"));
    }

    #[test]
    fn positional_words() {
        assert!(is_positional_cluster_arg("http://h:8091/pools"));
        assert!(is_positional_cluster_arg("apikey=x"));
        assert!(is_positional_cluster_arg("u@h"));
        assert!(!is_positional_cluster_arg("11211=h"));
        assert!(!is_positional_cluster_arg("-vvv"));
    }

    /// Found by the `command_line` fuzz target: `5=,{x` was a list holding
    /// the host `{x`, which renders as `5={x:11211:0`, i.e. vBucket JSON.
    #[test]
    fn brace_hosts_are_refused() {
        for list in ["{x", ",{x", "a,{x:1"] {
            assert!(
                matches!(parse_server_list(list), Err(ConfigError::BadServer { .. })),
                "{list}"
            );
        }
        assert!(parse_cluster_text("5=,{s").is_err());
    }

    #[test]
    fn proxy_ports() {
        assert!(matches!(parse_proxy_port("11211"), Ok(11211)));
        assert!(matches!(
            parse_proxy_port(""),
            Err(ConfigError::MissingProxyPort)
        ));
        assert!(matches!(parse_proxy_port("+5"), Ok(5)));
        assert!(matches!(
            parse_proxy_port("1 2"),
            Err(ConfigError::BadProxyPort(_))
        ));
    }
}
