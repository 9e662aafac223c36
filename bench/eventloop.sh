#!/usr/bin/env bash
# Which event loop should moxi's proxy core run on? (issue 13, item 1)
# In one run, side by side in front of one memcached on free 127.0.0.1
# ports: twemproxy, today's moxi (-t 1), and the hot-path prototype of
# bench/eventloop on tokio (today's design), on a mio epoll loop and on
# io_uring. Prints instructions per get under callgrind (ascii at 1, 4,
# 32, 512 connections; binary at 4 and 32), system calls per request
# (perf stat) and proxy CPU per request (min/median/max over alternating
# rounds), with ratios to the tokio prototype and to twemproxy; and the
# embedded-server case: instructions per request of memcached -t 1, moxi -p
# and each loop answering from a map (eventloop LOOP PORT local).
#
#   bench/eventloop.sh [--rounds 3] [--duration 3s] [--loops tokio,mio,uring]
#                      [--skip ir,binary,server,sys,cpu] [--no-peers] [--keep]
#
# Needs memcached, nutcracker, valgrind and perf (Debian: memcached,
# nutcracker, valgrind, linux-perf). See docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in memcached nutcracker valgrind callgrind_control perf python3; do
  command -v "$tool" >/dev/null || { echo "bench needs $tool (apt-get install memcached nutcracker valgrind linux-perf)"; exit 1; }
done
target=${CARGO_TARGET_DIR:-target}
cargo build --release --locked -q -p moxi -p loadgen
(cd bench/eventloop && cargo build --release --locked -q)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec python3 bench/eventloop/measure.py --moxi "$target/release/moxi" \
  --load "$target/release/moxi-load" \
  --eventloop bench/eventloop/target/release/eventloop "$@"
