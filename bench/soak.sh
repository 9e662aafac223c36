#!/usr/bin/env bash
# Soak: real memcached and moxi on loopback, every reply checked by clients
# that own their keys (cross-talk is a mismatch), faults on a schedule
# (kill -9 and restart, SIGSTOP past downstream_timeout, a garbage server).
#
#   bench/soak.sh [MINUTES] [moxi-soak options...]
#
# e.g. bench/soak.sh 3, or bench/soak.sh 10 --topology chain --clients 1000.
# Builds the release moxi and moxi-soak, runs under nice, prints requests,
# errors by kind, mismatches and moxi's peak RSS; exits non-zero on any
# mismatch or if moxi died. Needs memcached (apt-get install memcached).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-3}
shift || true
command -v memcached >/dev/null || { echo "soak needs memcached (apt-get install memcached)"; exit 1; }
cargo build --release --locked -q -p moxi -p soak
bin=${CARGO_TARGET_DIR:-target}/release
exec nice "$bin/moxi-soak" --minutes "$minutes" --moxi "$bin/moxi" "$@"
