#!/usr/bin/env python3
"""Self cost per function of a callgrind dump, per request, and grouped by
where it comes from (tokio, mio, io_uring, protocol, the prototype's core,
allocator, bytes, libc, ...). callgrind_annotate 3.19 mixes inclusive
costs into its list for these dumps; this reads the file itself.

    cgtop.py DUMP REQUESTS [TOP]
"""
import collections
import re
import sys

GROUPS = [
    ("tokio runtime", r"^tokio::|<tokio::|tokio::runtime|tokio::task"),
    ("mio", r"^mio::|<mio::"),
    ("io_uring", r"io_uring::|<io_uring"),
    ("protocol codecs", r"protocol::"),
    ("prototype core", r"eventloop::core"),
    ("prototype loop", r"eventloop::"),
    ("moxi proxy", r"^proxy::|<proxy::|server::"),
    ("malloc/free", r"malloc|_int_free|free$|cfree|realloc|_int_realloc"),
    ("memcpy/memmove", r"mem(cpy|move|set)"),
    ("bytes", r"bytes::"),
    ("futures/std task", r"futures|core::task|alloc::task|std::task|Waker|waker"),
    ("libc syscall wrappers", r"__libc_|epoll|recv|send|read|write|syscall|clock_gettime|__vdso"),
]


def parse(path):
    names = {}
    self_cost = collections.Counter()
    fn = None
    skip_next = False
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("fn="):
            fn = define(names, line[3:])
            continue
        if line.startswith(("cfn=", "cfi=", "cfl=", "cob=")):
            if line.startswith("cfn="):
                define(names, line[4:])
            continue
        if line.startswith("calls="):
            skip_next = True
            continue
        if line and (line[0].isdigit() or line[0] in "+-*") and fn is not None:
            if skip_next:
                skip_next = False
                continue
            parts = line.split()
            if len(parts) >= 2:
                self_cost[fn] += int(parts[1])
    return self_cost


def define(names, spec):
    m = re.match(r"\((\d+)\)(?: (.*))?$", spec)
    if not m:
        return spec
    if m.group(2) is not None:
        names[m.group(1)] = m.group(2)
    return names.get(m.group(1), "?" + m.group(1))


def group(name):
    for g, pat in GROUPS:
        if re.search(pat, name):
            return g
    return "other"


def main():
    path, requests = sys.argv[1], int(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    cost = parse(path)
    total = sum(cost.values())
    print(f"{path}: {total / requests:.0f} instructions per request")
    groups = collections.Counter()
    for f, c in cost.items():
        groups[group(f)] += c
    for g, c in groups.most_common():
        print(f"  {c / requests:7.0f}  {100 * c / total:5.1f}%  {g}")
    print("  top functions (self):")
    for f, c in cost.most_common(top):
        print(f"  {c / requests:7.0f}  {100 * c / total:5.1f}%  {f[:110]}")


if __name__ == "__main__":
    main()
