#!/usr/bin/env bash
# Instructions per request of the embedded server (`moxi -p`) against
# memcached 1.6, each under `valgrind --tool=callgrind` with one worker
# thread. The same closed-loop load (moxi-load: 90% gets, 32-byte values,
# 10,000 keys) is sent to each; counters are zeroed after a warm-up and
# dumped after REQUESTS requests, so the count is repeatable on a noisy
# machine where throughput is not. It counts user-space instructions only:
# both servers make the same system calls per request.
#
#   bench/server_callgrind.sh [REQUESTS] [CONNECTIONS...]
#
# Needs memcached and valgrind (Debian: memcached, valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-20000}
shift || true
if [ $# -gt 0 ]; then conns=("$@"); else conns=(4 32); fi

for tool in memcached valgrind callgrind_control; do
  command -v "$tool" >/dev/null || { echo "bench needs $tool (apt-get install memcached valgrind)"; exit 1; }
done
cargo build --release --locked -q -p moxi -p loadgen
bin="${CARGO_TARGET_DIR:-target}/release"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 400); do (echo > /dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
root_flag() { [ "$(id -u)" = 0 ] && echo "-u root" || true; }

# Instructions per request of one server (started by "$@" on port $port).
measure() {
  local name=$1 c=$2 port=$3; shift 3
  local out="$work/$name.c$c.out"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$@" 2>/dev/null &
  local pid=$!
  wait_port "$port"
  local load=("$bin/moxi-load" --server "127.0.0.1:$port" --connections "$c" --quiet)
  "${load[@]}" --requests 2000 >/dev/null
  callgrind_control -z "$pid" >/dev/null 2>&1
  "${load[@]}" --requests "$requests" --no-prefill >/dev/null
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill "$pid"; wait "$pid" 2>/dev/null || true
  # The dump holds the measured requests; the file written at exit only
  # what followed the dump.
  python3 - "$out" "$requests" <<'PY'
import glob, sys
best = 0
for f in glob.glob(sys.argv[1] + "*"):
    for line in open(f):
        if line.startswith("summary:"):
            best = max(best, int(line.split()[1]))
print(f"{best / int(sys.argv[2]):.0f}")
PY
}

printf '%-6s %12s %12s %8s\n' conns memcached moxi ratio
for c in "${conns[@]}"; do
  mport=$(free_port)
  # Under valgrind memcached may only set its file limit to the soft limit
  # valgrind reports, so -c matches a lowered soft limit.
  m=$( (ulimit -Sn 4096; measure memcached "$c" "$mport" memcached $(root_flag) -U 0 -l 127.0.0.1 -p "$mport" -t 1 -m 64 -c 4096) )
  xport=$(free_port)
  x=$(measure moxi "$c" "$xport" "$bin/moxi" -l 127.0.0.1 -p "$xport" -t 1 -m 64)
  printf '%-6s %12s %12s %8s\n' "$c" "$m" "$x" "$(python3 -c "print(f'{$x/$m:.2f}')")"
done
