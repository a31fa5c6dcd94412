"""Benchmark: reading a 10,000-entry conntrack table.

Lab (prefix nsnf): namespaces a and b on a veth pair; an nft rule in a makes it track
connections; 10,000 UDP datagrams from a to distinct ports of b fill a's table (UDP timeout
raised to 600 s in a so entries stay). Runs alternate, --runs each, medians:
  netscope    host.conntrack.dump_entries: raw NETLINK_NETFILTER dump + minimal parser,
              10,000 ConntrackEntry objects (the thread inside namespace a)
  collector   the whole ConntrackCollector (sysctls + dump), as a snapshot runs it
  baseline    `conntrack -L` started from the same thread (so inside a), output discarded
  pyroute2    NFCTSocket().dump() once, for reference (--pyroute2)

    sudo .venv/bin/python bench/bench_conntrack.py [--entries 10000] [--runs 7] [--pyroute2]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import statistics
import subprocess
import sys
import time

from netscope.collect.base import NsContext
from netscope.collect.conntrack import ConntrackCollector
from netscope.host import conntrack, netns
from netscope.host.netlink import RtnlSocket

FILL = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for p in range(int(sys.argv[1])):
    s.sendto(b"x", ("10.98.0.2", 10000 + p))
"""


def sh(*argv: str, stdin: str | None = None) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True,
                          input=stdin).stdout


class Lab:
    def __init__(self) -> None:
        tag = f"nsnf{secrets.token_hex(2)}"
        self.a, self.b = f"{tag}-a", f"{tag}-b"

    def up(self, entries: int) -> None:
        sh("ip", "-batch", "-", stdin=f"netns add {self.a}\nnetns add {self.b}\n")
        sh("ip", "-n", self.a, "-batch", "-", stdin="\n".join([
            "link set lo up", f"link add v0 type veth peer name v1 netns {self.b}",
            "addr add 10.98.0.1/24 dev v0", "link set v0 up"]) + "\n")
        sh("ip", "-n", self.b, "-batch", "-", stdin="\n".join([
            "link set lo up", "addr add 10.98.0.2/24 dev v1", "link set v1 up"]) + "\n")
        sh("ip", "netns", "exec", self.a, "sysctl", "-qw",
           "net.netfilter.nf_conntrack_udp_timeout=600")
        sh("ip", "netns", "exec", self.a, "nft", "add table ip nsnf_bench; add chain ip "
           "nsnf_bench out { type filter hook output priority 0; }; add rule ip nsnf_bench out "
           "ct state new counter")
        sh("ip", "netns", "exec", self.a, sys.executable, "-c", FILL, str(entries))

    def down(self) -> None:
        for ns in (self.a, self.b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--pyroute2", action="store_true",
                    help="also time pyroute2's dump once (the bench extra: pip install "
                         "'.[bench]')")
    args = ap.parse_args()
    if args.pyroute2 and importlib.util.find_spec("pyroute2") is None:
        ap.error("--pyroute2 needs pyroute2, which netscope does not depend on: "
                 "pip install '.[bench]'")
    lab = Lab()
    try:
        lab.up(args.entries)
        fd = os.open(f"{netns.NAMED_DIR}/{lab.a}", os.O_RDONLY)
        home = os.open("/proc/self/ns/net", os.O_RDONLY)
        inode = os.fstat(fd).st_ino
        with netns.entered(fd, home), RtnlSocket() as sock:
            ctx = NsContext(inode, fd, sock)
            got, _ = conntrack.dump_entries(inode, 10 ** 6)
            listed = subprocess.run(["conntrack", "-L"], capture_output=True, text=True)
            print(f"entries: netscope {len(got)}, conntrack -L {len(listed.stdout.splitlines())}")
            ours, collector, tool = [], [], []
            for _ in range(args.runs):
                ours.append(timed(lambda: conntrack.dump_entries(inode, 10 ** 6)))
                tool.append(timed(lambda: subprocess.run(["conntrack", "-L"],
                                                         capture_output=True)))
                collector.append(timed(lambda: ConntrackCollector(10 ** 6).collect(ctx)))
            if args.pyroute2:
                from pyroute2 import NFCTSocket

                with NFCTSocket() as ct:
                    start = time.perf_counter()
                    n = len(list(ct.dump()))
                    print(f"pyroute2 NFCTSocket().dump(): {n} entries in "
                          f"{(time.perf_counter() - start) * 1000:.0f} ms (one run)")
        os.close(fd)
        os.close(home)
        med = {k: statistics.median(v) * 1000 for k, v in
               (("ours", ours), ("collector", collector), ("tool", tool))}
        print(f"netscope dump_entries   : {med['ours']:7.1f} ms (median of {args.runs}; "
              f"min {min(ours) * 1000:.1f}, max {max(ours) * 1000:.1f})")
        print(f"netscope collector      : {med['collector']:7.1f} ms")
        print(f"baseline conntrack -L   : {med['tool']:7.1f} ms (min {min(tool) * 1000:.1f}, "
              f"max {max(tool) * 1000:.1f})")
        print(f"ratio baseline/netscope : {med['tool'] / med['ours']:7.2f}x")
    finally:
        lab.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
