//! The errors and warnings of this crate. Display texts are moxi's (or
//! libvbucket's) wording where moxi has one, without the `ERROR: ` log-level
//! prefix moxi puts in front of some of them: the caller logs them.

use std::io;

use thiserror::Error;

/// Why a `-z` or `-Z` value was refused.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// `-z ./file` (or `/file`) could not be read.
    #[error("could not read cfg file: {path}")]
    ReadCfgFile {
        /// The path as given.
        path: String,
        /// The underlying failure.
        #[source]
        source: io::Error,
    },
    /// `-Z ./file` (or `/file`) could not be read.
    #[error("could not read behavior file: {path}")]
    ReadBehaviorFile {
        /// The path as given.
        path: String,
        /// The underlying failure.
        #[source]
        source: io::Error,
    },
    /// The `-z` value (or the file it names) is empty.
    #[error("empty cfg")]
    Empty,
    /// A static `PORT=SERVERS` section without `=`.
    #[error("bad moxi config, missing =")]
    MissingEquals,
    /// A static section whose port is empty, zero, negative or not a number
    /// (moxi: `atoi(port) <= 0`).
    #[error("missing proxy port")]
    MissingProxyPort,
    /// A static section whose port starts with digits but is not a port
    /// number (trailing garbage, above 65535). moxi would have used `atoi`.
    #[error("bad proxy port: {0}")]
    BadProxyPort(String),
    /// Two static sections listen on the same port.
    #[error("duplicate proxy port: {0}")]
    DuplicateProxyPort(u16),
    /// A static section has an empty server list.
    #[error("no servers for proxy port {0}")]
    NoServers(u16),
    /// One entry of a libmemcached server list is malformed.
    #[error("bad server {server:?} in server list: {reason}")]
    BadServer {
        /// The entry as written.
        server: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A vBucket JSON config in a static section is invalid.
    #[error(transparent)]
    Vbucket(#[from] VbucketError),
    /// Dynamic mode without `url=` / `host=`.
    #[error("missing -z configuration for url/host")]
    MissingUrl,
    /// A REST URL this implementation cannot fetch.
    #[error("bad url in -z configuration: {0}")]
    BadUrl(#[source] HttpError),
    /// Several `;`-separated REST configurations (moxi ran one agent each).
    #[error("multiple ;-separated REST configurations are not supported")]
    MultipleRestConfigs,
    /// The XMPP (`apikey=JID%PASS`, `user@host`) agent mode was removed from
    /// libconflate in 2013 and is not supported.
    #[error("obsolete XMPP configuration (apikey= / JID) is not supported: {0}; use url=http://HOST:PORT/pools/default/bucketsStreaming/BUCKET")]
    ObsoleteXmpp(String),
    /// A `-Z` value that does not fit its key.
    #[error("config error in key: {key} value: {value}")]
    Behavior {
        /// The key as written.
        key: String,
        /// The value as written.
        value: String,
    },
    /// A `-Z` item without `=`.
    #[error("config error in key: {0} value: (null)")]
    BehaviorMissingValue(String),
}

/// A condition moxi logs and then ignores.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Warning {
    /// A `-Z` key this implementation does not know (moxi logs it at -vv).
    #[error("unknown behavior key: {0}")]
    UnknownBehaviorKey(String),
    /// A `-z` REST item this implementation does not know.
    #[error("unknown configuration key: {0}")]
    UnknownClusterKey(String),
    /// `config=` / `dbpath=`: libconflate's persistence, removed in 2013.
    #[error("ignored obsolete configuration key: {0}")]
    ObsoleteClusterKey(String),
}

/// Why a vBucket (or ketama) JSON config was refused; libvbucket's texts.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VbucketError {
    /// Not JSON at all.
    #[error("Failed to parse data. Invalid JSON?")]
    InvalidJson,
    /// `nodeLocator` is not a string.
    #[error("Expected string for nodeLocator")]
    NodeLocatorNotString,
    /// `nodeLocator` is neither `vbucket` nor `ketama` (libvbucket silently
    /// produced an empty config, which moxi then refused).
    #[error("Unknown nodeLocator: {0}")]
    UnknownNodeLocator(String),
    /// `numReplicas` missing, not a number, negative or above 4.
    #[error("Expected number <= 4 for numReplicas")]
    NumReplicas,
    /// `serverList` missing or not an array.
    #[error("Expected array for serverList")]
    ServerListNotArray,
    /// `serverList` is `[]`.
    #[error("Empty serverList")]
    EmptyServerList,
    /// A `serverList` entry is not a string.
    #[error("Expected array of strings for serverList")]
    ServerListNotStrings,
    /// A `serverList` entry has no `:port` (moxi's `mcs_create`).
    #[error("missing port: {0}")]
    MissingPort(String),
    /// A `serverList` entry's port is not 1..=65535.
    #[error("could not parse port: {0}")]
    BadPort(String),
    /// `nodes` present but not an array.
    #[error("Expected array for nodes")]
    NodesNotArray,
    /// A `nodes` entry is not an object.
    #[error("Expected json object for nodes array item")]
    NodeNotObject,
    /// A node without a string `hostname`.
    #[error("Expected string for node's hostname")]
    NodeHostname,
    /// A node without a `ports` object.
    #[error("Expected json object for node's ports")]
    NodePorts,
    /// A node without a numeric `ports.direct`.
    #[error("Expected number for node's direct port")]
    NodeDirectPort,
    /// `vBucketMap` missing or not an array.
    #[error("Expected array for vBucketMap")]
    VbucketMapNotArray,
    /// `vBucketMap` is `[]`: the cluster is still starting.
    #[error("No vBuckets available; service maybe still initializing")]
    NoVbuckets,
    /// The number of vBuckets is not a power of two up to 65536.
    #[error("Number of vBuckets must be a power of two > 0 and <= 65536")]
    VbucketCount,
    /// A map entry is not an array of `numReplicas + 1` numbers.
    #[error("Expected array of arrays each with numReplicas + 1 ints for vBucketMap")]
    VbucketEntry,
    /// A map entry names a server outside `-1..serverList.len()`.
    #[error("Server ID must be >= -1 and < num_servers")]
    ServerId,
    /// `vBucketMapForward` present but not an array.
    #[error("Expected array for vBucketMapForward")]
    ForwardMapNotArray,
    /// A ketama config with neither `vBucketServerMap.serverList` nor `nodes`.
    #[error("no serverList/nodes in ketama config")]
    KetamaNoServers,
    /// A ketama config whose list is empty or has no healthy node.
    #[error("empty serverList/nodes in ketama config")]
    KetamaEmpty,
    /// A ketama server entry moxi cannot turn into `host:port`.
    #[error("bad ketama server entry {index}: {reason}")]
    KetamaEntry {
        /// Position in `serverList` / `nodes`.
        index: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Why the REST stream framer dropped data.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StreamError {
    /// A config grew beyond the limit without a `\n\n\n\n` delimiter; it is
    /// discarded up to the next delimiter.
    #[error("REST config larger than {max} bytes; discarded up to the next delimiter")]
    TooLarge {
        /// The limit in bytes.
        max: usize,
    },
}

/// Why an HTTP URL, response head or body could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HttpError {
    /// Only `http://host[:port][/path]` URLs are supported.
    #[error("unsupported url {0:?}: expected http://HOST[:PORT]/PATH")]
    BadUrl(String),
    /// The status line is not `HTTP/1.x NNN reason`.
    #[error("bad HTTP status line")]
    BadStatusLine,
    /// A header line without `:` or with an invalid name.
    #[error("bad HTTP header line")]
    BadHeader,
    /// `Content-Length` is not a number, or several disagree.
    #[error("bad Content-Length")]
    BadContentLength,
    /// The response head exceeds the limit.
    #[error("HTTP response head larger than {0} bytes")]
    HeadTooLarge(usize),
    /// A chunk-size line is not hexadecimal, overflows or is too long.
    #[error("bad chunk size line")]
    BadChunkSize,
    /// Chunk data is not followed by CRLF.
    #[error("missing CRLF after chunk data")]
    BadChunkEnd,
    /// The trailer section exceeds the limit.
    #[error("HTTP trailers too large")]
    TrailersTooLarge,
}
