#!/usr/bin/env bash
# Memory of the embedded server (`moxi -p`) against memcached 1.6 for the
# same items: N items (default one million) of SIZE-byte values (default
# 100) under keys `key:NNNNNNN`, stored with pipelined `set ... noreply`.
# Prints each server's resident set (VmRSS) before and after, and its
# `curr_items` and `bytes` (both servers charge items alike, so `bytes`
# should match).
#
#   bench/item_memory.sh [ITEMS] [SIZE]
#
# Needs memcached and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
items=${1:-1000000}
size=${2:-100}
command -v memcached >/dev/null || { echo "bench needs memcached (apt-get install memcached)"; exit 1; }
cargo build --release --locked -q -p moxi
moxi="${CARGO_TARGET_DIR:-target}/release/moxi"

python3 - "$moxi" "$items" "$size" <<'PY'
import socket, subprocess, sys, time

moxi, items, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")

def until(conn, end):
    buf = b""
    while not buf.endswith(end):
        chunk = conn.recv(65536)
        if not chunk:
            raise SystemExit("connection closed")
        buf += chunk
    return buf

def fill(port):
    conn = socket.create_connection(("127.0.0.1", port))
    value = b"v" * size
    batch = []
    for i in range(items):
        batch.append(b"set key:%07d 0 0 %d noreply\r\n%s\r\n" % (i, size, value))
        if len(batch) == 2000:
            conn.sendall(b"".join(batch)); batch = []
    conn.sendall(b"".join(batch) + b"stats\r\n")
    stats = until(conn, b"END\r\n").decode()
    conn.close()
    return dict(l.split()[1:3] for l in stats.splitlines() if l.startswith("STAT "))

mem = max(1024, items * (size + 200) // (1 << 20) * 2)
print(f"{items} items of {size} bytes, -m {mem}")
print(f"{'server':<10} {'base MiB':>9} {'full MiB':>9} {'curr_items':>11} {'bytes':>11}")
for name, cmd in (("memcached", ["memcached", "-u", "root", "-U", "0", "-t", "2"]),
                  ("moxi", [moxi, "-t", "2"])):
    port = free_port()
    proc = subprocess.Popen(cmd + ["-l", "127.0.0.1", "-p", str(port), "-m", str(mem)],
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port)).close(); break
            except OSError:
                time.sleep(0.05)
        base = rss_mib(proc.pid)
        stats = fill(port)
        print(f"{name:<10} {base:>9.1f} {rss_mib(proc.pid):>9.1f} {stats.get('curr_items'):>11} {stats.get('bytes'):>11}")
    finally:
        proc.kill(); proc.wait()
PY
