"""The netfilter graph, `show --netfilter` and `netscope conntrack`, over the captured
rulesets (fixtures/netfilter) placed in a small snapshot: a router namespace whose DOCKER
chain publishes port 8081 to a container behind a veth pair."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import networkx as nx
import pytest

from netscope.cli import conntrack_cmd
from netscope.cli.errors import UserError
from netscope.cli.netfilter_tree import render_netfilter
from netscope.graph.netfilter import nat_address
from netscope.graph.typed import EdgeKind
from netscope.host import conntrack, iptables, nft
from netscope.model import Address, Container, Header, Link, Namespace, Snapshot, VethPeer
from netscope.model.netfilter import ConntrackTable
from netscope.report.export import export
from netscope.snapshot import dumps

FIXTURES = Path(__file__).parents[2] / "fixtures" / "netfilter"
ROUTER, WEB = 4026532100, 4026532101
R, W = f"ns:{ROUTER}", f"ns:{WEB}"


def _link(inode: int, ifindex: int, name: str, kind: str = "veth", peer: str | None = None):
    return Link(id=f"link:{inode}/{ifindex}", netns=f"ns:{inode}", ifindex=ifindex, name=name,
                kind=kind, operstate="UP", flags=("UP",), mtu=1500,
                peer=VethPeer(ifindex=0, netnsid=0, link=peer) if peer else None)


def _addr(inode: int, ifindex: int, ip: str, plen: int):
    return Address(id=f"addr:{inode}/{ifindex}/{ip}/{plen}", netns=f"ns:{inode}",
                   link=f"link:{inode}/{ifindex}", family="inet", address=ip, prefixlen=plen,
                   scope="global")


def _ct_table(netns: str, inode: int) -> ConntrackTable:
    lines = (FIXTURES / "conntrack-dump.txt").read_text().splitlines()
    bodies = [bytes.fromhex(line[4:]) for line in lines if line.startswith("msg ")]
    entries = tuple(conntrack.parse_entry(b, 0, len(b), inode, {}) for b in bodies)
    return ConntrackTable(id=f"conntrack:{inode}", netns=netns, active=True, count=6,
                          max=262144, accounting=True, entries=entries)


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    saved = (FIXTURES / "iptables-save.txt").read_text()
    tables = iptables.parse_save(saved, ROUTER, "ip")
    raw = (FIXTURES / "nft-ruleset.json").read_text().splitlines()
    data = json.loads("\n".join(x for x in raw if not x.startswith("#")))
    tables += nft.parse_ruleset(data, ROUTER, {("ip", t.name) for t in tables} |
                                {("ip6", "filter")})
    links = (_link(ROUTER, 1, "lo", "loopback"), _link(ROUTER, 2, "br0", "bridge"),
             _link(ROUTER, 3, "veth0", peer=f"link:{WEB}/2"),
             _link(WEB, 2, "eth0", peer=f"link:{ROUTER}/3"))
    return Snapshot(
        header=Header(netscope_version="test", kernel="6.18", hostname="unit",
                      captured_at="2026-01-01T00:00:00+00:00", duration_ms=1.0),
        namespaces=(Namespace(id=R, inode=ROUTER, name="router", is_self=True),
                    Namespace(id=W, inode=WEB, name="web")),
        links=links,
        addresses=(_addr(ROUTER, 2, "10.1.1.1", 24), _addr(WEB, 2, "10.1.1.3", 24)),
        containers=(Container(id="container:abc", container_id="abc", name="web",
                              image="busybox", pid=42, netns=W, network_mode="bridge"),),
        tables=tuple(tables),
        conntrack=(_ct_table(R, ROUTER),
                   ConntrackTable(id=f"conntrack:{WEB}", netns=W, active=False,
                                  reason="no rule in this namespace uses conntrack")))


@pytest.fixture(scope="module")
def graph(snapshot):
    """The GraphML export (`netscope export -o host.graphml`) read back by networkx."""
    return nx.parse_graphml(export(snapshot, "graphml"), force_multigraph=True)


def _edges(g, kind, source=None):
    return [(u, v, d) for u, v, d in g.edges(data=True)
            if d["kind"] == kind and (source is None or u == source)]


def test_hook_entries_in_priority_order(graph):
    entries = sorted(_edges(graph, EdgeKind.HOOK_ENTRY, f"hook:{ROUTER}/ipv4/prerouting"),
                     key=lambda e: e[2]["order"])
    assert [v.split("/", 2)[2] for _, v, _ in entries] == [
        "raw/PREROUTING", "mangle/PREROUTING", "nat/PREROUTING", "nsnf_nat/pre"]
    inputs = [v for _, v, _ in _edges(graph, EdgeKind.HOOK_ENTRY, f"hook:{ROUTER}/ipv6/input")]
    assert f"chain:{ROUTER}/inet/nsnf_native/input" in inputs
    assert (f"hook:{ROUTER}/ipv4/prerouting", R) in [
        (u, v) for u, v, _ in _edges(graph, EdgeKind.IN_NAMESPACE)]


def test_jumps_and_gotos(graph):
    jumps = {(u.rsplit("/", 1)[1], v.rsplit("/", 1)[1])
             for u, v, _ in _edges(graph, EdgeKind.JUMP) if "/ip/" in u}
    assert {("INPUT", "WEB"), ("PREROUTING", "DOCKER")} <= jumps
    gotos = {(u.rsplit("/", 1)[1], v.rsplit("/", 1)[1]) for u, v, _ in
             _edges(graph, EdgeKind.GOTO)}
    assert ("INPUT", "LOGDROP") in gotos and ("helper", "helper2") in gotos


def test_published_port_points_at_the_container(graph):
    docker_dnat = f"nfrule:{ROUTER}/ip/nat/DOCKER/1"
    targets = {v for _, v, _ in _edges(graph, EdgeKind.NAT_TO, docker_dnat)}
    assert targets == {W, "container:abc"}
    assert graph.nodes[docker_dnat]["label"] == "publishes tcp/8081 -> web:81"
    assert "Docker" in graph.nodes[f"chain:{ROUTER}/ip/nat/DOCKER"]["label"]


def test_rules_point_at_interfaces_and_addresses(graph):
    lo_rule = f"nfrule:{ROUTER}/ip/filter/INPUT/1"
    assert [(v, d["field"]) for _, v, d in _edges(graph, EdgeKind.NAMES_INTERFACE, lo_rule)] \
        == [(f"link:{ROUTER}/1", "iif")]
    masq = f"nfrule:{ROUTER}/ip/nat/POSTROUTING/1"
    assert [(v, d["negated"]) for _, v, d in _edges(graph, EdgeKind.NAMES_INTERFACE, masq)] \
        == [(f"link:{ROUTER}/2", True)]
    (addr,) = [v for _, v, _ in _edges(graph, EdgeKind.NAMES_ADDRESS, masq)]
    assert addr == "ip:10.1.1.0/24"
    on = {v for _, v, _ in _edges(graph, EdgeKind.ADDRESS_ON, addr)}
    assert on == {f"link:{ROUTER}/2", f"link:{WEB}/2"}


@pytest.mark.parametrize(("nat_to", "address"), [
    ("10.1.1.2:80", "10.1.1.2"), ("10.1.1.2", "10.1.1.2"), ("[fd00::1]:80", "fd00::1"),
    ("fd00::1", "fd00::1"), ("10.0.0.1-10.0.0.9:80-90", "10.0.0.1"), (":3129", None),
    ("3129", None), (None, None)])
def test_nat_address(nat_to, address):
    assert nat_address(nat_to) == address


def test_show_netfilter_tree(snapshot):
    lines = list(render_netfilter(snapshot))
    text = "\n".join(lines)
    assert lines[0] == f"router ({R})"
    assert "  table ip filter  [iptables-nft]" in lines
    start = lines.index("  table ip filter  [iptables-nft]")
    head = next(x for x in lines[start:] if "chain FORWARD" in x)
    assert "hook forward priority 0 policy DROP" in head
    # a jump is followed, indented, right after the rule that jumps
    i = next(n for n, x in enumerate(lines) if x.endswith("-A INPUT -p tcp -m multiport "
                                                           "--dports 80,443 -j WEB"))
    assert lines[i + 1].strip().startswith("chain WEB")
    assert len(lines[i + 1]) - len(lines[i + 1].lstrip()) > len(lines[i]) - len(lines[i].lstrip())
    assert "[3 pkts, 252 B]" in text
    assert "<publishes tcp/8081 -> web:81>" in text
    assert "<not evaluated: -m socket>" in text
    assert text.endswith("(1 namespace without netfilter tables)")


def _run_conntrack(snapshot, tmp_path, capsys, **kw) -> str:
    path = tmp_path / "snap.json"
    path.write_text(dumps(snapshot))
    args = argparse.Namespace(snapshot=str(path), ns=kw.get("ns"), json=kw.get("json", False))
    assert conntrack_cmd.run(args) == 0
    return capsys.readouterr().out


def test_conntrack_text(snapshot, tmp_path, capsys):
    out = _run_conntrack(snapshot, tmp_path, capsys).splitlines()
    assert out[0] == f"router ({R}): 6 entries (max 262144)"
    tcp = next(x for x in out if x.lstrip().startswith("tcp"))
    assert "10.77.1.2:46366 -> 10.77.2.2:8080" in tcp
    assert "SNAT from 10.77.2.1:46366" in tcp and "DNAT" not in tcp
    assert "[ASSURED]" in tcp and "4/3 pkts" in tcp
    assert out[-1] == f"web ({W}): conntrack not active: no rule in this namespace uses conntrack"


def test_conntrack_json_and_namespace_filter(snapshot, tmp_path, capsys):
    doc = json.loads(_run_conntrack(snapshot, tmp_path, capsys, ns="router", json=True))
    assert doc["format"] == "netscope-conntrack" and doc["version"] == 1
    (only,) = doc["namespaces"]
    assert (only["name"], only["netns"], only["active"], len(only["entries"])) == \
        ("router", R, True, 6)
    assert only["entries"][0]["reply"]["dst"] == "10.77.2.1"
    with pytest.raises(UserError, match="no namespace or container called 'nope'"):
        _run_conntrack(snapshot, tmp_path, capsys, ns="nope")
