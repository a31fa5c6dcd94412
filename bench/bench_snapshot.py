"""Benchmark: full L2/L3 collection of a docker-like host (200 namespaces, or --namespaces).

netscope (in-process collect_snapshot, and the whole `netscope snapshot` process with its
peak RSS) against the baseline a user would run: an `ip -j` loop over every namespace
(link, addr, route -4/-6 table all, rule, neigh). Runs alternate; medians of --runs each,
with the load average of each run (these VMs are shared: see bench_scale.py for CPU times).

    sudo .venv/bin/python bench/bench_snapshot.py [--namespaces 200] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scale_lab
from bench_common import as_installed

from netscope.collect.registry import NAMESPACE_COLLECTORS
from netscope.collect.runner import collect_snapshot, visit_namespaces
from netscope.host import netns

L2L3 = {"links", "addresses", "routes", "rules", "neighbours", "fdb"}
IP_QUERIES = (("link",), ("addr",), ("-4", "route", "show", "table", "all"),
              ("-6", "route", "show", "table", "all"), ("rule",), ("neigh",))


def ip_loop(namespaces: list[str]) -> float:
    start = time.perf_counter()
    for ns in [None, *namespaces]:
        for q in IP_QUERIES:
            argv = ["ip", *(["-n", ns] if ns else []), "-j", *q]
            subprocess.run(argv, capture_output=True, check=True)
    return time.perf_counter() - start


def netscope_in_process() -> tuple[float, int]:
    """The whole snapshot: every collector (L2/L3, netfilter, conntrack, DNS), containers."""
    start = time.perf_counter()
    snap = collect_snapshot()
    return time.perf_counter() - start, len(snap.namespaces)


def netscope_l2l3() -> float:
    """What the ip -j loop reads, and only that: discovery, then the L2/L3 collectors in every
    namespace (links, addresses, routes, rules, neighbours, FDB) and the veth pairing."""
    start = time.perf_counter()
    found = netns.discover()
    l2l3 = [c for c in NAMESPACE_COLLECTORS if c.name in L2L3]
    visit_namespaces(found, defaultdict(list), [], l2l3)
    return time.perf_counter() - start


def netscope_process() -> tuple[float, float]:
    """Wall time of `netscope snapshot -o /dev/null`, and its peak RSS in MB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "netscope", "snapshot", "-o", "/dev/null"],
                   check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before) / 1024


def main() -> int:
    as_installed()  # processes from bytecode, as installed
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--namespaces", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(f"building {args.namespaces} namespaces ...", flush=True)
    t = time.perf_counter()
    names = scale_lab.up(args.namespaces)
    print(f"  built in {time.perf_counter() - t:.1f} s")
    try:
        inproc, l2l3, proc, loop, rss, seen, loads = [], [], [], [], [], 0, []
        netscope_in_process()  # warm caches once, both sides see a warm kernel
        for _ in range(args.runs):
            l2l3.append(netscope_l2l3())
            elapsed, seen = netscope_in_process()
            inproc.append(elapsed)
            loop.append(ip_loop(names))
            elapsed, peak = netscope_process()
            proc.append(elapsed)
            rss.append(peak)
            loads.append(os.getloadavg()[0])
            print(f"  run: L2/L3 {l2l3[-1] * 1000:.0f} ms, whole {inproc[-1] * 1000:.0f} ms, "
                  f"process {proc[-1] * 1000:.0f} ms, ip -j loop {loop[-1] * 1000:.0f} ms, "
                  f"load {loads[-1]:.2f}", flush=True)
        ns_in = statistics.median(l2l3)
        base = statistics.median(loop)
        print(f"namespaces seen by netscope: {seen}; load average {min(loads):.2f}-"
              f"{max(loads):.2f}")
        print(f"netscope L2/L3 collection      : {ns_in * 1000:8.1f} ms (median of {args.runs})")
        print(f"netscope whole snapshot        : {statistics.median(inproc) * 1000:8.1f} ms "
              "(all collectors, in process)")
        print(f"netscope snapshot whole process: {statistics.median(proc) * 1000:8.1f} ms, "
              f"peak RSS {max(rss):.0f} MB")
        print(f"baseline ip -j loop            : {base * 1000:8.1f} ms (median of {args.runs})")
        print(f"ratio baseline / netscope L2/L3: {base / ns_in:8.1f}x")
        print(f"ratio baseline / whole process : {base / statistics.median(proc):8.1f}x")
    finally:
        scale_lab.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
