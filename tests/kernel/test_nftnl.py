"""The nf_tables netlink reader (host/nftnl.py) against `nft -j` on the same real rulesets.

Each ruleset is loaded with `nft -f` into a namespace of its own; the reader's document
must become exactly the model objects `nft -j list ruleset` becomes (host/nft.py parses
both), and every table it cannot decode must be named, with the reason, and then read by
`nft -j` in the collector so that the snapshot holds the same tables either way.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from netscope.collect.netfilter import NetfilterCollector
from netscope.host import nft, nftnl
from netscope.host.netlink import RtnlSocket
from netscope.host.nfnl import nfnl_socket
from tests.kernel.nf_lab import collect_in, ns_inode

ROOT = Path(__file__).parents[2]
# the shapes of a Docker-like host's published ports, as bench/bench_ruleset.py scales them
DOCKER_LIKE = """
table ip nsnf_docker {
 chain fwd_c {
  type filter hook forward priority 0; policy drop;
  ip daddr 172.30.0.2 iifname != "br-nsnf" oifname "br-nsnf" tcp dport 80 counter accept
  ip daddr 172.30.0.3 iifname != "br-nsnf" oifname "br-nsnf" tcp dport 80 counter accept
 }
 chain pre {
  type nat hook prerouting priority dstnat;
  iifname != "br-nsnf" tcp dport 10000 counter dnat to 172.30.0.2:80
 }
 chain post {
  type nat hook postrouting priority srcnat;
  ip saddr 172.30.0.2 ip daddr 172.30.0.2 tcp dport 80 counter masquerade
 }
}
"""
# elements in an order that tells sorting by value from the kernel's order, and byte orders
ORDERS = """
table inet nsnf_orders {
 set addrs { type ipv4_addr; elements = { 192.168.1.1, 9.0.0.2, 172.16.0.1, 10.0.0.1 }; }
 set addrs6 { type ipv6_addr; elements = { fd00::9, 2001:db8::1, fd00::1 }; }
 set ports { type inet_service; elements = { 8080, 443, 80, 22 }; }
 set marks { type mark; elements = { 0x300, 0x2, 0x10000 }; }
 set nets { type ipv4_addr; flags interval;
  elements = { 10.1.0.0/16, 10.0.0.5, 10.2.0.0-10.2.0.9 }; }
 map svc { type ipv4_addr . inet_proto . inet_service : verdict;
  elements = { 10.0.0.9 . udp . 53 : accept, 9.9.9.9 . tcp . 443 : drop } }
 chain c {
  ip daddr @addrs tcp dport @ports meta mark @marks counter accept
  ip6 saddr @addrs6 counter
  ip saddr @nets ip daddr . meta l4proto . th dport vmap @svc
  ip6 daddr fd00::/16 meta l4proto udp udp dport != 53 counter drop
  ct state { established, related } accept
  ct status dnat ct direction reply counter
  iifname { "eth0", "lo" } oifname "veth0" accept
  tcp dport { 22, 80-89, 443 } ip daddr { 10.0.0.0/8, 192.168.1.1 } accept
  meta skuid 0 counter return
 }
}
"""
# what the reader leaves to nft -j (and must say so): a quota, a set of interface wildcards
UNDECODED = """
table ip nsnf_odd {
 chain c {
  quota over 10 mbytes drop
  ip saddr 10.0.0.1 counter accept
 }
}
table ip nsnf_wild {
 chain c { iifname { "eth*", "lo" } accept; }
}
table ip nsnf_plain {
 chain c { tcp dport 22 counter accept; }
}
"""
RULESETS = {
    "native": (ROOT / "fixtures" / "netfilter" / "native.nft").read_text(),
    "kube-proxy": (ROOT / "fixtures" / "kube-proxy" / "nftables.rules").read_text(),
    "docker-like": DOCKER_LIKE,
    "orders": ORDERS,
}
READ_FIELDS = {"table": ("family", "name", "handle"),
               "chain": ("family", "table", "name", "handle", "type", "hook", "prio", "policy"),
               "rule": ("family", "table", "chain", "handle", "expr", "comment"),
               "set": ("family", "name", "table", "type", "handle", "flags", "elem", "map",
                       "comment")}
READ_FIELDS["map"] = READ_FIELDS["set"]


def _load(spaces, name: str, text: str) -> str:
    ns = spaces.add(name)
    # native.nft matches packets of veth0/eth0 by name and iif "lo" by index
    subprocess.run(["ip", "-n", ns, "link", "add", "veth0", "type", "veth", "peer", "name",
                    "eth0"], check=True)
    subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=text, text=True,
                   check=True)
    return ns


class _Read:
    """Both readers, with the calling thread inside the namespace."""

    def collect(self, ctx):
        names = {}
        with RtnlSocket() as s:
            from netscope.host import rtnl

            names = {link.ifindex: link.name for link in rtnl.dump_links(s, ctx.inode)}
        with nfnl_socket() as sock:
            doc, failed = nftnl.read_ruleset(sock, names)
        return doc, failed, nft.run_nft()


def _fields(doc: dict, leave_out: set) -> list:
    out = []
    for item in doc["nftables"]:
        kind, body = next(iter(item.items()))
        if kind not in READ_FIELDS:
            continue
        if (body["family"], body.get("table", body.get("name"))) in leave_out:
            continue
        out.append({kind: {k: body[k] for k in READ_FIELDS[kind] if k in body}})
    return out


@pytest.mark.parametrize("name", sorted(RULESETS))
def test_reader_gives_the_model_nft_gives(spaces, name):
    ns = _load(spaces, name[:8], RULESETS[name])
    inode = ns_inode(ns)
    doc, failed, by_nft = collect_in(ns, _Read())
    assert failed == {}, f"{name}: tables left to nft -j: {failed}"
    ours, theirs = _fields(doc, set()), _fields(by_nft, set())
    for mine, nfts in zip(ours, theirs, strict=True):
        assert mine == nfts, f"reader:\n{json.dumps(mine)}\nnft -j:\n{json.dumps(nfts)}"
    assert nft.parse_ruleset(doc, inode, shared=True) == nft.parse_ruleset(by_nft, inode)


def test_what_the_reader_does_not_decode_is_read_by_nft_and_named(spaces):
    ns = _load(spaces, "odd", UNDECODED)
    inode = ns_inode(ns)
    doc, failed, by_nft = collect_in(ns, _Read())
    assert set(failed) == {("ip", "nsnf_odd"), ("ip", "nsnf_wild")}
    assert "quota" in failed[("ip", "nsnf_odd")]
    assert "ifname" in failed[("ip", "nsnf_wild")]
    assert _fields(doc, set()) == _fields(by_nft, set(failed))
    collector = NetfilterCollector()
    collector.begin()
    tables = collect_in(ns, collector)
    assert tables == nft.parse_ruleset(by_nft, inode)
    assert set(collector.fallbacks) == {(inode, "ip", "nsnf_odd"), (inode, "ip", "nsnf_wild")}


def test_collector_reads_native_tables_without_nft(spaces, monkeypatch):
    ns = _load(spaces, "nonft", RULESETS["kube-proxy"])
    by_nft = collect_in(ns, _Read())[2]
    real_popen = subprocess.Popen

    def no_nft(argv, *args, **kwargs):
        assert argv[0] != "nft", "nft ran although every table was decoded"
        return real_popen(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", no_nft)
    collector = NetfilterCollector()
    collector.begin()
    tables = collect_in(ns, collector)
    assert tables == nft.parse_ruleset(by_nft, ns_inode(ns))
    assert collector.fallbacks == {}
    assert os.path.exists(f"/run/netns/{ns}")
