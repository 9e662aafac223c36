#!/usr/bin/env bash
# Throughput of the embedded server (`moxi -p`) against memcached 1.6, measured
# in one run with alternating rounds so that machine noise hits both alike.
#
#   bench/server.sh [ROUNDS] [SECONDS] [CONCURRENCY]
#
# Needs memcached and memcaslap (Debian: memcached, libmemcached-tools).
# Prints each round's ops/s and the min/median/max ratio moxi / memcached.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
secs=${2:-5}
conc=${3:-32}
threads=${THREADS:-2}

for tool in memcached memcaslap; do
  command -v "$tool" >/dev/null || { echo "bench needs $tool (apt-get install memcached libmemcached-tools)"; exit 1; }
done
cargo build --release --locked -q -p moxi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (echo > /dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

mport=$(free_port); xport=$(free_port)
memcached -u root -U 0 -l 127.0.0.1 -p "$mport" -t "$threads" -m 64 & mpid=$!
"${CARGO_TARGET_DIR:-target}"/release/moxi -l 127.0.0.1 -p "$xport" -t "$threads" -m 64 2>/dev/null & xpid=$!
trap 'kill $mpid $xpid 2>/dev/null || true' EXIT
wait_port "$mport"; wait_port "$xport"

tps() { memcaslap -s "127.0.0.1:$1" -T 1 -c "$conc" -t "${secs}s" 2>&1 | sed -n 's/.*TPS: \([0-9]*\).*/\1/p' | tail -1; }

ratios=()
printf '%-6s %12s %12s %8s\n' round memcached moxi ratio
for r in $(seq "$rounds"); do
  if (( r % 2 )); then m=$(tps "$mport"); x=$(tps "$xport"); else x=$(tps "$xport"); m=$(tps "$mport"); fi
  ratio=$(python3 -c "print(f'{$x/$m:.3f}')")
  ratios+=("$ratio")
  printf '%-6s %12s %12s %8s\n' "$r" "$m" "$x" "$ratio"
done
python3 - "${ratios[@]}" <<'PY'
import statistics, sys
v = sorted(float(x) for x in sys.argv[1:])
print(f"moxi/memcached throughput ratio: min {v[0]:.3f}  median {statistics.median(v):.3f}  max {v[-1]:.3f}")
PY
