"""Benchmark: building the host graph (netscope.graph.host.HostGraph) beside the collection of
the snapshot it is built from, on a docker-like host of N namespaces (budget: <= 15%).

Each run collects a whole snapshot in process (every collector) and builds its graph three
ways: the indexes and relations every view reads (HostGraph(snapshot)), plus the L2 segments
(networkx connected components: the doctor asks them), and the typed networkx graph the
GraphML/node-link export writes (netfilter included). Runs alternate; medians of --runs.

    sudo .venv/bin/python bench/bench_graph.py [--namespaces 200] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scale_lab

from netscope.collect.runner import collect_snapshot
from netscope.graph.host import HostGraph


def one_run() -> tuple[float, float, float, float, int]:
    start = time.perf_counter()
    snapshot = collect_snapshot()
    collected = time.perf_counter() - start
    start = time.perf_counter()
    graph = HostGraph(snapshot)
    core = time.perf_counter() - start
    start = time.perf_counter()
    graph.segment(snapshot.links[0].id)  # builds every segment at once
    segments = time.perf_counter() - start
    start = time.perf_counter()
    _ = graph.nx
    typed = time.perf_counter() - start
    return collected, core, segments, typed, len(snapshot.namespaces)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--namespaces", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(f"building {args.namespaces} namespaces ...", flush=True)
    t = time.perf_counter()
    scale_lab.up(args.namespaces)
    print(f"  built in {time.perf_counter() - t:.1f} s")
    try:
        import networkx  # noqa: F401  (imported once, as a running netscope has it)

        one_run()  # warm caches once
        rows = [one_run() for _ in range(args.runs)]
        collected, core, segments, typed = (statistics.median(r[i] for r in rows)
                                            for i in range(4))
        seen = rows[-1][4]
        print(f"namespaces seen: {seen}; load average {os.getloadavg()[0]:.2f}")
        print(f"snapshot collection (in process)  : {collected * 1000:8.1f} ms "
              f"(median of {args.runs})")
        print(f"graph: indexes and relations      : {core * 1000:8.1f} ms "
              f"({core / collected:.1%} of collection)")
        print(f"graph: + L2 segments (networkx)   : {(core + segments) * 1000:8.1f} ms "
              f"({(core + segments) / collected:.1%} of collection; budget 15%)")
        print(f"typed networkx graph (export only): {typed * 1000:8.1f} ms "
              f"({typed / collected:.1%} of collection)")
    finally:
        scale_lab.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
