//! Settings of the embedded server, as memcached's command line sets them.

use std::net::IpAddr;

/// Which protocol clients may speak (`-B`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    /// Decide per connection from its first byte (0x80 = binary).
    Auto,
    /// ascii only.
    Ascii,
    /// binary only.
    Binary,
}

impl Binding {
    /// The name `stats settings` prints.
    pub fn name(self) -> &'static str {
        match self {
            Binding::Auto => "auto-negotiate",
            Binding::Ascii => "ascii",
            Binding::Binary => "binary",
        }
    }
}

/// Everything the embedded server needs to know, resolved from flags.
#[derive(Clone, Debug)]
pub struct Settings {
    /// TCP port (`-p`); 0 asks the OS for a free one.
    pub port: u16,
    /// Interfaces to bind (`-l`, repeatable or comma separated); empty = all.
    pub listen: Vec<IpAddr>,
    /// Worker threads (`-t`).
    pub threads: usize,
    /// Most simultaneous client connections (`-c`).
    pub max_conns: usize,
    /// Item memory in bytes (`-m` × 1 MiB).
    pub max_bytes: usize,
    /// Largest item (`-I`).
    pub item_size_max: usize,
    /// `-M`: refuse stores instead of evicting.
    pub no_evict: bool,
    /// `-C`: CAS disabled.
    pub cas_disabled: bool,
    /// `-F`: flush_all refused.
    pub flush_disabled: bool,
    /// `-B`.
    pub binding: Binding,
    /// `-b`: listen backlog.
    pub backlog: u32,
    /// `-R`: requests answered per read before yielding to other connections.
    pub reqs_per_event: usize,
    /// `-v` count.
    pub verbosity: u32,
    /// `-A`: ascii `shutdown` allowed.
    pub shutdown_enabled: bool,
    /// `-o idle_timeout`: seconds before an idle connection is closed (0 = never).
    pub idle_timeout: u64,
    /// `-D <char>`: the key prefix delimiter of `stats detail`, which `-D`
    /// also turns on (memcached's `prefix_delimiter`, default `:`).
    pub prefix_delimiter: Option<u8>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            port: 11211,
            listen: Vec::new(),
            threads: std::thread::available_parallelism().map_or(4, |n| n.get()),
            max_conns: 1024,
            max_bytes: 64 * 1024 * 1024,
            item_size_max: 1024 * 1024,
            no_evict: false,
            cas_disabled: false,
            flush_disabled: false,
            binding: Binding::Auto,
            backlog: 1024,
            reqs_per_event: 20,
            verbosity: 0,
            shutdown_enabled: false,
            idle_timeout: 0,
            prefix_delimiter: None,
        }
    }
}
