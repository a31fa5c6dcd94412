"""Benchmark: `netscope flows` against what the traffic really was, and what accounting costs.

On the docker-bridge lab (instance nsdxbench), each in the same run:
1. accuracy: c1 sends 10,000,000 bytes to c2 (east-west) and to the internet namespace
   (north-south, MASQUERADE) and gets 1,000,000 back from each; the bytes netscope reports
   (conntrack accounting: IP bytes, headers included) against the bytes the sockets moved.
2. cost of accounting: one iperf3 stream c1 -> internet with nf_conntrack_acct off and on in
   the lab's host namespace, runs alternating, medians.
3. scale: ~10,000 tracked connections in the host namespace; netscope's flows() over them
   against `conntrack -L -o extended` (the listing a user would read instead).

    sudo .venv/bin/python bench/bench_flows.py [--runs 5] [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from netscope.actions import accounting, labs
from netscope.actions.lab_plan import ns_name
from netscope.analysis.flows import flows
from netscope.collect.runner import collect_snapshot
from netscope.netdex import measure
from netscope.netdex.measure import ENDPOINT_SCRIPT, Processes, in_ns

INSTANCE = "nsdxbench"
SENT, ANSWER, PORT = 10_000_000, 1_000_000, 7001
ACCT = "/proc/sys/net/netfilter/nf_conntrack_acct"


def endpoint(netns: str, *args: str) -> list[str]:
    return in_ns(netns, [sys.executable, ENDPOINT_SCRIPT, *args])


def send(netns: str, host: str) -> int:
    out = subprocess.run(endpoint(netns, "send", "--host", host, "--port", str(PORT),
                                  "--bytes", str(SENT)), capture_output=True, text=True,
                         check=True, timeout=60)
    return json.loads(out.stdout)["sport"]


def set_acct(netns: str, value: str) -> None:
    subprocess.run(in_ns(netns, ["sysctl", "-qw", f"net.netfilter.nf_conntrack_acct={value}"]),
                   check=True)


def accuracy(ns: dict[str, str], runs: int) -> list[tuple[str, float, float, float, float]]:
    """(direction, IP bytes error to the server %, back %, payload error to the server %,
    back %) per flow per run."""
    out = []
    with Processes() as procs:
        for server in ("c2", "inet"):
            procs.start(endpoint(ns[server], "sink", "--port", str(PORT), "--reply",
                                 str(ANSWER)), "ready", "sink")
        for _ in range(runs):
            ports = {send(ns["c1"], dst): dst for dst in ("10.217.0.3", "198.18.17.1")}
            snap = collect_snapshot()
            for f in flows(snap):
                if f.client.port in ports and f.server.port == PORT:
                    out.append((f.direction, 100 * (f.to_server_bytes - SENT) / SENT,
                                100 * (f.to_client_bytes - ANSWER) / ANSWER,
                                100 * (f.to_server_payload - SENT) / SENT,
                                100 * (f.to_client_payload - ANSWER) / ANSWER))
    return out


def accounting_cost(ns: dict[str, str], runs: int, seconds: float) -> dict[str, list[float]]:
    got: dict[str, list[float]] = {"0": [], "1": []}
    for _ in range(runs):
        for value in ("0", "1"):
            set_acct(ns["host"], value)
            got[value].append(measure.throughput(ns["c1"], ns["inet"], "198.18.17.1",
                                                 seconds).gbps)
    set_acct(ns["host"], "0")
    return got


def scale(ns: dict[str, str], runs: int) -> tuple[int, float, float]:
    with Processes() as procs:
        procs.start(endpoint(ns["inet"], "serve", "--port", "7101"), "ready", "server")
        subprocess.run(endpoint(ns["c1"], "connect", "--host", "198.18.17.1", "--port", "7102",
                                "--seconds", "10", "--max", "10000"), check=True,
                       capture_output=True, timeout=60)
    snap = collect_snapshot()
    host_id = next(n.id for n in snap.namespaces if n.name == ns["host"])
    entries = sum(len(t.entries) for t in snap.conntrack if t.netns == host_id)
    ours, theirs = [], []
    for _ in range(runs):
        start = time.perf_counter()
        flows(snap)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run(in_ns(ns["host"], ["conntrack", "-L", "-o", "extended"]),
                       capture_output=True, check=True)
        theirs.append(time.perf_counter() - start)
    return entries, statistics.median(ours), statistics.median(theirs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3)
    args = parser.parse_args()
    ns = {n: ns_name(INSTANCE, n) for n in ("host", "c1", "c2", "inet")}
    journal = None
    try:
        labs.down(INSTANCE)
        labs.up(labs.resolve("docker-bridge"), INSTANCE)
        journal = accounting.enable([ns["host"]])
        acc = accuracy(ns, args.runs)
        accounting.restore(journal)
        journal = None
        cost = accounting_cost(ns, args.runs, args.seconds)
        entries, ours, theirs = scale(ns, args.runs)
    finally:
        if journal is not None:
            accounting.restore(journal)
        labs.down(INSTANCE)
    for direction in ("east-west", "north-south"):
        for what, i in (("IP bytes", 1), ("payload", 3)):
            there = [a[i] for a in acc if a[0] == direction]
            back = [a[i + 1] for a in acc if a[0] == direction]
            print(f"{direction} {what}: {len(there)} flows; (reported - sent) / sent, to the "
                  f"server: median {statistics.median(there):+.2f}% (max {max(there):+.2f}%);"
                  f" back: median {statistics.median(back):+.2f}% (max {max(back):+.2f}%)")
    off, on = statistics.median(cost["0"]), statistics.median(cost["1"])
    print(f"iperf3 c1 -> inet, {args.runs} runs each: accounting off {off:.2f} Gbit/s, on "
          f"{on:.2f} Gbit/s, ratio {on / off:.3f}  (off {cost['0']}, on {cost['1']})")
    print(f"{entries} entries: flows() {ours * 1000:.0f} ms, conntrack -L -o extended "
          f"{theirs * 1000:.0f} ms, ratio {ours / theirs:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
