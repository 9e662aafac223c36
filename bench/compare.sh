#!/usr/bin/env bash
# Side-by-side comparison in ONE run, alternating rounds: direct memcached,
# twemproxy (Debian's nutcracker, ketama md5) and moxi, all in front of the
# same memcached(s) on free 127.0.0.1 ports; closed loop at 1, 32 and 512
# connections, a 100-key multi-get over 4 memcached, 10,000 idle
# connections (RSS), and with --callgrind instructions per request.
#
#   bench/compare.sh [moxi-load compare OPTIONS]
#   bench/compare.sh --rounds 3 --duration 3s --callgrind
#   bench/compare.sh --other 'moxi-t2=target/release/moxi -l 127.0.0.1 -t 2 -c 16384 -z {port}={backend}'
#
# Needs memcached and nutcracker (valgrind for --callgrind). Prints each
# run, medians, and min/median/max over rounds of the per-round ratios.
# See docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in memcached nutcracker; do
  command -v "$tool" >/dev/null || { echo "bench needs $tool (apt-get install memcached nutcracker valgrind)"; exit 1; }
done
target=${CARGO_TARGET_DIR:-target}
cargo build --release --locked -q -p moxi -p loadgen
# 10,000 idle client connections need as many descriptors here and in moxi.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec "$target/release/moxi-load" compare --moxi "$target/release/moxi" "$@"
