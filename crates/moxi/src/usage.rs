//! The `-h` text: only what really works is advertised, and every flag
//! `cli` acts on is listed (a test checks it against `cli`'s tables).

/// Usage text printed by `-h`.
pub fn usage() -> String {
    format!(
        "moxi {version} - a memcached proxy with an embedded memcached-compatible server

Embedded server (memcached 1.6 flags):
-p, --port=<num>          TCP port of the embedded server (0 = any free port)
-l, --listen=<addr>       interface to listen on (default: all); repeat or comma-separate
-t, --threads=<num>       worker threads (default: number of cores)
-c, --conn-limit=<num>    max simultaneous connections (default: 1024)
-m, --memory-limit=<num>  item memory in megabytes (default: 64)
-I, --max-item-size=<num> max item size, with k/m suffix (default: 1m, min: 1k)
-M, --disable-evictions   return an error on memory exhausted instead of evicting
-C, --disable-cas         disable use of CAS
-F, --disable-flush-all   disable flush_all
-A, --enable-shutdown     enable the ascii \"shutdown\" command
-B, --protocol=<name>     ascii, binary or auto (default: auto-negotiate)
-b, --listen-backlog=<num> listen backlog (default: 1024)
-R, --max-reqs-per-event=<num> requests answered per batch before other clients of the
                          worker get a turn (default: 20)
-D <char>                 key prefix delimiter of \"stats detail\", which it turns on
-o, --extended=idle_timeout=<sec> close embedded-server connections idle that long
                          (other -o keys of memcached are accepted and ignored: they
                          tune its slab allocator)

Process:
-d, --daemon              run as a daemon
-P, --pidfile=<file>      with -d: write the daemon's pid there
-u, --user=<user>         switch to this user after binding (when run as root)
-Y, --auth-file=y         exit when stdin closes (moxi's meaning, not memcached's
                          auth file; -Y n: do not)
-v, -vv, -vvv, --verbose  log more: -v server state changes and configs, -vv also
                          every failed request, -vvv every request
-O <file>                 write the log there instead of stderr (SIGHUP reopens it)
--log-format=<text|json>  log lines as text (default) or one JSON object per line
-h, --help                print this help and exit
-V, --version             print version and exit
-i, --license             print version and exit (no separate license text)

Proxy (moxi flags):
-z <PORT=host[:port[:weight]],...>  cluster configuration (see README); also
   -z 'PORT={{vBucket JSON}}', -z ./file.cfg (holding PORT = {{json}}),
   -z 'url=http://HOST:PORT/pools/default/bucketsStreaming/BUCKET[|url2...]'
   (optionally auth=USER%PASS,url=...), or a trailing http://... argument
-Z <key=value,...>        proxy behaviors (see README), e.g. port_listen=11211,
                          usr=,pwd=,bucket=,default_bucket_name=,auth_timeout=100
--metrics=<addr:port>     serve /metrics (Prometheus), /healthz and /readyz over HTTP

Accepted for compatibility and ignored (they mean nothing for this engine):
-U 0, -a, -k, -r, -L, -f, -n, -W, -X, -N, -Y n
Refused: -s (unix sockets), -S (SASL), -e (memory file), -U with a non-zero port.
",
        version = env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::usage;
    use crate::cli::{LONG, NO_ARG, WITH_ARG};

    /// Flags accepted and ignored, or refused: listed by letter only.
    const COMPAT: &str = "UakrLfnDWXNsSe";

    #[test]
    fn every_flag_is_listed() {
        let text = usage();
        for c in WITH_ARG.chars().chain(NO_ARG.chars()) {
            if c.is_ascii_alphabetic() {
                assert!(text.contains(&format!("-{c}")), "-h omits -{c}");
            }
        }
        for (name, c) in LONG {
            if !COMPAT.contains(*c) {
                assert!(text.contains(&format!("--{name}")), "-h omits --{name}");
            }
        }
    }
}
