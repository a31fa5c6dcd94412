"""Conntrack read from real namespaces: NAT mappings of real flows, inactive namespaces, caps."""

from __future__ import annotations

import subprocess

import pytest

from netscope.collect.conntrack import ConntrackCollector
from tests.kernel.nf_lab import (
    CLIENT_IP,
    ROUTER_C,
    ROUTER_S,
    SERVER_IP,
    NatLab,
    collect_in,
    ns_inode,
)


@pytest.fixture
def lab(spaces):
    built = NatLab(spaces).build()
    try:
        built.run(built.router, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "rs0",
                  "-j", "MASQUERADE")
        built.run(built.router, "iptables", "-t", "nat", "-A", "PREROUTING", "-d", ROUTER_C,
                  "-p", "tcp", "--dport", "8080", "-j", "DNAT", "--to-destination",
                  f"{SERVER_IP}:80")
        built.run(built.router, "sysctl", "-qw", "net.netfilter.nf_conntrack_acct=1")
        yield built
    finally:
        built.cleanup()


def _table(ns: str, cap: int = 10_000):
    (table,) = collect_in(ns, ConntrackCollector(cap))
    return table


def test_masquerade_and_dnat_show_as_mappings(lab):
    lab.serve(lab.server, 80)
    lab.serve(lab.server, 81)
    lab.connect(lab.client, SERVER_IP, 81)      # routed, MASQUERADE on the way out
    lab.connect(lab.client, ROUTER_C, 8080)     # DNAT to the server, then MASQUERADE
    table = _table(lab.router)
    assert table.active and table.reason is None and table.accounting
    assert table.id == f"conntrack:{ns_inode(lab.router)}"
    tcp = {e.orig.dport: e for e in table.entries if e.proto == "tcp"}
    assert set(tcp) == {81, 8080}

    masq = tcp[81]
    assert (masq.orig.src, masq.orig.dst) == (CLIENT_IP, SERVER_IP)
    # the reply goes to the router's address on the server side: the translated source
    assert (masq.reply.src, masq.reply.dst, masq.reply.sport) == (SERVER_IP, ROUTER_S, 81)
    assert masq.snat and not masq.dnat
    assert {"SRC_NAT", "ASSURED", "SEEN_REPLY"} <= set(masq.status)
    assert masq.state == "ESTABLISHED"
    assert masq.orig_packets >= 3 and masq.reply_packets >= 2 and masq.orig_bytes > 0

    dnat = tcp[8080]
    assert (dnat.orig.src, dnat.orig.dst) == (CLIENT_IP, ROUTER_C)
    assert (dnat.reply.src, dnat.reply.sport, dnat.reply.dst) == (SERVER_IP, 80, ROUTER_S)
    assert dnat.dnat and dnat.snat and "DST_NAT" in dnat.status


def test_entries_agree_with_conntrack_tool(lab):
    lab.serve(lab.server, 80)
    lab.connect(lab.client, SERVER_IP, 80)
    lab.udp(lab.client, SERVER_IP, range(7000, 7020))
    table = _table(lab.router)
    listing = lab.run(lab.router, "conntrack", "-L").stdout.splitlines()
    # conntrack prints "src=A dst=B sport=P dport=Q" for the original direction first
    seen = set()
    for line in listing:
        first: dict[str, str] = {}
        for word in line.split():
            key, _, value = word.partition("=")
            if key in ("src", "dst", "sport", "dport"):
                first.setdefault(key, value)
        if "sport" in first:
            seen.add((first["src"], first["dst"], int(first["sport"]), int(first["dport"])))
    ours = {(e.orig.src, e.orig.dst, e.orig.sport, e.orig.dport) for e in table.entries
            if e.orig.sport is not None}
    assert len(ours) == 21
    assert ours == seen
    assert table.count == len(table.entries)


def test_namespace_where_nothing_uses_conntrack_says_so(spaces):
    quiet = spaces.add("quiet")
    subprocess.run(["ip", "netns", "exec", quiet, "busybox", "ping", "-c", "1", "127.0.0.1"],
                   check=True, capture_output=True)
    table = _table(quiet)
    assert not table.active and table.entries == ()
    assert "no rule in this namespace uses conntrack" in table.reason
    assert table.count == 0


def test_conntrack_in_use_but_empty_is_an_active_empty_table(spaces):
    ns = spaces.add("armed")
    subprocess.run(["ip", "netns", "exec", ns, "nft",
                    "add table inet nsnf_ct; add chain inet nsnf_ct in_c { type filter hook "
                    "input priority 0; }; add rule inet nsnf_ct in_c ct state established "
                    "accept"], check=True)
    table = _table(ns)
    assert table.active and table.reason is None
    assert table.entries == () and table.count == 0
    # and once traffic crosses a hook, entries appear
    subprocess.run(["ip", "netns", "exec", ns, "busybox", "ping", "-c", "1", "127.0.0.1"],
                   check=True, capture_output=True)
    assert [e.proto for e in _table(ns).entries] == ["icmp"]


def test_large_table_is_capped_with_the_total_kept(lab):
    lab.udp(lab.client, SERVER_IP, range(20000, 20150))
    table = _table(lab.router, cap=100)
    assert len(table.entries) == 100 and table.truncated
    assert table.count >= 150
    full = _table(lab.router)
    assert len(full.entries) == full.count >= 150 and not full.truncated
