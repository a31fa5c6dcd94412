"""Benchmark: merging 50 node snapshots of 100 pods each, and walking a path across nodes.

The node snapshots come from a real capture: two simulated flannel nodes (namespaces: each
node's own network, 100 pods on its cni0, flannel.1 VXLAN with the FDB and neighbour entries
flanneld writes; tests/support/cluster_nodes.py) are built, and netscope snapshots node-a
confined as its node pod would. That capture is then cloned into 50 nodes: node k gets pod
network 10.244.k.0/24, underlay address 10.99.0.(k+1), its own flannel.1 MAC, and one route,
neighbour and FDB entry per other node, made from node-a's real entries for node-b. So every
node snapshot has the shape and size of a real one (100 pods, 49 remote nodes).

Measured, alternating, medians of --runs:
- merge: reading, checking and qualifying the 50 files (in worker processes, one per CPU),
  joining and writing the cluster document, in process (what `netscope merge` does), against
  reading the 50 files with json.load alone in one process (the floor any merge pays); and
  the whole `netscope merge` process;
- cross-node path: `path` from a pod of node 0 to a pod of node 49 (and its reply) on the
  loaded cluster document, host graph already built (its build is reported apart), against
  the same kind of pod-to-pod walk inside one node's own snapshot.

    sudo .venv/bin/python bench/bench_cluster.py [--nodes 50] [--pods 100] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from bench_common import as_installed  # noqa: E402

from netscope.analysis.path import path  # noqa: E402
from netscope.graph.host import HostGraph  # noqa: E402
from netscope.snapshot import load  # noqa: E402
from netscope.snapshot.cluster import merge_files  # noqa: E402
from netscope.snapshot.files import write_file  # noqa: E402
from tests.support.cluster_nodes import build_nodes, snapshot_as_node  # noqa: E402
from tests.support.netns import Namespaces  # noqa: E402

LISTS = ("routes", "neighbours", "fdb")


def capture_template(pods: int, workdir: Path) -> tuple[dict, list[str]]:
    """node-a's real snapshot (2 flannel nodes, `pods` pods each), and its pods' names."""
    spaces = Namespaces("nsbc")
    try:
        a, _b = build_nodes(spaces, 2, "vxlan", pods_per_node=pods)
        out = workdir / "node-a.json"
        done = snapshot_as_node(a, out)
        if done.returncode != 0:
            raise SystemExit(f"capture failed: {done.stderr}")
        return json.loads(out.read_text()), list(a.pods)
    finally:
        spaces.cleanup()


def _sub(patterns: list[tuple[str, str]], text: str) -> str:
    for pattern, repl in patterns:
        text = re.sub(pattern, repl, text)
    return text


def _mac(k: int) -> str:
    return f"02:00:0a:f4:{k:02x}:00"


def _own(k: int) -> list[tuple[str, str]]:
    return [(r"(?<![\d.])10\.244\.0\.", f"10.244.{k}."),
            (r"(?<![\d.])10\.99\.0\.1(?!\d)", f"10.99.0.{k + 1}"),
            (re.escape(_mac(0)), _mac(k)), (r"\bnode-a\b", f"node-{k}")]


def _remote(j: int) -> list[tuple[str, str]]:
    return [(r"(?<![\d.])10\.244\.1\.", f"10.244.@{j}@."),
            (r"(?<![\d.])10\.99\.0\.2(?!\d)", f"10.99.0.@{j + 1}@"),
            (re.escape(_mac(1)), _mac(j))]


def clone_nodes(template: dict, count: int, workdir: Path) -> list[Path]:
    """`count` node snapshots made from node-a's (see the module docstring)."""
    remote_marks = ("10.244.1.", "10.99.0.2\"", _mac(1))
    own = dict(template)
    remote: dict[str, list] = {}
    for name in LISTS:
        items = template[name]
        remote[name] = [x for x in items if any(m in json.dumps(x) for m in remote_marks)]
        own[name] = [x for x in items if x not in remote[name]]
    own_text = json.dumps(own)
    remote_text = json.dumps(remote)
    paths = []
    for k in range(count):
        doc = json.loads(_sub(_own(k), own_text))
        for j in range(count):
            if j == k:
                continue
            extra = _sub(_own(k), _sub(_remote(j), remote_text))
            extra = re.sub(r"@(\d+)@", r"\1", extra)
            for name, items in json.loads(extra).items():
                doc[name] += items
        out = workdir / f"node-{k}.json"
        out.write_text(json.dumps(doc))
        paths.append(out)
    return paths


def merge_in_process(paths: list[Path], out: Path) -> float:
    """What `netscope merge` does: read, check and qualify each file (worker processes, one
    per CPU), join, write."""
    start = time.perf_counter()
    text, header, _count = merge_files([(p.stem, str(p)) for p in paths])
    write_file(str(out), text, private=not header.redacted)
    return time.perf_counter() - start


def json_floor(paths: list[Path]) -> float:
    start = time.perf_counter()
    for p in paths:
        with open(p) as f:
            json.load(f)
    return time.perf_counter() - start


def merge_process(paths: list[Path], out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "netscope", "merge", *(f"{p.stem}={p}" for p in paths),
                    "-o", str(out)], check=True, capture_output=True, cwd=REPO)
    return time.perf_counter() - start


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    as_installed()  # processes from bytecode, as installed
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=50)
    ap.add_argument("--pods", type=int, default=100)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="netscope-bench-cluster-") as tmp:
        work = Path(tmp)
        template, pods = capture_template(args.pods, work)
        paths = clone_nodes(template, args.nodes, work)
        out = work / "cluster.json"
        ours, floor, proc = [], [], []
        for _ in range(args.runs):
            ours.append(merge_in_process(paths, out))
            floor.append(json_floor(paths))
            proc.append(merge_process(paths, out))
        cluster = load(str(out))
        namespaces = len(cluster.namespaces)
        build, graph = timed(lambda: HostGraph(cluster))
        HostGraph._cache[id(cluster)] = graph
        last = args.nodes - 1
        src, dst = f"node-0:{pods[0]}", f"10.244.{last}.{10 + len(pods) - 1}"
        one = load(str(paths[0]))
        HostGraph.of(one)
        cross, local = [], []
        for _ in range(args.runs):
            t, journey = timed(lambda: path(graph, src, dst))
            cross.append(t)
            local.append(timed(lambda: path(one, pods[0], f"10.244.0.{10 + len(pods) - 1}"))[0])
        load_avg = os.getloadavg()
    med = statistics.median
    print(f"{args.nodes} nodes x {args.pods} pods: {namespaces} namespaces in the cluster "
          f"document; load average {load_avg[0]:.2f} {load_avg[1]:.2f}")
    print(f"merge in process (read 50 files, merge, write): {med(ours) * 1000:.0f} ms "
          f"(runs {', '.join(f'{x * 1000:.0f}' for x in ours)})")
    print(f"baseline json.load of the files alone: {med(floor) * 1000:.0f} ms; ratio "
          f"{med(ours) / med(floor):.1f}x")
    print(f"`netscope merge` whole process: {med(proc) * 1000:.0f} ms (budget < 2000 ms)")
    print(f"host graph of the cluster document: {build * 1000:.0f} ms")
    print(f"cross-node path {src} -> {dst}: {med(cross) * 1000:.1f} ms, verdict "
          f"{journey.verdict}, {len(journey.hops)} hops + reply (budget < 200 ms)")
    print(f"baseline pod-to-pod path inside one node: {med(local) * 1000:.1f} ms; ratio "
          f"{med(cross) / med(local):.1f}x")


if __name__ == "__main__":
    main()
