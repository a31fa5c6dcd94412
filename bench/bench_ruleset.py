"""Benchmark: reading rulesets, one big one and 200 namespaces' worth.

1. iptables: a Docker-like 1,200-rule ruleset (400 published ports: a filter ACCEPT, a nat
   DNAT and a hairpin MASQUERADE each) loaded with iptables-restore (nf_tables backend) in a
   namespace. netscope's NetfilterCollector (netlink look + iptables-save -c + parse into
   model objects) against `iptables-save -c` alone, and `nft -j list ruleset`.
2. nft: the same 1,200 rules as a native nftables table; the collector (netlink look, the
   nf_tables netlink reader host/nftnl.py, parse into model objects), first read (its
   memory of decoded expressions emptied, as a one-shot `netscope snapshot`) and next read
   (the TUI's), against `nft -j list ruleset` alone; and, for reference, the reader it
   replaced (nft -j + parse).
3. 200 namespaces without tables (like most containers): the netfilter and conntrack
   collectors in each namespace, entered once each, against running iptables-save,
   ip6tables-save and nft -j in each (what reading them without the netlink look costs).
Baselines run from the same thread inside the namespace (no `ip netns exec` cost). Runs
alternate, --runs each, medians. Namespaces are named nsnf<random>-*, removed at the end.

    sudo .venv/bin/python bench/bench_ruleset.py [--runs 7] [--namespaces 200]
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import sys

from bench_common import Entered, alternate

from netscope.collect.conntrack import ConntrackCollector
from netscope.collect.netfilter import NetfilterCollector
from netscope.host import nft, nftnl

PORTS = 400


def iptables_restore_text() -> str:
    filt = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]",
            ":DOCKER - [0:0]", ":DOCKER-USER - [0:0]"]
    nat = ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
           ":POSTROUTING ACCEPT [0:0]", ":DOCKER - [0:0]"]
    for i in range(PORTS):
        ip = f"172.30.{i // 250}.{i % 250 + 2}"
        filt.append(f"-A DOCKER -d {ip}/32 ! -i br-nsnf -o br-nsnf -p tcp -m tcp --dport 80 "
                    "-j ACCEPT")
        nat.append(f"-A DOCKER ! -i br-nsnf -p tcp -m tcp --dport {10000 + i} -j DNAT "
                   f"--to-destination {ip}:80")
        nat.append(f"-A POSTROUTING -s {ip}/32 -d {ip}/32 -p tcp -m tcp --dport 80 "
                   "-j MASQUERADE")
    return "\n".join([*filt, "COMMIT", *nat, "COMMIT", ""])


def nft_text() -> str:
    lines = ["table ip nsnf_bench {", " chain fwd_c {",
             "  type filter hook forward priority 0; policy drop;"]
    lines += [f"  ip daddr 172.30.{i // 250}.{i % 250 + 2} iifname != \"br-nsnf\" oifname "
              f"\"br-nsnf\" tcp dport 80 counter accept" for i in range(PORTS)]
    lines += [" }", " chain pre {", "  type nat hook prerouting priority dstnat;"]
    lines += [f"  iifname != \"br-nsnf\" tcp dport {10000 + i} counter dnat to "
              f"172.30.{i // 250}.{i % 250 + 2}:80" for i in range(PORTS)]
    lines += [" }", " chain post {", "  type nat hook postrouting priority srcnat;"]
    lines += [f"  ip saddr 172.30.{i // 250}.{i % 250 + 2} ip daddr 172.30.{i // 250}."
              f"{i % 250 + 2} tcp dport 80 counter masquerade" for i in range(PORTS)]
    return "\n".join([*lines, " }", "}", ""])


def sh(*argv: str, stdin: str | None = None) -> None:
    subprocess.run(argv, check=True, capture_output=True, text=True, input=stdin)


def run_quiet(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def big_ruleset(tag: str, runs: int) -> None:
    ns = f"{tag}-big"
    sh("ip", "netns", "add", ns)
    sh("ip", "netns", "exec", ns, "iptables-restore", stdin=iptables_restore_text())
    with Entered(ns) as entered:
        ctx = entered.context()
        tables = NetfilterCollector().collect(ctx)
        rules = sum(len(c.rules) for t in tables for c in t.chains)
        print(f"1. iptables ruleset: {rules} rules in {len(tables)} tables")
        med = alternate(runs, {
            "collector": lambda: NetfilterCollector().collect(ctx),
            "iptables-save": lambda: run_quiet("iptables-save", "-c"),
            "nft -j": lambda: run_quiet("nft", "-j", "list", "ruleset")})
    print(f"   netscope collector (look + iptables-save + parse): {med['collector']:6.1f} ms")
    print(f"   baseline iptables-save -c                        : {med['iptables-save']:6.1f} ms")
    print(f"   baseline nft -j list ruleset                     : {med['nft -j']:6.1f} ms")
    print(f"   netscope / iptables-save                         : "
          f"{med['collector'] / med['iptables-save']:6.2f}x")
    sh("ip", "netns", "del", ns)

    ns = f"{tag}-nft"
    sh("ip", "netns", "add", ns)
    sh("ip", "netns", "exec", ns, "nft", "-f", "-", stdin=nft_text())
    with Entered(ns) as entered:
        ctx = entered.context()
        collector = NetfilterCollector()
        tables = collector.collect(ctx)
        rules = sum(len(c.rules) for t in tables for c in t.chains)
        print(f"2. native nft ruleset: {rules} rules in {len(tables)} table; tables left to "
              f"nft -j: {collector.fallbacks or 'none'}")

        def first_read() -> None:
            nftnl.forget()
            NetfilterCollector().collect(ctx)

        med = alternate(runs, {
            "first": first_read,
            "nft -j": lambda: run_quiet("nft", "-j", "list", "ruleset"),
            "next": lambda: NetfilterCollector().collect(ctx),
            "nft -j + parse": lambda: nft.parse_ruleset(nft.run_nft(), ctx.inode)})
    print(f"   netscope collector, first read (netlink + parse) : {med['first']:6.1f} ms")
    print(f"   netscope collector, next read                    : {med['next']:6.1f} ms")
    print(f"   baseline nft -j list ruleset                     : {med['nft -j']:6.1f} ms")
    print(f"   netscope / nft -j (first read)                   : "
          f"{med['first'] / med['nft -j']:6.2f}x")
    print(f"   the reader before (nft -j + parse), for reference: {med['nft -j + parse']:6.1f} ms")
    sh("ip", "netns", "del", ns)


def many_namespaces(tag: str, count: int, runs: int) -> None:
    names = [f"{tag}-{i:03d}" for i in range(count)]
    sh("ip", "-batch", "-", stdin="".join(f"netns add {n}\n" for n in names))
    try:
        collectors = (NetfilterCollector(), ConntrackCollector())  # as registry.py

        def netscope_all() -> None:
            for name in names:
                with Entered(name) as entered:
                    ctx = entered.context()
                    for c in collectors:
                        ctx.results[c.field] = c.collect(ctx)

        def subprocesses_all() -> None:
            for name in names:
                with Entered(name):
                    run_quiet("iptables-save", "-c")
                    run_quiet("ip6tables-save", "-c")
                    run_quiet("nft", "-j", "list", "ruleset")

        med = alternate(runs, {"netscope": netscope_all, "subprocesses": subprocesses_all})
        print(f"3. {count} namespaces without tables, netfilter + conntrack collectors")
        print(f"   netscope (netlink look, no subprocess)           : {med['netscope']:6.1f} ms "
              f"({med['netscope'] * 1000 / count:.0f} us a namespace, setns included)")
        print(f"   baseline iptables-save + ip6tables-save + nft -j : "
              f"{med['subprocesses']:6.1f} ms")
        print(f"   ratio                                            : "
              f"{med['subprocesses'] / med['netscope']:6.1f}x")
    finally:
        subprocess.run(["ip", "-force", "-batch", "-"], capture_output=True, text=True,
                       input="".join(f"netns del {n}\n" for n in names))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--namespaces", type=int, default=200)
    args = ap.parse_args()
    tag = f"nsnf{secrets.token_hex(2)}"
    try:
        big_ruleset(tag, args.runs)
        many_namespaces(tag, args.namespaces, max(3, args.runs // 2))
    finally:
        for suffix in ("big", "nft"):
            subprocess.run(["ip", "netns", "del", f"{tag}-{suffix}"], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
