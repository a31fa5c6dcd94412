"""Benchmark: a Kubernetes node with 5,000 services (about 30,000 kube-proxy rules).

The k8s-node lab (pods on cni0, all in lab namespaces) with its node's kube-proxy rules
replaced by those of N services, written exactly as kube-proxy writes them
(netscope.labs.kube_proxy): default/web:http (the lab's, endpoints web-1 and web-2) and N-1
more, two in three with one endpoint and one in three with two (10.244.x.y:8080), one in
ten with a NodePort. iptables mode, loaded with iptables-restore; --nft loads nftables mode
instead (table ip kube-proxy).

1. the node's snapshot: every namespace collector run in the node's namespace (what
   `netscope snapshot` reads there), and the netfilter collector alone, against
   `iptables-save -c` alone (or `nft -j list ruleset` with --nft) run from the same thread
   inside the namespace;
2. `path` from a pod to a ClusterIP on that snapshot: cold (the host graph and the
   ruleset's indexes built on the way, as one `netscope path --snapshot` does) and warm
   (the TUI's next walk), against the budget (200 ms); loading the snapshot file from
   disk, for reference;
3. the TUI's NF tab for the node: building its table and rendering it as the panel does.
Runs alternate, --runs each (default 7), medians. The lab instance is kb<pid>; removed at
the end, even on failure.

    sudo .venv/bin/python bench/bench_kube_node.py [--services 5000] [--runs 7] [--nft]
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile

from bench_common import Entered, alternate

from netscope.actions import labs
from netscope.actions.lab_plan import ns_name
from netscope.analysis.path import path
from netscope.collect.netfilter import NetfilterCollector
from netscope.collect.registry import NAMESPACE_COLLECTORS
from netscope.collect.runner import collect_snapshot
from netscope.graph.host import HostGraph
from netscope.labs.kube_proxy import Endpoint, Service, iptables_rules, nft_script, restore_text
from netscope.snapshot import load, save

INSTANCE = f"kb{os.getpid() % 10000}"
CLUSTER_CIDR, SERVICE_CIDR, NODE_IP = "10.244.0.0/16", "10.96.0.0/12", "192.168.50.2"


def services(count: int) -> list[Service]:
    out = [Service("default", "web", "http", "10.96.0.10", 80,
                   (Endpoint("10.244.0.3", 8080), Endpoint("10.244.0.4", 8080)),
                   node_port=30080)]
    for i in range(1, count):
        n = 2 if i % 3 == 0 else 1
        eps = tuple(Endpoint(f"10.244.{1 + (i * 2 + k) // 250}.{(i * 2 + k) % 250 + 2}", 8080,
                             local=False) for k in range(n))
        ip = f"10.{96 + (i + 16) // 65536}.{((i + 16) // 256) % 256}.{(i + 16) % 256}"
        out.append(Service(f"ns{i % 50}", f"svc{i}", "http", ip, 80, eps,
                           node_port=30100 + i if i % 10 == 0 else None))
    return out


def run_quiet(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def all_collectors(entered: Entered) -> None:
    """Every namespace collector in the node's namespace, as a snapshot visits it."""
    ctx = entered.context()
    try:
        for collector in NAMESPACE_COLLECTORS:
            if collector.can_run() is None:
                ctx.results[collector.field] = collector.collect(ctx)
    finally:
        ctx.close()


def load_rules(node: str, svcs: list[Service], nft: bool) -> None:
    for table in ("nat", "filter"):
        run_quiet("ip", "netns", "exec", node, "iptables", "-t", table, "-F")
        run_quiet("ip", "netns", "exec", node, "iptables", "-t", table, "-X")
    subprocess.run(["ip", "netns", "exec", node, "nft", "delete", "table", "ip", "kube-proxy"],
                   capture_output=True)
    if nft:
        script = nft_script(svcs, CLUSTER_CIDR, (NODE_IP,), SERVICE_CIDR)
        subprocess.run(["ip", "netns", "exec", node, "nft", "-f", "-"], input=script,
                       text=True, check=True, capture_output=True)
    else:
        text = restore_text(iptables_rules(svcs, CLUSTER_CIDR, nfacct=False))
        subprocess.run(["ip", "netns", "exec", node, "iptables-restore", "--noflush"],
                       input=text, text=True, check=True, capture_output=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--services", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--nft", action="store_true", help="kube-proxy's nftables mode")
    args = ap.parse_args()
    mode = "nftables" if args.nft else "iptables"
    labs.up(labs.resolve("k8s-node-nft" if args.nft else "k8s-node"), INSTANCE)
    try:
        node, client = ns_name(INSTANCE, "node"), ns_name(INSTANCE, "client")
        svcs = services(args.services)
        load_rules(node, svcs, args.nft)
        baseline = ("nft", "-j", "list", "ruleset") if args.nft else ("iptables-save", "-c")
        with Entered(node) as entered:
            ctx = entered.context()
            tables = NetfilterCollector().collect(ctx)
            ctx.close()
            rules = sum(len(c.rules) for t in tables for c in t.chains)
            elements = sum(len(s.elements) for t in tables for s in t.sets)
            print(f"kube-proxy {mode} mode, {args.services} services: {rules} rules"
                  + (f", {elements} set/map elements" if elements else "")
                  + f", {sum(len(t.chains) for t in tables)} chains; load "
                  f"{os.getloadavg()[0]:.1f}")

            def netfilter_only() -> None:
                c = entered.context()
                NetfilterCollector().collect(c)
                c.close()

            med = alternate(args.runs, {
                "snapshot": lambda: all_collectors(entered),
                "netfilter": netfilter_only,
                "baseline": lambda: run_quiet(*baseline)})
        print("1. the node's snapshot (every namespace collector, in its namespace)")
        print(f"   netscope, all collectors          : {med['snapshot']:7.1f} ms")
        print(f"   netscope, netfilter collector     : {med['netfilter']:7.1f} ms")
        print(f"   baseline {' '.join(baseline):<25}: {med['baseline']:7.1f} ms")
        print(f"   netscope / baseline               : {med['snapshot'] / med['baseline']:7.2f}x"
              "  (budget 3x)")

        snap = collect_snapshot()
        with tempfile.TemporaryDirectory() as tmp:
            file = os.path.join(tmp, "node.json")
            save(snap, file)
            size = os.path.getsize(file) / 1e6
            loaded = alternate(max(3, args.runs // 2), {"load": lambda: load(file)})["load"]
        fresh = [load_from(snap) for _ in range(args.runs)]

        def cold() -> None:
            path(fresh.pop(), client, "10.96.0.10", "tcp", 80)

        result = path(snap, client, "10.96.0.10", "tcp", 80)
        warm = alternate(args.runs, {"cold": cold,
                                     "warm": lambda: path(snap, client, "10.96.0.10", "tcp",
                                                          80)})
        far = services(args.services)[-1]
        last = alternate(args.runs, {"last": lambda: path(snap, client, far.cluster_ip, "tcp",
                                                          80)})["last"]
        print(f"2. path {client.rsplit('-', 1)[-1]} -> 10.96.0.10:80 "
              f"({len(result.branches)} branches: "
              f"{', '.join(f'{b.probability:.0%} {b.choice}' for b in result.branches)})")
        print(f"   cold (graph and indexes built)    : {warm['cold']:7.1f} ms  (budget 200 ms)")
        print(f"   warm                              : {warm['warm']:7.1f} ms")
        print(f"   to the last service's ClusterIP   : {last:7.1f} ms (warm)")
        print(f"   for reference, loading the {size:.1f} MB snapshot file: {loaded:.0f} ms")

        from rich.console import Console

        from netscope.tui.detail_common import Selection
        from netscope.tui.detail_tabs import netfilter as nf_tab

        graph = HostGraph.of(snap)
        node_id = next(ns.id for ns in snap.namespaces if ns.name == node)
        sel = Selection(netns=node_id)

        def render() -> None:
            Console(file=io.StringIO(), width=160).print(nf_tab(graph, sel))

        tab = alternate(max(3, args.runs // 2), {
            "build": lambda: nf_tab(graph, sel), "render": render})
        print("3. the TUI's NF tab for the node")
        print(f"   table built                       : {tab['build']:7.1f} ms")
        print(f"   built and rendered (160 columns)  : {tab['render']:7.1f} ms")
    finally:
        labs.down(INSTANCE)
    return 0


def load_from(snap):
    """A copy of the snapshot that shares no caches with it (as a fresh `netscope path
    --snapshot` process has)."""
    import dataclasses
    return dataclasses.replace(snap)


if __name__ == "__main__":
    sys.exit(main())
