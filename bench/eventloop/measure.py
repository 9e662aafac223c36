#!/usr/bin/env python3
"""Event-loop comparison (issue 13, item 1), driven by bench/eventloop.sh.

In one run, side by side, in front of one memcached on free 127.0.0.1
ports: twemproxy (nutcracker), today's moxi (-t 1) and the prototype of
the hot path on each loop (bench/eventloop: tokio, mio, uring). Measures

1. instructions per get under callgrind (`moxi-load callgrind`), ascii
   at each --ir-conns, and binary at 4 and 32 connections (twemproxy
   speaks no binary);
2. proxy CPU (utime+stime of the whole process, /proc/PID/stat) per
   request of a closed-loop load (moxi-load run: 90% gets, 32-byte
   values), in --rounds alternating rounds (order reversed every other
   round); min/median/max over rounds, and ratios taken within each round;
3. the embedded-server case: instructions per request of memcached -t 1,
   moxi -p -t 1 and each loop answering from a map (90% gets), at 4 and
   32 connections;
4. system calls per request (perf stat on the raw_syscalls and syscalls
   tracepoints, attached to the proxy during one more load), in a pass of
   its own so that tracing does not touch the CPU numbers.

Prints one table per measure, with ratios to the tokio prototype and to
twemproxy. The machine may be shared: only (1) and (3) are repeatable.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

CLK = os.sysconf("SC_CLK_TCK")
SYSCALLS = ["read", "recvfrom", "write", "sendto", "writev", "readv", "sendmsg", "recvmsg",
            "epoll_wait", "epoll_pwait",
            "io_uring_enter", "futex", "sched_yield", "epoll_ctl"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, proc, patience=10.0):
    end = time.time() + patience
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)


class Lab:
    def __init__(self, args):
        self.args = args
        self.dir = tempfile.mkdtemp(prefix="eventloop.")
        self.procs = []
        self.mc_port = free_port()
        cmd = ["memcached", "-U", "0", "-l", "127.0.0.1", "-p", str(self.mc_port),
               "-t", str(args.backend_threads), "-m", "256", "-c", "16384"]
        if os.getuid() == 0:
            cmd += ["-u", "root"]
        self.mc = self.spawn(cmd, self.mc_port)
        self.backend = f"127.0.0.1:{self.mc_port}"

    def spawn(self, cmd, port):
        log = open(os.path.join(self.dir, f"{port}.log"), "w")
        p = subprocess.Popen(cmd, stdout=log, stderr=log, cwd=self.dir)
        self.procs.append(p)
        wait_port(port, p)
        return p

    def command(self, system, port):
        a = self.args
        if system == "twemproxy":
            yml = os.path.join(self.dir, f"nutcracker.{port}.yml")
            with open(yml, "w") as f:
                f.write(f"bench:\n  listen: 127.0.0.1:{port}\n  hash: md5\n"
                        f"  distribution: ketama\n  timeout: 10000\n"
                        f"  auto_eject_hosts: false\n  servers:\n"
                        f"   - {self.backend}:1\n")
            return ["nutcracker", "-c", yml, "-o", os.path.join(self.dir, f"nc.{port}.out"),
                    "-s", str(free_port()), "-a", "127.0.0.1"]
        if system == "moxi":
            return [a.moxi, "-l", "127.0.0.1", "-t", "1", "-c", "16384",
                    "-z", f"{port}={self.backend}"]
        return [a.eventloop, system, str(port), self.backend]

    def start(self, system):
        port = free_port()
        return self.spawn(self.command(system, port), port), port

    def stop(self, p):
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                self.stop(p)
        if not self.args.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def load(args, port, conns, duration, prefill=False, protocol="ascii", requests=None):
    """One closed-loop moxi-load run; returns (requests, errors)."""
    cmd = [args.load, "--server", f"127.0.0.1:{port}", "--connections", str(conns),
           "--quiet", "--protocol", protocol]
    cmd += ["--requests", str(requests)] if requests else ["--duration", duration]
    if not prefill:
        cmd.append("--no-prefill")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    row = out.stdout.strip().splitlines()[-1].split(",")
    return int(row[-2]), int(row[-1])


def cpu_rounds(args, lab, systems):
    """{(system, conns): [us per request, per round]}"""
    res = {}
    for rnd in range(args.rounds):
        order = systems if rnd % 2 == 0 else systems[::-1]
        for s in order:
            p, port = lab.start(s)
            load(args, port, 4, "300ms", prefill=(rnd == 0 and s == order[0]))
            for c in args.conns:
                load(args, port, c, "300ms")
                t0 = cpu_ticks(p.pid)
                n, err = load(args, port, c, args.duration)
                t1 = cpu_ticks(p.pid)
                us = (t1 - t0) / CLK * 1e6 / max(n, 1)
                res.setdefault((s, c), []).append(us)
                print(f"  round {rnd + 1} {s:<9} c={c:<4} {n:>8} req {err} err "
                      f"{us:7.2f} us/req", file=sys.stderr)
            lab.stop(p)
    return res


def syscall_pass(args, lab, systems):
    """{(system, conns): (total per request, {name: per request})}"""
    events = ["raw_syscalls:sys_enter"] + [f"syscalls:sys_enter_{n}" for n in SYSCALLS]
    res = {}
    for s in systems:
        p, port = lab.start(s)
        load(args, port, 4, "300ms")
        for c in args.sys_conns:
            load(args, port, c, "300ms")
            out = os.path.join(lab.dir, f"perf.{s}.{c}.txt")
            perf = subprocess.Popen(["perf", "stat", "-x", ",", "-o", out, "-p", str(p.pid),
                                     "-e", ",".join(events)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            n, _ = load(args, port, c, args.sys_duration)
            perf.send_signal(signal.SIGINT)
            perf.wait(10)
            counts = {}
            for line in open(out):
                f = line.strip().split(",")
                if len(f) > 2 and f[0].isdigit():
                    counts[f[2].split(":")[-1].replace("sys_enter_", "")] = int(f[0])
            total = counts.pop("sys_enter", 0)
            res[(s, c)] = (total / max(n, 1), {k: v / max(n, 1) for k, v in counts.items() if v})
            print(f"  syscalls {s:<9} c={c:<4} {n:>8} req {total / max(n, 1):6.2f}/req",
                  file=sys.stderr)
        lab.stop(p)
    return res


def callgrind(args, protocol, conns, others):
    cmd = [args.load, "callgrind", "--moxi", args.moxi, "--protocol", protocol,
           "--callgrind-connections", ",".join(map(str, conns)),
           "--callgrind-requests", str(args.ir_requests), "--quiet"]
    if args.keep:
        cmd.append("--keep")
    for s in others:
        cmd += ["--other", f"{s}={args.eventloop} {s} {{port}} {{backend}}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if args.keep:
        sys.stderr.write(out.stderr)
    res = {}
    for line in out.stdout.splitlines():
        f = line.split()
        if len(f) == 6 and f[1].isdigit() and f[2].isdigit():
            res[(f[0], int(f[1]))] = (float(f[4]), int(f[5]))
    if not res:
        sys.stderr.write(out.stdout + out.stderr)
    return res


def server_ir(args, conns, loops):
    """Instructions per request of a cache server under callgrind (90% gets,
    10% sets, as bench/server_callgrind.sh): memcached -t 1, moxi -p -t 1,
    and each loop of the prototype answering from a map (`local`)."""
    import glob
    import resource
    res = {}
    work = tempfile.mkdtemp(prefix="eventloop-srv.")

    def low_nofile():
        # memcached under valgrind gets valgrind's lowered soft limit.
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, resource.getrlimit(
            resource.RLIMIT_NOFILE)[1]))

    systems = ["memcached", "moxi-p"] + [f"srv-{k}" for k in loops]
    for c in conns:
        for s in systems:
            port = free_port()
            if s == "memcached":
                cmd = ["memcached", "-U", "0", "-l", "127.0.0.1", "-p", str(port), "-t", "1",
                       "-m", "64", "-c", "4096"] + (["-u", "root"] if os.getuid() == 0 else [])
            elif s == "moxi-p":
                cmd = [args.moxi, "-l", "127.0.0.1", "-p", str(port), "-t", "1", "-m", "64"]
            else:
                cmd = [args.eventloop, s[4:], str(port), "local"]
            out = os.path.join(work, f"cg.{s}.c{c}.out")
            p = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
                                 + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 preexec_fn=low_nofile)
            try:
                wait_port(port, p, 60)
                load(args, port, c, None, prefill=True, requests=2000)
                subprocess.run(["callgrind_control", "-z", str(p.pid)], capture_output=True)
                n, err = load(args, port, c, None, requests=args.ir_requests)
                subprocess.run(["callgrind_control", "-d", str(p.pid)], capture_output=True)
            finally:
                # valgrind may not deliver SIGTERM to a thread blocked in
                # io_uring_enter: kill it after a while.
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            ir = 0
            for f in glob.glob(out + "*"):
                for line in open(f, errors="replace"):
                    if line.startswith("summary:"):
                        ir = max(ir, int(line.split()[1]))
            res[(s, c)] = (ir / max(n, 1), err)
            print(f"  server {s:<10} c={c:<3} {ir / max(n, 1):7.0f} Ir/req {err} err",
                  file=sys.stderr)
    if args.keep:
        print(f"server callgrind dumps kept: {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    print("\nembedded server: instructions per request under callgrind (90% gets)")
    print(f"{'conns':>5} " + " ".join(f"{s:>10}" for s in systems)
          + "   " + " ".join(f"{s + '/mc':>13}" for s in systems[1:])
          + "   " + " ".join(f"{s + '/srv-tokio':>16}" for s in systems[3:]))
    for c in conns:
        row = {s: res[(s, c)][0] for s in systems}
        errs = sum(res[(s, c)][1] for s in systems)
        print(f"{c:>5} " + " ".join(f"{row[s]:>10.0f}" for s in systems)
              + "   " + " ".join(f"{ratio(row[s], row['memcached']):>13}" for s in systems[1:])
              + "   " + " ".join(f"{ratio(row[s], row.get('srv-tokio', 0)):>16}"
                                 for s in systems[3:])
              + (f"   ({errs} errors)" if errs else ""))


def ratio(a, b):
    return f"{a / b:.2f}" if b else "-"


def print_ir(title, ir, systems, conns):
    print(f"\n{title}")
    print(f"{'conns':>5} " + " ".join(f"{s:>10}" for s in systems)
          + "   " + " ".join(f"{s + '/tokio':>12}" for s in systems if s != "tokio")
          + ("   " + " ".join(f"{s + '/twem':>11}" for s in systems if s != "twemproxy")
             if "twemproxy" in systems else ""))
    for c in conns:
        row = {s: ir.get((s, c), (0, 0))[0] for s in systems}
        errs = sum(ir.get((s, c), (0, 0))[1] for s in systems)
        line = f"{c:>5} " + " ".join(f"{row[s]:>10.0f}" for s in systems)
        line += "   " + " ".join(f"{ratio(row[s], row.get('tokio', 0)):>12}"
                                 for s in systems if s != "tokio")
        if "twemproxy" in systems:
            line += "   " + " ".join(f"{ratio(row[s], row['twemproxy']):>11}"
                                     for s in systems if s != "twemproxy")
        print(line + (f"   ({errs} errors)" if errs else ""))


def print_cpu(cpu, systems, conns):
    print("\nproxy CPU (utime+stime) per request, us: min / median / max over rounds")
    print(f"{'conns':>5} " + " ".join(f"{s:>20}" for s in systems))
    for c in conns:
        print(f"{c:>5} " + " ".join(
            f"{min(v):6.2f} {statistics.median(v):6.2f} {max(v):6.2f}"
            for v in (cpu[(s, c)] for s in systems)))
    print("\nper-round CPU ratios, min / median / max")
    for base in [b for b in ("tokio", "mio", "twemproxy") if b in systems]:
        for s in systems:
            if s == base or (base == "mio" and s != "uring"):
                continue
            cells = []
            for c in conns:
                r = [a / b for a, b in zip(cpu[(s, c)], cpu[(base, c)]) if b]
                cells.append(f"c={c}: {min(r):.2f} {statistics.median(r):.2f} {max(r):.2f}"
                             if r else f"c={c}: -")
            print(f"  {s + '/' + base:<16} " + "   ".join(cells))


def print_sys(sc, systems, conns):
    print("\nsystem calls per request (perf stat, one pass)")
    print(f"{'conns':>5} " + " ".join(f"{s:>10}" for s in systems))
    for c in conns:
        print(f"{c:>5} " + " ".join(f"{sc[(s, c)][0]:>10.2f}" for s in systems))
    print("breakdown (per request):")
    for c in conns:
        for s in systems:
            parts = ", ".join(f"{k} {v:.2f}" for k, v in sorted(sc[(s, c)][1].items(),
                                                               key=lambda kv: -kv[1]))
            print(f"  c={c:<4} {s:<9} {parts}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--moxi", required=True)
    ap.add_argument("--load", required=True)
    ap.add_argument("--eventloop", required=True)
    ap.add_argument("--loops", default="tokio,mio,uring")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", default="3s")
    ap.add_argument("--conns", default="1,32,512")
    ap.add_argument("--sys-conns", default="1,4,32,512")
    ap.add_argument("--sys-duration", default="2s")
    ap.add_argument("--ir-conns", default="1,4,32,512")
    ap.add_argument("--ir-requests", type=int, default=20000)
    ap.add_argument("--backend-threads", type=int, default=2)
    ap.add_argument("--skip", default="", help="comma list of: ir,binary,server,sys,cpu")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--no-peers", action="store_true",
                    help="only the prototype's loops (no twemproxy, no moxi)")
    args = ap.parse_args()
    args.moxi, args.load, args.eventloop = (os.path.abspath(p) for p in
                                            (args.moxi, args.load, args.eventloop))
    loops = args.loops.split(",")
    args.conns = [int(c) for c in args.conns.split(",")]
    args.sys_conns = [int(c) for c in args.sys_conns.split(",")]
    ir_conns = [int(c) for c in args.ir_conns.split(",")]
    skip = set(args.skip.split(","))
    systems = ([] if args.no_peers else ["twemproxy", "moxi"]) + loops
    print(f"event-loop comparison: {', '.join(systems)}; one memcached "
          f"(-t {args.backend_threads}); {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    if "ir" not in skip:
        ir = callgrind(args, "ascii", ir_conns, loops)
        print_ir("instructions per get under callgrind, ascii", ir, systems, ir_conns)
    if "binary" not in skip:
        irb = callgrind(args, "binary", [4, 32], loops)
        print_ir("instructions per get under callgrind, binary clients", irb,
                 ["moxi"] + loops, [4, 32])
    if "server" not in skip:
        server_ir(args, [4, 32], loops)
    lab = Lab(args)
    try:
        if "sys" not in skip:
            print_sys(syscall_pass(args, lab, systems), systems, args.sys_conns)
        if "cpu" not in skip:
            print_cpu(cpu_rounds(args, lab, systems), systems, args.conns)
    finally:
        lab.close()
        if args.keep:
            print(f"\nlab directory kept: {lab.dir}")


if __name__ == "__main__":
    main()
