#!/usr/bin/env bash
# Throughput through proxies, side by side in one run, alternating rounds:
# direct memcached, twemproxy (Debian's nutcracker, ketama md5) and moxi, all
# in front of the same memcached, driven by memcaslap (-T 1, 90% get).
#
#   bench/proxy.sh [ROUNDS] [SECONDS] [CONCURRENCY]
#
# Needs memcached, memcaslap and nutcracker (Debian: memcached,
# libmemcached-tools, nutcracker). Prints each round and min/median/max of
# the ratios moxi/twemproxy and moxi/memcached.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
secs=${2:-5}
conc=${3:-32}
threads=${THREADS:-2}          # memcached's worker threads
# moxi's worker threads: one, like twemproxy. On two cores shared with the
# load generator and memcached a second worker only adds context switches
# (docs/PERFORMANCE.md, sixth run).
proxy_threads=${PROXY_THREADS:-1}

for tool in memcached memcaslap nutcracker; do
  command -v "$tool" >/dev/null || { echo "bench needs $tool (apt-get install memcached libmemcached-tools nutcracker)"; exit 1; }
done
cargo build --release --locked -q -p moxi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (echo > /dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

mport=$(free_port); tport=$(free_port); xport=$(free_port)
tmp=$(mktemp -d)
cat > "$tmp/nutcracker.yml" <<YML
pool:
  listen: 127.0.0.1:$tport
  hash: md5
  distribution: ketama
  timeout: 5000
  servers:
   - 127.0.0.1:$mport:1
YML
memcached -u root -U 0 -l 127.0.0.1 -p "$mport" -t "$threads" -m 256 & mpid=$!
nutcracker -c "$tmp/nutcracker.yml" -o "$tmp/nutcracker.log" & tpid=$!
"${CARGO_TARGET_DIR:-target}"/release/moxi -l 127.0.0.1 -t "$proxy_threads" -z "$xport=127.0.0.1:$mport" 2>/dev/null & xpid=$!
trap 'kill $mpid $tpid $xpid 2>/dev/null || true; rm -rf "$tmp"' EXIT
wait_port "$mport"; wait_port "$tport"; wait_port "$xport"

tps() { memcaslap -s "127.0.0.1:$1" -T 1 -c "$conc" -t "${secs}s" 2>&1 | sed -n 's/.*TPS: \([0-9]*\).*/\1/p' | tail -1; }

r_tw=(); r_mc=()
printf '%-6s %12s %12s %12s %10s %10s\n' round memcached twemproxy moxi moxi/twem moxi/mc
for r in $(seq "$rounds"); do
  order=("$mport" "$tport" "$xport")
  (( r % 2 )) || order=("$xport" "$tport" "$mport")
  declare -A got=()
  for p in "${order[@]}"; do got[$p]=$(tps "$p"); done
  m=${got[$mport]}; t=${got[$tport]}; x=${got[$xport]}
  a=$(python3 -c "print(f'{$x/$t:.3f}')"); b=$(python3 -c "print(f'{$x/$m:.3f}')")
  r_tw+=("$a"); r_mc+=("$b")
  printf '%-6s %12s %12s %12s %10s %10s\n' "$r" "$m" "$t" "$x" "$a" "$b"
done
python3 - "${r_tw[*]}" "${r_mc[*]}" <<'PY'
import statistics, sys
for name, arg in (("moxi/twemproxy", sys.argv[1]), ("moxi/memcached", sys.argv[2])):
    v = sorted(float(x) for x in arg.split())
    print(f"{name:15} min {v[0]:.3f}  median {statistics.median(v):.3f}  max {v[-1]:.3f}")
PY
