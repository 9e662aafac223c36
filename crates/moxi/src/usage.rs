//! The `-h` text: only what really works is advertised.

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
-B, --protocol=<name>     ascii, binary or auto (default: auto-negotiate)
-b, --listen-backlog=<num> listen backlog (default: 1024)
-R, --max-reqs-per-event=<num> requests answered per batch before other clients of the
                          worker get a turn (default: 20)
-o idle_timeout=<sec>     close embedded-server connections idle that long (other -o keys of memcached
                          are accepted and ignored: they tune its slab allocator)
-d, --daemon              run as a daemon (-P <file>: write its pid there)
-u, --user=<user>         switch to this user after binding (when run as root)
-v, -vv, -vvv             verbosity
-h, --help                print this help and exit
-V, --version             print version and exit

Proxy (moxi flags):
-z <PORT=host[:port[:weight]],...>  cluster configuration (see README); also
   -z 'PORT={{vBucket JSON}}', -z ./file.cfg (holding PORT = {{json}}),
   -z 'url=http://HOST:PORT/pools/default/bucketsStreaming/BUCKET[|url2...]'
   (optionally auth=USER%PASS,url=...), or a trailing http://... argument
-Z <key=value,...>        proxy behaviors (see README), e.g. port_listen=11211,
                          usr=,pwd=,bucket=,default_bucket_name=,auth_timeout=100
--metrics <addr:port>     serve /metrics (Prometheus), /healthz and /readyz over HTTP

Accepted for compatibility and ignored (they mean nothing for this engine):
-U 0, -a, -k, -r, -L, -f, -n, -D, -W, -X, -N, -Y n
Refused: -s (unix sockets), -S (SASL), -e (memory file), -U with a non-zero port.
",
        version = env!("CARGO_PKG_VERSION")
    )
}
