"""Benchmark: the scale curve. Does the cost per namespace stay flat as a host grows?

For each size (default 100, 200, 500, 1,000, 2,000 namespaces) the docker-like lab of
bench/scale_lab.py is built, measured and torn down (one size at a time):
  kernel     the dumps alone: one rtnetlink socket per namespace and the requests netscope
             sends (links, addresses, routes, rules, neighbours, netconf; the bridge FDB in
             the root namespace), no parsing: the floor netscope's reading sits on
  l2l3       netscope's L2/L3 collection (what the `ip -j` loop reads), in process
  whole      the whole snapshot (every collector, containers), in process
  process    the whole `netscope snapshot -o /dev/null` process, and its peak RSS
Medians of --runs, alternating; wall time, and the process's CPU time (user + system: what
the machine's other load does not inflate), per namespace. The load average is printed
beside each size: these VMs are shared.

    sudo .venv/bin/python bench/bench_scale.py [--sizes 100,200,500,1000,2000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scale_lab
from bench_common import as_installed

from netscope.collect.registry import NAMESPACE_COLLECTORS
from netscope.collect.runner import collect_snapshot, visit_namespaces
from netscope.host import netns
from netscope.host.netlink import RtnlSocket, attr
from netscope.host.rtnl_attrs import (
    AF_BRIDGE,
    AF_UNSPEC,
    IFADDRMSG,
    IFINFOMSG,
    IFLA,
    NDMSG,
    RTEXT_FILTER_SKIP_STATS,
    RTGENMSG,
    RTM_GETADDR,
    RTM_GETLINK,
    RTM_GETNEIGH,
    RTM_GETNETCONF,
    RTM_GETROUTE,
    RTM_GETRULE,
    RTMSG,
)

L2L3 = {"links", "addresses", "routes", "rules", "neighbours", "fdb"}
REQUESTS = (
    (RTM_GETLINK, IFINFOMSG.pack(AF_UNSPEC, 0, 0, 0, 0),
     attr(IFLA.EXT_MASK, RTEXT_FILTER_SKIP_STATS.to_bytes(4, sys.byteorder))),
    (RTM_GETADDR, IFADDRMSG.pack(AF_UNSPEC, 0, 0, 0, 0), b""),
    (RTM_GETROUTE, RTMSG.pack(AF_UNSPEC, 0, 0, 0, 0, 0, 0, 0, 0), b""),
    (RTM_GETRULE, RTMSG.pack(AF_UNSPEC, 0, 0, 0, 0, 0, 0, 0, 0), b""),
    (RTM_GETNEIGH, NDMSG.pack(AF_UNSPEC, 0, 0, 0, 0), b""),
    (RTM_GETNETCONF, RTGENMSG.pack(AF_UNSPEC), b""),
)
FDB = (RTM_GETNEIGH, NDMSG.pack(AF_BRIDGE, 0, 0, 0, 0), b"")


def timed(fn) -> tuple[float, float]:
    """(wall, CPU of this process) seconds of fn()."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def kernel_dumps() -> None:
    """Every namespace's dumps, unparsed, from a worker thread (as netscope reads)."""
    found = netns.discover()

    def visit() -> None:
        home = os.open("/proc/self/ns/net", os.O_RDONLY)
        try:
            for ns in found.values():
                fd = netns.open_ns(ns)
                netns.setns(fd)
                with RtnlSocket() as sock:
                    for request in REQUESTS:
                        sock.dump(*request)
                    if ns.is_self:
                        sock.dump(*FDB)
                os.close(fd)
        finally:
            netns.setns(home)
            os.close(home)

    worker = threading.Thread(target=visit)
    worker.start()
    worker.join()


def l2l3() -> None:
    collectors = [c for c in NAMESPACE_COLLECTORS if c.name in L2L3]
    visit_namespaces(netns.discover(), defaultdict(list), [], collectors)


def whole_process() -> tuple[float, float, float]:
    """(wall, CPU, peak RSS MB) of `netscope snapshot -o /dev/null`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "netscope", "snapshot", "-o", "/dev/null"],
                   check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024


def measure(size: int, runs: int) -> dict:
    try:
        scale_lab.up(size)
        collect_snapshot()  # a warm kernel and a warm process for every contender
        times: dict[str, list[tuple[float, float]]] = defaultdict(list)
        rss = 0.0
        loads = []
        for _ in range(runs):
            times["kernel"].append(timed(kernel_dumps))
            times["l2l3"].append(timed(l2l3))
            times["whole"].append(timed(collect_snapshot))
            wall, cpu, peak = whole_process()
            times["process"].append((wall, cpu))
            rss = max(rss, peak)
            loads.append(os.getloadavg()[0])
        namespaces = size + 1
        out = {"size": size, "namespaces": namespaces, "rss_mb": round(rss),
               "load": [round(min(loads), 1), round(max(loads), 1)]}
        for name, got in times.items():
            wall = statistics.median(w for w, _ in got)
            cpu = statistics.median(c for _, c in got)
            out[name] = {"wall_ms": round(wall * 1000, 1), "cpu_ms": round(cpu * 1000, 1),
                         "wall_us_per_ns": round(wall * 1e6 / namespaces),
                         "cpu_us_per_ns": round(cpu * 1e6 / namespaces)}
        return out
    finally:
        scale_lab.down()


def main() -> int:
    as_installed()  # processes from bytecode, as installed
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,200,500,1000,2000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args()
    results = []
    print("size  load       | per namespace, wall/CPU us: kernel dumps | L2/L3 | whole "
          "snapshot | whole process (RSS)")
    for size in (int(s) for s in args.sizes.split(",")):
        r = measure(size, args.runs)
        results.append(r)
        cells = " | ".join(f"{r[k]['wall_us_per_ns']:4d}/{r[k]['cpu_us_per_ns']:4d}"
                           for k in ("kernel", "l2l3", "whole", "process"))
        print(f"{size:5d} {r['load'][0]:4.1f}-{r['load'][1]:4.1f} | {cells} ({r['rss_mb']} MB)"
              f"   totals ms: " + ", ".join(f"{k} {r[k]['wall_ms']:.0f}/{r[k]['cpu_ms']:.0f}"
                                            for k in ("kernel", "l2l3", "whole", "process")),
              flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
