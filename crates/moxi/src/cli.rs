//! moxi's command line: memcached 1.6's flags plus moxi's `-z`, `-Z`, `-O`,
//! `-Y`, parsed the way getopt does (`-p11211`, `-p 11211`, `-vv`,
//! `--port=11211`), and validated with memcached's own messages.

use std::net::IpAddr;

use server::settings::{Binding, Settings};

/// What the command line asks for.
#[derive(Debug)]
pub enum Action {
    /// Print usage and exit 0.
    Help,
    /// Print the version and exit 0.
    Version,
    /// Print the license and exit 0.
    License,
    /// Run.
    Run(Box<Options>),
}

/// A parsed, validated command line.
#[derive(Debug, Default)]
pub struct Options {
    /// Embedded server settings.
    pub settings: Settings,
    /// Whether `-p` (or `-U`) was given: the embedded server is wanted.
    pub port_given: bool,
    /// `-z` (or the positional URL argument): the proxy's cluster configuration.
    pub cluster: Option<String>,
    /// `-Z`: proxy behaviors, unparsed.
    pub behaviors: Vec<String>,
    /// `-d`.
    pub daemonize: bool,
    /// `-P`.
    pub pidfile: Option<String>,
    /// `-u`.
    pub user: Option<String>,
    /// `-O`: log file.
    pub log_file: Option<String>,
    /// `--log-format text|json`.
    pub log_format: crate::logging::Format,
    /// `--metrics ADDR:PORT`: the Prometheus and health endpoint.
    pub metrics: Option<std::net::SocketAddr>,
    /// `-Y y`: exit when stdin closes (moxi's meaning of -Y).
    pub exit_on_stdin_close: bool,
    /// Flags accepted for compatibility that change nothing here, for a warning at -v.
    pub ignored: Vec<String>,
}

/// A command line error: print `message` to stderr and exit 1.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    /// The text, as memcached words it where memcached has words for it.
    pub message: String,
}

fn err(message: impl Into<String>) -> CliError {
    CliError {
        message: message.into(),
    }
}

/// Short options that take an argument (U+E000 and U+E001 stand for
/// `--metrics` and `--log-format`, which have no short form).
pub(crate) const WITH_ARG: &str = "apsUmcluPftnDRbBIozZOYeN\u{E000}\u{E001}";
/// The internal letter of `--metrics`.
const METRICS: char = '\u{E000}';
/// The internal letter of `--log-format`.
const LOG_FORMAT: char = '\u{E001}';
/// Short options without an argument.
pub(crate) const NO_ARG: &str = "MkhirvdLCAFSWXV";

/// The hint every refused flag ends with.
const HINT: &str = "moxi -h lists the flags";

/// Long options and the short option each stands for.
pub(crate) const LONG: &[(&str, char)] = &[
    ("port", 'p'),
    ("udp-port", 'U'),
    ("unix-socket", 's'),
    ("unix-mask", 'a'),
    ("enable-shutdown", 'A'),
    ("listen", 'l'),
    ("daemon", 'd'),
    ("enable-coredumps", 'r'),
    ("user", 'u'),
    ("memory-limit", 'm'),
    ("disable-evictions", 'M'),
    ("conn-limit", 'c'),
    ("lock-memory", 'k'),
    ("verbose", 'v'),
    ("help", 'h'),
    ("license", 'i'),
    ("version", 'V'),
    ("pidfile", 'P'),
    ("slab-growth-factor", 'f'),
    ("slab-min-size", 'n'),
    ("enable-largepages", 'L'),
    ("threads", 't'),
    ("max-reqs-per-event", 'R'),
    ("disable-cas", 'C'),
    ("listen-backlog", 'b'),
    ("protocol", 'B'),
    ("max-item-size", 'I'),
    ("enable-sasl", 'S'),
    ("disable-flush-all", 'F'),
    ("disable-dumping", 'X'),
    ("disable-watch", 'W'),
    ("auth-file", 'Y'),
    ("memory-file", 'e'),
    ("extended", 'o'),
    ("napi-ids", 'N'),
    ("metrics", METRICS),
    ("log-format", LOG_FORMAT),
];

/// Splits argv (without the program name) into (flag, value) pairs and
/// positional words, as getopt_long does.
/// getopt's view of argv: (flag, value) pairs, then positional words.
type Tokens = (Vec<(char, Option<String>)>, Vec<String>);

fn tokenize(args: &[String]) -> Result<Tokens, CliError> {
    let mut flags = Vec::new();
    let mut positional = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if let Some(long) = a.strip_prefix("--") {
            if long.is_empty() {
                positional.extend(args[i..].iter().cloned());
                break;
            }
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let Some(&(_, c)) = LONG.iter().find(|(n, _)| *n == name) else {
                return Err(err(format!(
                    "moxi: unrecognized option '--{name}' ({HINT})"
                )));
            };
            let value = if WITH_ARG.contains(c) {
                match inline {
                    Some(v) => Some(v),
                    None => Some(take(args, &mut i, c)?),
                }
            } else {
                None
            };
            flags.push((c, value));
        } else if a.len() > 1 && a.starts_with('-') {
            let chars: Vec<char> = a[1..].chars().collect();
            let mut j = 0;
            while j < chars.len() {
                let c = chars[j];
                j += 1;
                if WITH_ARG.contains(c) && !is_long_only(c) {
                    let rest: String = chars[j..].iter().collect();
                    let v = if rest.is_empty() {
                        take(args, &mut i, c)?
                    } else {
                        rest
                    };
                    flags.push((c, Some(v)));
                    break;
                } else if NO_ARG.contains(c) {
                    flags.push((c, None));
                } else {
                    return Err(err(format!("moxi: invalid option -- '{c}' ({HINT})")));
                }
            }
        } else {
            positional.push(a.clone());
        }
    }
    Ok((flags, positional))
}

/// Whether `c` is the internal letter of a flag with only a long form.
fn is_long_only(c: char) -> bool {
    c == METRICS || c == LOG_FORMAT
}

fn take(args: &[String], i: &mut usize, c: char) -> Result<String, CliError> {
    let v = args.get(*i).cloned().ok_or_else(|| {
        let flag = match LONG.iter().find(|(_, l)| *l == c) {
            Some((name, _)) if is_long_only(c) => format!("--{name}"),
            _ => format!("-{c}"),
        };
        err(format!("moxi: option {flag} requires an argument ({HINT})"))
    })?;
    *i += 1;
    Ok(v)
}

fn number<T: std::str::FromStr>(flag: char, v: &str) -> Result<T, CliError> {
    v.trim()
        .parse()
        .map_err(|_| err(format!("Invalid value for -{flag}: {v}")))
}

/// Parses a size with an optional k/m/g suffix (`-I 2m`).
pub fn parse_size(v: &str) -> Option<u64> {
    let v = v.trim();
    let (digits, mult) = match v.as_bytes().last()? {
        b'k' | b'K' => (&v[..v.len() - 1], 1024),
        b'm' | b'M' => (&v[..v.len() - 1], 1024 * 1024),
        b'g' | b'G' => (&v[..v.len() - 1], 1024 * 1024 * 1024),
        _ => (v, 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

/// Parses argv (without the program name).
pub fn parse(args: &[String]) -> Result<Action, CliError> {
    let (flags, positional) = tokenize(args)?;
    let mut o = Options::default();
    let mut item_size: Option<u64> = None;
    let mut max_mb: u64 = 64;
    for (c, v) in flags {
        let v = v.unwrap_or_default();
        match c {
            'h' => return Ok(Action::Help),
            'V' => return Ok(Action::Version),
            'i' => return Ok(Action::License),
            'p' => {
                o.settings.port = number('p', &v)?;
                o.port_given = true;
            }
            'U' => {
                // Refused, not ignored: a client sending UDP to that port
                // would wait for replies that never come.
                if number::<u16>('U', &v)? != 0 {
                    return Err(err(format!(
                        "-U {v}: UDP is not served by this server (memcached 1.6 disables it by default); use -U 0 or leave -U out"
                    )));
                }
            }
            'l' => {
                for part in v.split(',') {
                    o.settings.listen.push(parse_listen(part)?);
                }
            }
            'c' => {
                o.settings.max_conns = number('c', &v)?;
                if o.settings.max_conns == 0 {
                    return Err(err("Maximum connections must be greater than 0"));
                }
            }
            't' => {
                o.settings.threads = number('t', &v)?;
                if o.settings.threads == 0 {
                    return Err(err("Number of threads must be greater than 0"));
                }
            }
            'm' => max_mb = number('m', &v)?,
            'I' => {
                item_size =
                    Some(parse_size(&v).ok_or_else(|| err(format!("Invalid value for -I: {v}")))?)
            }
            'M' => o.settings.no_evict = true,
            'C' => o.settings.cas_disabled = true,
            'F' => o.settings.flush_disabled = true,
            'A' => o.settings.shutdown_enabled = true,
            'v' => o.settings.verbosity += 1,
            'b' => o.settings.backlog = number('b', &v)?,
            'R' => {
                o.settings.reqs_per_event = number('R', &v)?;
                if o.settings.reqs_per_event == 0 {
                    return Err(err("Number of requests per event must be greater than 0"));
                }
            }
            'B' => o.settings.binding = parse_binding(&v)?,
            'f' => {
                if number::<f64>('f', &v)? <= 1.0 {
                    return Err(err("Factor must be greater than 1"));
                }
                o.ignored.push("-f (no slab classes in this engine)".into());
            }
            'n' => {
                if number::<i64>('n', &v)? <= 0 {
                    return Err(err("Chunk size must be greater than 0"));
                }
                o.ignored.push("-n (no slab classes in this engine)".into());
            }
            'D' => {
                if v.is_empty() {
                    return Err(err("No delimiter specified"));
                }
                // memcached takes the first byte and turns `stats detail` on.
                o.settings.prefix_delimiter = v.bytes().next();
            }
            'o' => parse_extended(&v, &mut o)?,
            METRICS => {
                o.metrics = Some(v.parse().map_err(|_| {
                    err(format!(
                        "Invalid value for --metrics: {v} (expected ADDR:PORT)"
                    ))
                })?)
            }
            LOG_FORMAT => {
                o.log_format = crate::logging::Format::parse(&v).ok_or_else(|| {
                    err(format!(
                        "Invalid value for --log-format: {v} (expected text or json)"
                    ))
                })?
            }
            'z' => o.cluster = Some(v),
            'Z' => o.behaviors.push(v),
            'O' => o.log_file = Some(v),
            'Y' => match v.as_str() {
                "y" | "Y" => o.exit_on_stdin_close = true,
                "n" | "N" => {}
                _ => return Err(err(
                    "-Y takes y or n (exit when stdin closes); ascii auth files are not supported",
                )),
            },
            'd' => o.daemonize = true,
            'P' => o.pidfile = Some(v),
            'u' => o.user = Some(v),
            's' => return Err(err("This server is not built with unix socket support.")),
            'S' => return Err(err("This server is not built with SASL support.")),
            'e' => return Err(err("-e (memory file) is not supported by this engine")),
            'a' | 'k' | 'r' | 'L' | 'W' | 'X' | 'N' => {
                o.ignored
                    .push(format!("-{c} (means nothing for this engine)"));
            }
            _ => return Err(err(format!("moxi: invalid option -- '{c}' ({HINT})"))),
        }
    }
    finish(&mut o, max_mb, item_size)?;
    if o.cluster.is_none() {
        // moxi: a last word that looks like a URL or a JID is the -z value.
        if let Some(last) = positional.last() {
            if last.starts_with("apikey=") || last.starts_with("http://") || last.contains('@') {
                o.cluster = Some(last.clone());
            }
        }
    }
    if o.cluster.is_none() && !o.port_given {
        return Err(err("ERROR: need cluster configuration. See usage (-h)."));
    }
    Ok(Action::Run(Box::new(o)))
}

fn finish(o: &mut Options, max_mb: u64, item_size: Option<u64>) -> Result<(), CliError> {
    let max_bytes = max_mb.saturating_mul(1024 * 1024);
    o.settings.max_bytes = usize::try_from(max_bytes).unwrap_or(usize::MAX);
    if let Some(size) = item_size {
        if size < 1024 {
            return Err(err("Item max size cannot be less than 1024 bytes."));
        }
        if size > max_bytes / 2 {
            return Err(err(
                "Cannot set item size limit higher than 1/2 of memory max.",
            ));
        }
        if size > 1024 * 1024 * 1024 {
            return Err(err("Cannot set item size limit higher than a gigabyte."));
        }
        o.settings.item_size_max = usize::try_from(size).unwrap_or(usize::MAX);
    } else if (o.settings.item_size_max as u64) > max_bytes / 2 {
        return Err(err(
            "Cannot set item size limit higher than 1/2 of memory max.",
        ));
    }
    Ok(())
}

fn parse_listen(part: &str) -> Result<IpAddr, CliError> {
    let p = part.trim();
    let p = p.strip_prefix("notls:").unwrap_or(p);
    let p = p.trim_start_matches('[').trim_end_matches(']');
    match p {
        "localhost" => Ok(IpAddr::from([127, 0, 0, 1])),
        _ => p.parse().map_err(|_| {
            err(format!(
                "getaddrinfo(): Name or service not known: {part}\nfailed to listen on TCP port"
            ))
        }),
    }
}

fn parse_binding(v: &str) -> Result<Binding, CliError> {
    match v {
        "auto" => Ok(Binding::Auto),
        "ascii" => Ok(Binding::Ascii),
        "binary" => Ok(Binding::Binary),
        _ => Err(err(format!(
            "Invalid value for binding protocol: {v}\n -- should be one of auto, binary, or ascii"
        ))),
    }
}

/// memcached's `-o` sub-options. Those that tune memcached's slab allocator,
/// LRU threads, extstore or TLS are accepted and ignored (listed at -v);
/// unknown ones stop start-up as in memcached.
fn parse_extended(v: &str, o: &mut Options) -> Result<(), CliError> {
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (key, val) = match item.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (item, None),
        };
        match key {
            "idle_timeout" => {
                let v = val.ok_or_else(|| err("Missing numeric argument for idle_timeout"))?;
                o.settings.idle_timeout = number('o', v)?;
            }
            "maxconns_fast"
            | "modern"
            | "no_modern"
            | "no_lru_crawler"
            | "lru_crawler"
            | "no_lru_maintainer"
            | "lru_maintainer"
            | "track_sizes"
            | "no_hashexpand"
            | "hashpower"
            | "tail_repair_time"
            | "hash_algorithm"
            | "lru_crawler_sleep"
            | "lru_crawler_tocrawl"
            | "read_buf_mem_limit"
            | "hot_lru_pct"
            | "warm_lru_pct"
            | "hot_max_factor"
            | "warm_max_factor"
            | "temporary_ttl"
            | "slab_chunk_max"
            | "watcher_logbuf_size"
            | "worker_logbuf_size"
            | "slab_reassign"
            | "slab_automove"
            | "slab_automove_ratio"
            | "slab_automove_window"
            | "slab_sizes"
            | "no_maxconns_fast"
            | "sock_cookie_id"
            | "no_slab_reassign"
            | "no_slab_automove"
            | "large_memory_pages" => {
                o.ignored
                    .push(format!("-o {item} (means nothing for this engine)"));
            }
            _ if key.starts_with("ext_") || key.starts_with("ssl_") => {
                o.ignored
                    .push(format!("-o {item} (extstore and TLS are not built in)"));
            }
            _ => return Err(err(format!("Illegal suboption \"{item}\""))),
        }
    }
    Ok(())
}
