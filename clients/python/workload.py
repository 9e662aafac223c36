"""The clients' workload (clients/README.md) for pymemcache, pylibmc and
python-binary-memcached.

usage: workload.py CLIENT SERVERS PROTOCOL workload|place N
  CLIENT    pymemcache | pylibmc | bmemcached
  SERVERS   127.0.0.1:PORT[,127.0.0.1:PORT...]
  PROTOCOL  ascii | binary (pylibmc both; pymemcache ascii, bmemcached binary)
  workload  prints the transcript; place N stores place:0 .. place:N-1

Prints one line per operation, `op key -> result`; cas unique values are
never printed, so a transcript through moxi equals one against memcached.
"""

import hashlib
import re
import sys

SIZES = [0, 1, 100, 1000, 10000, 100000]
SPREAD = 40  # keys for the multi-get, spread over every server


def value(size, salt=0):
    return bytes(97 + (i * 7 + size + salt) % 26 for i in range(size))


def show(v):
    """A value as the transcript shows it: its length and md5 prefix."""
    if v is None:
        return "MISS"
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, int):
        return "INT %d" % v
    return "len=%d md5=%s" % (len(v), hashlib.md5(v).hexdigest()[:12])


def err(e):
    """An exception as the transcript shows it, without addresses."""
    text = re.sub(r"127\.0\.0\.1:\d+", "ADDR", str(e))
    return "ERR %s: %s" % (type(e).__name__, text.strip())


class Unsupported(Exception):
    pass


class Library:
    """The workload's operations; each library overrides what it names or
    passes differently, and raises Unsupported for what it lacks."""

    protocols = ()
    binary_keys = False  # whether it sends keys with spaces as they are

    def get(self, k):
        return self.c.get(k)

    def add(self, k, v):
        return self.c.add(k, v)

    def replace(self, k, v):
        return self.c.replace(k, v)

    def append(self, k, v):
        return self.c.append(k, v)

    def prepend(self, k, v):
        return self.c.prepend(k, v)

    def incr(self, k, n):
        return self.c.incr(k, n)

    def decr(self, k, n):
        return self.c.decr(k, n)

    def gets(self, k):
        return self.c.gets(k)

    def cas(self, k, v, token):
        return self.c.cas(k, v, token)

    def delete(self, k):
        return self.c.delete(k)

    def touch(self, k, exp):
        return self.c.touch(k, exp)

    def get_multi(self, ks):
        return self.c.get_multi(ks)

    def delete_multi(self, ks):
        return self.c.delete_multi(ks)

    def set_noreply(self, k, v):
        raise Unsupported()

    def flush(self, delay=0):
        return self.c.flush_all(delay)


class PyMemcache(Library):
    protocols = ("ascii",)

    def __init__(self, servers, protocol):
        from pymemcache.client.base import Client
        from pymemcache.client.hash import HashClient

        hosts = [(h, int(p)) for h, p in (s.rsplit(":", 1) for s in servers)]
        kw = dict(default_noreply=False, connect_timeout=5, timeout=10)
        self.c = Client(hosts[0], **kw) if len(hosts) == 1 else HashClient(hosts, **kw)

    def set(self, k, v, exp=0):
        return self.c.set(k, v, expire=exp)

    def get_multi(self, ks):
        return self.c.get_many(ks)

    def delete_multi(self, ks):
        return self.c.delete_many(ks, noreply=False)

    def set_noreply(self, k, v):
        return self.c.set(k, v, noreply=True)


class PyLibmc(Library):
    protocols = ("ascii", "binary")

    def __init__(self, servers, protocol):
        import pylibmc

        # Servers are host:port[:weight], as moxi's -z writes them.
        self.c = pylibmc.Client(
            servers,
            binary=protocol == "binary",
            behaviors={"ketama_weighted": True, "cas": True},
        )

    def set(self, k, v, exp=0):
        return self.c.set(k, v, time=exp)


class BMemcached(Library):
    protocols = ("binary",)
    binary_keys = True

    def __init__(self, servers, protocol):
        import bmemcached

        # Client replicates every key to every server; one server here.
        self.c = bmemcached.Client(servers, socket_timeout=10)

    def set(self, k, v, exp=0):
        return self.c.set(k, v, time=exp)

    def append(self, k, v):
        raise Unsupported()

    def prepend(self, k, v):
        raise Unsupported()

    def touch(self, k, exp):
        raise Unsupported()

    def set_noreply(self, k, v):
        # set_multi sends quiet SETQs followed by a NOOP (delete_multi: DELETEQs).
        return self.c.set_multi({k: v})


CLIENTS = {"pymemcache": PyMemcache, "pylibmc": PyLibmc, "bmemcached": BMemcached}


def step(op, key, fn, fmt=repr):
    try:
        out = fmt(fn())
    except Unsupported:
        out = "UNSUPPORTED"
    except Exception as e:  # every failure is part of the transcript
        out = err(e)
    print("%s %s -> %s" % (op, key, out), flush=True)


def workload(c):
    step("flush_all", "-", c.flush)
    step("get", "w:none", lambda: c.get("w:none"), show)
    for size in SIZES:
        k = "w:v%d" % size
        step("set", k, lambda: c.set(k, value(size)))
        step("get", k, lambda: c.get(k), show)
    spread = ["w:s%d" % i for i in range(SPREAD)]
    for i, k in enumerate(spread):
        step("set", k, lambda: c.set(k, value(i * 37 % 3000, i)))
    keys = ["w:v%d" % s for s in SIZES] + spread + ["w:none", "w:none2"]

    def multi():
        got = c.get_multi(keys)
        hits = ["\n  %s %s" % (k, show(got[k])) for k in sorted(got, key=str)]
        return "%d hits%s" % (len(hits), "".join(hits))

    step("get_multi", "%d-keys" % len(keys), multi, str)
    step("add", "w:v1", lambda: c.add("w:v1", b"x"))
    step("add", "w:new", lambda: c.add("w:new", b"new"))
    step("get", "w:new", lambda: c.get("w:new"), show)
    step("replace", "w:none", lambda: c.replace("w:none", b"x"))
    step("replace", "w:new", lambda: c.replace("w:new", b"renewed"))
    step("get", "w:new", lambda: c.get("w:new"), show)
    step("set", "w:ap", lambda: c.set("w:ap", b"base"))
    step("append", "w:ap", lambda: c.append("w:ap", b">tail"))
    step("prepend", "w:ap", lambda: c.prepend("w:ap", b"head<"))
    step("get", "w:ap", lambda: c.get("w:ap"), show)
    step("append", "w:none", lambda: c.append("w:none", b"x"))
    step("prepend", "w:none", lambda: c.prepend("w:none", b"x"))
    step("set", "w:n", lambda: c.set("w:n", b"10"))
    step("incr", "w:n", lambda: c.incr("w:n", 5))
    step("decr", "w:n", lambda: c.decr("w:n", 3))
    step("decr", "w:n", lambda: c.decr("w:n", 100))
    step("incr", "w:n", lambda: c.incr("w:n", 1000000))
    step("get", "w:n", lambda: c.get("w:n"), show)
    step("set", "w:max", lambda: c.set("w:max", b"18446744073709551615"))
    step("incr", "w:max", lambda: c.incr("w:max", 1))
    step("incr", "w:text", lambda: (c.set("w:text", b"abc"), c.incr("w:text", 1))[1])
    step("incr", "w:nonum", lambda: c.incr("w:nonum", 1))
    step("decr", "w:nonum", lambda: c.decr("w:nonum", 1))
    step("get", "w:nonum", lambda: c.get("w:nonum"), show)
    cas_steps(c)
    step("delete", "w:new", lambda: c.delete("w:new"))
    step("delete", "w:new", lambda: c.delete("w:new"))
    step("get", "w:new", lambda: c.get("w:new"), show)
    step("touch", "w:v100", lambda: c.touch("w:v100", 3600))
    step("touch", "w:none", lambda: c.touch("w:none", 3600))
    step("get", "w:v100", lambda: c.get("w:v100"), show)
    step("set", "w:ttl", lambda: c.set("w:ttl", b"t", 3600))
    step("get", "w:ttl", lambda: c.get("w:ttl"), show)
    # A negative exptime expires at once (protocol.txt, "Expiration times").
    step("set", "w:past", lambda: c.set("w:past", b"p", -1))
    step("get", "w:past", lambda: c.get("w:past"), show)
    step("touch", "w:ttl", lambda: c.touch("w:ttl", -1))
    step("get", "w:ttl", lambda: c.get("w:ttl"), show)
    step("set_noreply", "w:q", lambda: c.set_noreply("w:q", b"quiet"))
    step("get", "w:q", lambda: c.get("w:q"), show)
    step("set", "w:m1", lambda: c.set("w:m1", b"m"))
    step("delete_multi", "w:m1,w:none", lambda: c.delete_multi(["w:m1", "w:none"]))
    step("get", "w:m1", lambda: c.get("w:m1"), show)
    if c.binary_keys:
        # Binary keys may hold spaces and control bytes; ascii's may not.
        for k in ("w:sp ace", "w:ctl\x01"):
            step("set", repr(k), lambda: c.set(k, b"b"))
            step("get", repr(k), lambda: c.get(k), show)
    # A delayed flush_all leaves the items until then; the next one is at once.
    step("flush_all", "100", lambda: c.flush(100))
    step("get", "w:v100", lambda: c.get("w:v100"), show)
    step("flush_all", "-", c.flush)
    step("get", "w:v100", lambda: c.get("w:v100"), show)
    step("get_multi", "%d-keys" % len(keys), multi, str)


def cas_steps(c):
    step("set", "w:cas", lambda: c.set("w:cas", b"one"))
    try:
        v, token = c.gets("w:cas")
        print("gets w:cas -> %s" % show(v), flush=True)
    except Unsupported:
        print("gets w:cas -> UNSUPPORTED", flush=True)
        return
    step("cas", "w:cas", lambda: c.cas("w:cas", b"two", token))
    step("cas", "w:cas", lambda: c.cas("w:cas", b"three", token))
    step("get", "w:cas", lambda: c.get("w:cas"), show)
    step("cas", "w:none", lambda: c.cas("w:none", b"x", token))
    step("gets", "w:none", lambda: c.gets("w:none"), lambda r: show(r[0]) if r else repr(r))


def place(c, n):
    stored = sum(1 for i in range(n) if c.set("place:%d" % i, str(i).encode()))
    print("stored %d" % stored)


def main(argv):
    if len(argv) < 5 or argv[1] not in CLIENTS or argv[4] not in ("workload", "place"):
        sys.exit(__doc__)
    cls, servers, protocol, mode = CLIENTS[argv[1]], argv[2].split(","), argv[3], argv[4]
    if protocol not in cls.protocols:
        sys.exit("%s speaks %s" % (argv[1], " and ".join(cls.protocols)))
    c = cls(servers, protocol)
    if mode == "workload":
        workload(c)
    else:
        place(c, int(argv[5]))


if __name__ == "__main__":
    main(sys.argv)
