"""Rulesets read from real namespaces: structure, backends, and counters moved by real packets."""

from __future__ import annotations

import subprocess

import networkx as nx
import pytest

from netscope.collect.netfilter import NetfilterCollector
from netscope.host import nfnl
from netscope.report.export import export
from netscope.snapshot import dumps, loads
from tests.kernel.nf_lab import (
    CLIENT_IP,
    ROUTER_C,
    SERVER_IP,
    NatLab,
    collect_in,
    ns_inode,
)
from tests.support.netns import ip

ROUTER_RULES = [
    ("iptables", "-P", "FORWARD", "DROP"),
    ("iptables", "-N", "NSNF-WEB"),
    ("iptables", "-A", "FORWARD", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED",
     "-j", "ACCEPT"),
    ("iptables", "-A", "FORWARD", "-i", "rc0", "-o", "rs0", "-p", "tcp", "-j", "NSNF-WEB"),
    ("iptables", "-A", "NSNF-WEB", "-s", "10.61.1.0/24", "-d", SERVER_IP, "-p", "tcp",
     "--dport", "80", "-m", "comment", "--comment", "web from clients", "-j", "ACCEPT"),
    ("iptables", "-A", "NSNF-WEB", "-j", "DROP"),
    ("iptables", "-t", "nat", "-A", "PREROUTING", "-d", ROUTER_C, "-p", "tcp", "--dport",
     "8080", "-j", "DNAT", "--to-destination", f"{SERVER_IP}:80"),
    ("iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "rs0", "-j", "MASQUERADE"),
    ("ip6tables", "-A", "INPUT", "-s", "fd61:2::2", "-p", "ipv6-icmp", "-j", "ACCEPT"),
    # runs before iptables' filter (priority 0), which would drop the UDP by policy
    ("nft", "add table inet nsnf_t; add chain inet nsnf_t fwd_c { type filter hook forward "
            "priority -10; policy accept; }; add rule inet nsnf_t fwd_c udp dport 9000 "
            "counter drop; add rule inet nsnf_t fwd_c counter"),
]


@pytest.fixture
def lab(spaces):
    built = NatLab(spaces).build()
    try:
        for argv in ROUTER_RULES:
            built.run(built.router, *argv)
        ip("addr", "add", "fd61:2::1/64", "dev", "rs0", "nodad", ns=built.router)
        ip("addr", "add", "fd61:2::2/64", "dev", "eth0", "nodad", ns=built.server)
        yield built
    finally:
        built.cleanup()


def _by_key(tables):
    return {(t.family, t.name): t for t in tables}


def _chain(table, name):
    return next(c for c in table.chains if c.name == name)


def test_structure_backends_and_counters_that_move(lab):
    before = _by_key(collect_in(lab.router, NetfilterCollector()))
    assert {k: t.backend for k, t in before.items()} == {
        ("ip", "filter"): "iptables-nft", ("ip", "nat"): "iptables-nft",
        ("ip6", "filter"): "iptables-nft", ("inet", "nsnf_t"): "nft"}
    inode = ns_inode(lab.router)
    forward = _chain(before[("ip", "filter")], "FORWARD")
    assert (forward.hook, forward.policy, forward.id) == \
        ("forward", "DROP", f"chain:{inode}/ip/filter/FORWARD")
    web = _chain(before[("ip", "filter")], "NSNF-WEB")
    assert web.hook is None and [r.action for r in web.rules] == ["accept", "drop"]
    assert web.rules[0].comment == "web from clients"
    jump = forward.rules[1]
    assert (jump.action, jump.jump) == ("jump", "NSNF-WEB")
    assert [(m.field, m.values) for m in jump.matches] == [
        ("iif", ("rc0",)), ("oif", ("rs0",)), ("proto", ("tcp",))]
    dnat = _chain(before[("ip", "nat")], "PREROUTING").rules[0]
    assert (dnat.action, dnat.nat_to) == ("dnat", f"{SERVER_IP}:80")
    native = _chain(before[("inet", "nsnf_t")], "fwd_c")
    assert (native.hook, native.priority) == ("forward", -10)
    every_rule = [r for t in before.values() for c in t.chains for r in c.rules]
    assert all(r.packets == 0 for r in every_rule)

    # real packets: a TCP connection through the DNAT, three UDP datagrams into the nft drop,
    # and IPv6 pings from the server to the router
    lab.serve(lab.server, 80)
    lab.connect(lab.client, ROUTER_C, 8080)
    lab.udp(lab.client, SERVER_IP, [9000, 9000, 9000])
    lab.run(lab.server, "busybox", "ping", "-c", "2", "-W", "2", "fd61:2::1")

    after = _by_key(collect_in(lab.router, NetfilterCollector()))
    nat = after[("ip", "nat")]
    # NAT chains see the first packet of a connection only
    assert _chain(nat, "PREROUTING").rules[0].packets == 1
    assert _chain(nat, "POSTROUTING").rules[0].packets == 1
    filt = after[("ip", "filter")]
    forward = _chain(filt, "FORWARD")
    assert forward.rules[1].packets == 1  # the SYN; the rest is ESTABLISHED (rule 1)
    assert forward.rules[0].packets >= 3 and forward.rules[0].bytes > 0
    assert [r.packets for r in _chain(filt, "NSNF-WEB").rules] == [1, 0]
    drop, count_all = _chain(after[("inet", "nsnf_t")], "fwd_c").rules
    assert (drop.action, drop.packets) == ("drop", 3)
    assert count_all.packets >= 4  # the TCP packets, both ways
    v6 = _chain(after[("ip6", "filter")], "INPUT").rules[0]
    assert v6.packets >= 2


def test_namespace_without_tables_starts_no_subprocess(spaces, monkeypatch):
    empty = spaces.add("empty")

    def refuse(*args, **kwargs):
        raise AssertionError(f"subprocess started: {args}")

    monkeypatch.setattr(subprocess, "run", refuse)
    assert collect_in(empty, NetfilterCollector()) == []


@pytest.mark.parametrize(("rule", "fields"), [
    # a named set and an anonymous one: iptables-save shows "-p tcp -j ACCEPT", both lost
    ("ip saddr @allowed tcp dport { 1, 2 } counter accept",
     [("saddr", ("@allowed",)), ("proto", ("tcp",)), ("dport", ("1", "2"))]),
    # native ct and fib expressions iptables-nft never writes
    ("ct state established counter accept", [("ct_state", ("established",))]),
    ("fib daddr type local tcp dport 22 accept",
     [("daddr_type", ("local",)), ("proto", ("tcp",)), ("dport", ("22",))]),
])
def test_native_table_with_an_iptables_name_is_read_with_nft(spaces, rule, fields):
    ns = spaces.add("native")
    named_set = (f" add set ip filter allowed {{ type ipv4_addr; elements = {{ {CLIENT_IP} }}; }};"
                 if "@allowed" in rule else "")
    subprocess.run(
        ["ip", "netns", "exec", ns, "nft",
         "add table ip filter; add chain ip filter INPUT { type filter hook input priority 0; };"
         f"{named_set} add rule ip filter INPUT {rule}"], check=True)
    # the netlink look itself (not only iptables-save's own "incompatible") says so
    assert collect_in(ns, _Look()).foreign == {("ip", "filter")}
    (table,) = collect_in(ns, NetfilterCollector())
    assert (table.family, table.name, table.backend) == ("ip", "filter", "nft")
    (got,) = _chain(table, "INPUT").rules
    assert [(m.field, m.values) for m in got.matches] == fields


class _Look:
    def collect(self, ctx):
        with nfnl.nfnl_socket() as sock:
            return nfnl.overview(sock)


def test_iptables_tables_are_not_foreign(lab):
    look = collect_in(lab.router, _Look())
    assert look.foreign == set()
    assert set(look.tables) == {("ip", "filter"), ("ip", "nat"), ("ip6", "filter"),
                                ("inet", "nsnf_t")}


def test_iptables_save_misreports_a_native_set_rule(spaces):
    # why the test above matters: what iptables-save alone would have shown
    ns = spaces.add("lossy")
    subprocess.run(
        ["ip", "netns", "exec", ns, "nft",
         "add table ip filter; add chain ip filter INPUT { type filter hook input priority 0; };"
         " add rule ip filter INPUT tcp dport { 1, 2 } counter accept"], check=True)
    lossy = subprocess.run(["ip", "netns", "exec", ns, "iptables-save"], capture_output=True,
                           text=True, check=True).stdout
    assert "-A INPUT -p tcp -j ACCEPT" in lossy
    (table,) = collect_in(ns, NetfilterCollector())
    assert table.backend == "nft"
    assert _chain(table, "INPUT").rules[0].matches[-1].values == ("1", "2")


def test_legacy_tables_are_read_too(spaces):
    ns = spaces.add("legacy")
    subprocess.run(["ip", "netns", "exec", ns, "iptables-legacy", "-A", "OUTPUT", "-o", "lo",
                    "-p", "udp", "--dport", "9", "-j", "DROP"], check=True)
    subprocess.run(["ip", "netns", "exec", ns, "python3", "-c",
                    "import socket\ntry:\n socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
                    ".sendto(b'x', ('127.0.0.1', 9))\nexcept PermissionError:\n pass"],
                   check=True)
    (table,) = collect_in(ns, NetfilterCollector())
    assert (table.name, table.backend) == ("filter", "iptables-legacy")
    assert table.id == f"nftable:{ns_inode(ns)}/ip-legacy/filter"
    drop = _chain(table, "OUTPUT").rules[0]
    assert (drop.action, drop.packets) == ("drop", 1)


def test_snapshot_carries_rulesets(lab):
    from netscope.collect.runner import collect_snapshot

    lab.serve(lab.server, 80)
    lab.connect(lab.client, ROUTER_C, 8080)
    snap = collect_snapshot()
    inode = ns_inode(lab.router)
    mine = [t for t in snap.tables if t.netns == f"ns:{inode}"]
    assert {(t.family, t.name) for t in mine} == {("ip", "filter"), ("ip", "nat"),
                                                  ("ip6", "filter"), ("inet", "nsnf_t")}
    assert not [e for e in snap.errors if e.netns == f"ns:{inode}"]
    for name in (lab.client, lab.server):
        assert not [t for t in snap.tables if t.netns == f"ns:{ns_inode(name)}"]
    again = loads(dumps(snap))
    assert again.tables == snap.tables and again.conntrack == snap.conntrack

    # the graph: hook -> chains in priority order, the jump, and the DNAT rule pointing at
    # the server's namespace (where 10.61.2.2 lives, behind the router's veth)
    g = nx.parse_graphml(export(snap, "graphml"), force_multigraph=True)
    dnat = f"nfrule:{inode}/ip/nat/PREROUTING/1"
    assert [v for _, v, d in g.out_edges(dnat, data=True) if d["kind"] == "nat_to"] == \
        [f"ns:{ns_inode(lab.server)}"]
    forward = sorted((d["order"], v) for _, v, d in
                     g.out_edges(f"hook:{inode}/ipv4/forward", data=True)
                     if d["kind"] == "hook_entry")
    assert [v for _, v in forward] == [f"chain:{inode}/inet/nsnf_t/fwd_c",
                                       f"chain:{inode}/ip/filter/FORWARD"]
    assert any(d["kind"] == "jump" and v == f"chain:{inode}/ip/filter/NSNF-WEB"
               for _, v, d in g.out_edges(f"chain:{inode}/ip/filter/FORWARD", data=True))
