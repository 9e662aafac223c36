#!/usr/bin/env bash
# After `dpkg -i moxi_*.deb`: checks what the package installed and runs the
# installed /usr/bin/moxi as a proxy in front of a real memcached (set, get,
# multi-get through it), plus its /readyz. Needs memcached on PATH. Does not
# need systemd running; verifies the unit with systemd-analyze when present.
set -euo pipefail

moxi=/usr/bin/moxi
# Slim images tell dpkg to skip documentation (path-exclude=/usr/share/man/*).
excluded() { grep -qs "^path-exclude=$1" /etc/dpkg/dpkg.cfg.d/*; }
files=("$moxi" /lib/systemd/system/moxi.service /etc/default/moxi)
if excluded /usr/share/man; then
  echo "check-installed: SKIPPED the man page (dpkg excludes /usr/share/man here)"
  no_man=(--man=no)
else
  files+=(/usr/share/man/man1/moxi.1.gz)
  no_man=()
fi
excluded /usr/share/doc || files+=(/usr/share/doc/moxi/README.md)
for f in "${files[@]}"; do
  [ -e "$f" ] || { echo "check-installed: $f is missing" >&2; exit 1; }
done
dpkg -s moxi | grep -q '^Status: install ok installed'
"$moxi" --version | grep -q '^moxi '
if [ ${#no_man[@]} -eq 0 ]; then
  # The man page says what -h says (its flags, at least).
  man_text=$(zcat /usr/share/man/man1/moxi.1.gz | sed 's/\\-/-/g')
  for flag in $("$moxi" -h | grep -o -- '^-[A-Za-z-]*' | sort -u); do
    grep -qF -- "$flag" <<<"$man_text" || { echo "check-installed: $flag not in the man page" >&2; exit 1; }
  done
fi
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "${no_man[@]}" /lib/systemd/system/moxi.service
fi
# The options the unit starts moxi with (run as the unit would, below).
# shellcheck disable=SC1091
. /etc/default/moxi
[ -n "${MOXI_OPTS:-}" ]

work=$(mktemp -d /tmp/moxi-installed.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# A port nothing listens on now (bash's /dev/tcp connect fails).
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
}

# Waits up to 10 s until 127.0.0.1:$1 accepts connections, while process
# $2 lives.
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# Starts a daemon until it holds its port (a neighbour may take a port
# picked as free): $1 = name, then the command with PORT for the port. Sets
# $started to the port; the process joins $pids (so no command substitution:
# it would keep the pid in a subshell).
start_on_free_port() {
  local name=$1 port pid
  shift
  for _ in 1 2 3; do
    port=$(free_port)
    "${@//PORT/$port}" >"$work/$name.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    if wait_port "$port" "$pid"; then
      started=$port
      return
    fi
    kill "$pid" 2>/dev/null || true
  done
  echo "check-installed: $name did not start: $(cat "$work/$name.log")" >&2
  exit 1
}

# Sends $2 (with printf's escapes) to 127.0.0.1:$1 and prints the whole
# answer (the peer closes after `quit` or an HTTP reply).
talk() {
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf '%b' "$2" >&3
  cat <&3
  exec 3<&-
}

# Fails, saying what $1 got, unless the answer $2 is $3.
expect() {
  [ "$2" = "$3" ] || { printf 'check-installed: %s got:\n%s\n' "$1" "$2" >&2; exit 1; }
}

# Fails unless the --metrics endpoint on port $1 answers /readyz with 200.
expect_ready() {
  local ready
  ready=$(talk "$1" 'GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n')
  grep -q '^HTTP/1.1 200' <<<"$ready" || { echo "check-installed: /readyz on $1: $ready" >&2; exit 1; }
}

as_user=()
[ "$(id -u)" != 0 ] || as_user=(-u root) # memcached refuses root without -u
start_on_free_port memcached memcached "${as_user[@]}" -U 0 -l 127.0.0.1 -p PORT -t 1 -m 16
mc=$started
admin=$(free_port)
start_on_free_port moxi "$moxi" -l 127.0.0.1 -t 1 -z "PORT=127.0.0.1:$mc" --metrics "127.0.0.1:$admin"
proxy=$started

proxied=$(talk "$proxy" 'set pkg:a 0 0 5\r\nhello\r\nset pkg:b 7 0 3\r\nbye\r\nget pkg:a pkg:nokey pkg:b\r\nquit\r\n')
expect "through the installed moxi" "$proxied" $'STORED\r\nSTORED\r\nVALUE pkg:a 0 5\r\nhello\r\nVALUE pkg:b 7 3\r\nbye\r\nEND\r'
# The values are in memcached itself, not only in moxi.
expect "memcached direct" "$(talk "$mc" 'get pkg:a\r\nquit\r\n')" $'VALUE pkg:a 0 5\r\nhello\r\nEND\r'
# Ready: a config loaded and memcached up.
expect_ready "$admin"
echo "check-installed: the installed moxi proxied set/get to memcached on port $mc; /readyz is 200"

# The unit's default options, as the unit runs them (ports fixed there).
port_of() { grep -o -- "$1" <<<"$MOXI_OPTS" | grep -o '[0-9]*$'; }
dproxy=$(port_of '-z [0-9]*' || true)
dadmin=$(port_of '--metrics [0-9.]*:[0-9]*' || true)
busy=""
for p in $dproxy $dadmin $(port_of '-p [0-9]*' || true); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then busy="$busy $p"; fi
done
if [ -n "$busy" ] || [ -z "$dproxy" ] || [ -z "$dadmin" ]; then
  echo "check-installed: SKIPPED the default options (ports in use:${busy:- none}; options: $MOXI_OPTS)"
  exit 0
fi
# shellcheck disable=SC2086 # MOXI_OPTS is split as systemd splits $MOXI_OPTS
"$moxi" $MOXI_OPTS >"$work/default.log" 2>&1 &
pid=$!
pids+=("$pid")
wait_port "$dadmin" "$pid" || { echo "check-installed: moxi $MOXI_OPTS: $(cat "$work/default.log")" >&2; exit 1; }
wait_port "$dproxy" "$pid"
expect_ready "$dadmin"
expect "through the default options" "$(talk "$dproxy" 'set pkg:d 0 0 2\r\nok\r\nget pkg:d\r\nquit\r\n')" \
  $'STORED\r\nVALUE pkg:d 0 2\r\nok\r\nEND\r'
echo "check-installed: the default options ($MOXI_OPTS) serve set/get on port $dproxy; /readyz is 200"
