"""Benchmark: the sockets collector at 200 namespaces with 20 sockets each.

The scale lab (bench/scale_lab.py) plus, in every namespace, one process (`sleep`) holding 20
sockets made there: 4 TCP listeners (0.0.0.0:80, 127.0.0.1:5432, [::]:8080, eth0's
address:9000), 3 UDP sockets bound (0.0.0.0:53, [::]:123, 127.0.0.1:8125), 5 TCP
connections over loopback (both ends: 10 sockets), 3 UDP sockets connected to the bridge.

netscope: what the sockets collector adds to a whole in-process snapshot (the snapshot with
it minus the snapshot without it, where the DNS collector reads its own listeners), and its
own time inside the snapshot (every namespace's dumps and objects, and the /proc search for
the processes holding them, in `finish`).
A default snapshot reads TCP listeners and all UDP sockets (7 + 3 of the 20 here); with
`--connections` (as `netscope sockets` reads) also the TCP connections, which costs a walk of
the kernel's whole established hash per namespace. Baseline: `ss -tanup` run in each
namespace (`ss -N NAME`), as one would by hand. Runs alternate; medians of --runs each.

    sudo .venv/bin/python bench/bench_sockets.py [--namespaces 200] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scale_lab

from netscope.collect import registry, runner
from netscope.collect.sockets import SocketsCollector
from netscope.host import netns

SOCKETS_PER_NS = 20


def _sockets_here(index: int) -> list[socket.socket]:
    """20 sockets in the calling thread's namespace (see the module docstring)."""
    addr = f"10.199.{index // 250}.{index % 250 + 2}"
    made: list[socket.socket] = []

    def tcp_listener(family: int, host: str, port: int) -> socket.socket:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(16)
        made.append(s)
        return s

    tcp_listener(socket.AF_INET, "0.0.0.0", 80)
    db = tcp_listener(socket.AF_INET, "127.0.0.1", 5432)
    tcp_listener(socket.AF_INET6, "::", 8080)
    tcp_listener(socket.AF_INET, addr, 9000)
    for family, host, port in ((socket.AF_INET, "0.0.0.0", 53), (socket.AF_INET6, "::", 123),
                               (socket.AF_INET, "127.0.0.1", 8125)):
        u = socket.socket(family, socket.SOCK_DGRAM)
        u.bind((host, port))
        made.append(u)
    for _ in range(5):
        c = socket.create_connection(("127.0.0.1", 5432))
        made += [c, db.accept()[0]]
    for port in (53, 123, 514):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.connect(("10.199.0.1", port))
        made.append(u)
    assert len(made) == SOCKETS_PER_NS
    return made


def hold_sockets(names: list[str]) -> list[subprocess.Popen]:
    """One `sleep` per namespace holding that namespace's 20 sockets (this process keeps
    none). Sockets are made from a worker thread (setns moves only that thread)."""
    import concurrent.futures

    found = {f.named[0]: f for f in netns.discover().values() if f.named}
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    holders = []

    def make(item: tuple[int, str]) -> list[socket.socket]:
        index, name = item
        fd = netns.open_ns(found[name])
        try:
            with netns.entered(fd, home):
                return _sockets_here(index)
        finally:
            os.close(fd)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        for made in pool.map(make, enumerate(names)):
            fds = [s.fileno() for s in made]
            holders.append(subprocess.Popen(["sleep", "3600"], pass_fds=fds))
            for s in made:
                s.close()
    os.close(home)
    return holders


def ss_loop(names: list[str]) -> float:
    start = time.perf_counter()
    for name in names:
        subprocess.run(["ss", "-N", name, "-tanup"], capture_output=True, check=True)
    return time.perf_counter() - start


class Timed(SocketsCollector):
    """The registered collector, timed: wall and CPU time of begin, every collect (in the
    visiting thread) and finish (the /proc search for the sockets' processes)."""

    def __init__(self) -> None:
        super().__init__()
        self.spent = 0.0
        self.cpu = 0.0
        self.owners = 0.0

    def _timed(self, call, *args):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return call(*args)
        finally:
            self.spent += time.perf_counter() - wall
            self.cpu += time.thread_time() - cpu

    def begin(self) -> None:
        self._timed(super().begin)

    def collect(self, ctx):
        return self._timed(super().collect, ctx)

    def finish(self, tables):
        start = time.perf_counter()
        try:
            return self._timed(super().finish, tables)
        finally:
            self.owners += time.perf_counter() - start


def snapshot_with(collectors: tuple, connections: bool = False) -> tuple[float, object]:
    saved = registry.NAMESPACE_COLLECTORS
    runner.NAMESPACE_COLLECTORS = collectors
    try:
        start = time.perf_counter()
        snap = runner.collect_snapshot(connections=connections)
        return time.perf_counter() - start, snap
    finally:
        runner.NAMESPACE_COLLECTORS = saved


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--namespaces", type=int, default=200)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    print(f"building {args.namespaces} namespaces with {SOCKETS_PER_NS} sockets each ...",
          flush=True)
    names = scale_lab.up(args.namespaces)
    holders: list[subprocess.Popen] = []
    try:
        holders = hold_sockets(names)
        base = registry.NAMESPACE_COLLECTORS
        without = tuple(c for c in base if c.name != "sockets")
        runs: dict[str, list[float]] = {k: [] for k in (
            "own", "cpu", "owners", "with", "without", "own_c", "cpu_c", "owners_c", "with_c",
            "ss")}
        snapshot_with(base)  # warm caches once
        for _ in range(args.runs):
            for suffix, connections in (("", False), ("_c", True)):
                timed = Timed()
                elapsed, snap = snapshot_with(tuple(timed if c.name == "sockets" else c
                                                    for c in base), connections)
                runs["own" + suffix].append(timed.spent)
                runs["cpu" + suffix].append(timed.cpu)
                runs["owners" + suffix].append(timed.owners)
                runs["with" + suffix].append(elapsed)
                if not connections:
                    received = [t for t in snap.sockets if len(t.sockets) == 10]
            runs["without"].append(snapshot_with(without)[0])
            runs["ss"].append(ss_loop(names))
        lab = [t for t in snap.sockets if len(t.sockets) == SOCKETS_PER_NS]
        owned = sum(1 for t in lab for s in t.sockets if s.processes)
        print(f"namespaces with all {SOCKETS_PER_NS} sockets (with connections): {len(lab)}, "
              f"{owned} sockets with their process; with 10 (listeners and UDP, default): "
              f"{len(received)}; load average {os.getloadavg()[0]:.2f}")
        ms = {k: statistics.median(v) * 1000 for k, v in runs.items()}
        print(f"whole snapshot without the sockets collector   : {ms['without']:8.1f} ms")
        print(f"  default (listeners, UDP): with it / added     : {ms['with']:8.1f} / "
              f"{ms['with'] - ms['without']:.1f} ms (budget: adds <= 20 ms)")
        print(f"  default: the collector's own time, wall / CPU : {ms['own']:8.1f} / "
              f"{ms['cpu']:.1f} ms, of which finding processes {ms['owners']:.1f} ms")
        print(f"  --connections: with it / added                : {ms['with_c']:8.1f} / "
              f"{ms['with_c'] - ms['without']:.1f} ms")
        print(f"  --connections: own time, wall / CPU           : {ms['own_c']:8.1f} / "
              f"{ms['cpu_c']:.1f} ms, of which finding processes {ms['owners_c']:.1f} ms")
        print(f"baseline ss -tanup in each namespace            : {ms['ss']:8.1f} ms")
        print(f"ratio baseline / collector's own time (conns.)  : "
              f"{ms['ss'] / ms['own_c']:8.1f}x (median of {args.runs} each)")
    finally:
        for p in holders:
            p.kill()
            p.wait()
        scale_lab.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
