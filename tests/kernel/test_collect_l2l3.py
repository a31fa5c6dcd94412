"""The live snapshot finds every namespace, pairs every veth exactly, and agrees with `ip -j`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from netscope.collect.runner import collect_snapshot
from netscope.graph.host import HostGraph
from tests.support.netns import add_bridge, attach_container, ip, sh

AGEING = {"REACHABLE", "STALE", "DELAY", "PROBE"}


def state_class(states) -> str:
    """A live neighbour entry may age (REACHABLE -> STALE -> DELAY ...) between two reads."""
    return "live" if set(states) <= AGEING else "/".join(states)


def ip_json(ns: str, *args: str) -> list[dict]:
    return json.loads(ip("-j", *args, ns=ns).stdout or "[]")


def ns_by_name(graph: HostGraph, name: str):
    matches = [ns for ns in graph.namespaces.values()
               if any(o.kind == "named" and o.path.endswith("/" + name) for o in ns.origins)]
    assert len(matches) == 1, f"namespace {name} found {len(matches)} times"
    return matches[0]


def link_named(graph: HostGraph, ns_id: str, name: str):
    found = [link for link in graph.links_in(ns_id) if link.name == name]
    assert found, f"no {name} in {graph.ns_name(ns_id)}"
    return found[0]


@pytest.fixture
def docker_like(namespaces):
    """A host namespace with a bridge, two 'containers' on it, and a policy rule."""
    host = namespaces.add("host")
    a, b = namespaces.add("a"), namespaces.add("b")
    add_bridge(host, "br0", "10.231.0.1/24")
    for n, (ns, addr) in enumerate(((a, "10.231.0.2"), (b, "10.231.0.3"))):
        attach_container(host, "br0", f"veth{n}", ns, f"{addr}/24", "10.231.0.1")
        ip("addr", "add", f"fd31::{n + 2}/64", "dev", "eth0", "nodad", ns=ns)
    ip("rule", "add", "from", "10.231.0.2", "table", "100", "pref", "1000", ns=a)
    ip("route", "add", "192.0.2.0/24", "via", "10.231.0.1", "table", "100", ns=a)
    # same-namespace veth pairs, and a vxlan over one of them, in the host namespace
    ip("link", "add", "inner0", "type", "veth", "peer", "name", "inner1", ns=host)
    ip("link", "add", "under0", "type", "veth", "peer", "name", "under1", ns=host)
    ip("link", "add", "vx0", "type", "vxlan", "id", "42", "remote", "10.231.9.9", "dstport",
       "4789", "dev", "under0", ns=host)
    sh("ip", "netns", "exec", a, "busybox", "ping", "-c", "1", "-W", "2", "10.231.0.3")
    return {"host": host, "a": a, "b": b}


def test_every_namespace_and_veth_pair_is_found_exactly(docker_like):
    graph = HostGraph.of(collect_snapshot())
    host = ns_by_name(graph, docker_like["host"])
    a, b = ns_by_name(graph, docker_like["a"]), ns_by_name(graph, docker_like["b"])
    for n, ns in enumerate((a, b)):
        eth0 = link_named(graph, ns.id, "eth0")
        veth = link_named(graph, host.id, f"veth{n}")
        assert eth0.kind == veth.kind == "veth"
        assert eth0.peer.link == veth.id, f"{ns.name}:eth0 peer is {eth0.peer}"
        assert veth.peer.link == eth0.id
        assert veth.master == link_named(graph, host.id, "br0").id
        assert veth.bridge_port.state == "forwarding"
    inner0, inner1 = link_named(graph, host.id, "inner0"), link_named(graph, host.id, "inner1")
    assert inner0.peer.link == inner1.id and inner1.peer.link == inner0.id
    vx = link_named(graph, host.id, "vx0")
    assert vx.details["vni"] == 42 and vx.details["remote"] == "10.231.9.9"
    assert vx.details["dstport"] == 4789
    assert vx.parent == link_named(graph, host.id, "under0").id
    ports = graph.bridge_ports(link_named(graph, host.id, "br0").id)
    assert sorted(p.name for p in ports) == ["veth0", "veth1"]
    # the ping a -> b taught br0 where a's MAC is: behind veth0
    a_mac = link_named(graph, a.id, "eth0").mac
    learned = [f for f in graph.fdb_of(link_named(graph, host.id, "veth0").id)
               if f.mac == a_mac]
    assert learned and learned[0].master == link_named(graph, host.id, "br0").id


def test_root_namespace_veth_peer_is_resolved(namespaces):
    c = namespaces.add("c")
    root_end = namespaces.root_link_name("r")
    ip("link", "add", root_end, "type", "veth", "peer", "name", "eth0", "netns", c)
    graph = HostGraph.of(collect_snapshot())
    me = next(ns for ns in graph.namespaces.values() if ns.is_self)
    root_link = link_named(graph, me.id, root_end)
    inside = link_named(graph, ns_by_name(graph, c).id, "eth0")
    assert root_link.peer.link == inside.id
    assert inside.peer.link == root_link.id


def test_peer_in_an_invisible_namespace_is_reported_not_guessed(namespaces, tmp_path):
    c = namespaces.add("hidden")
    root_end = namespaces.root_link_name("h")
    ip("link", "add", root_end, "type", "veth", "peer", "name", "eth0", "netns", c)
    # keep the namespace alive only through an fd of this process, then remove its name:
    # nothing netscope scans (names, /proc/<pid>/ns/net) can reach it any more
    holder = os.open(f"/run/netns/{c}", os.O_RDONLY)
    try:
        ip("netns", "del", c)
        graph = HostGraph.of(collect_snapshot())
        me = next(ns for ns in graph.namespaces.values() if ns.is_self)
        link = link_named(graph, me.id, root_end)
        assert link.peer.link is None
        assert "cannot see" in link.peer.unresolved
    finally:
        os.close(holder)


def test_addresses_routes_rules_neighbours_match_ip_json(docker_like):
    graph = HostGraph.of(collect_snapshot())
    for name in docker_like.values():
        ns = ns_by_name(graph, name)
        links = {link.ifindex: link for link in graph.links_in(ns.id)}
        ours = {(links[int(a.link.split("/")[1])].name, a.address, a.prefixlen)
                for a in graph.snapshot.addresses if a.netns == ns.id}
        theirs = {(i["ifname"], a["local"], a["prefixlen"])
                  for i in ip_json(name, "addr") for a in i["addr_info"]}
        assert ours == theirs, name

        for family, flag in (("inet", "-4"), ("inet6", "-6")):
            ours_r = {(r.dst, r.table) for r in graph.routes_in(ns.id) if r.family == family}
            theirs_r = set()
            for r in ip_json(name, flag, "route", "show", "table", "all"):
                dst = r["dst"]
                if dst == "default":
                    dst = "0.0.0.0/0" if family == "inet" else "::/0"
                elif "/" not in dst:
                    dst += "/32" if family == "inet" else "/128"
                table = {"main": 254, "local": 255}.get(str(r.get("table", "main")),
                                                        r.get("table"))
                theirs_r.add((dst, int(table)))
            assert ours_r == theirs_r, f"{name} {family}"

        ours_rules = [(r.priority, r.table) for r in graph.rules_in(ns.id)
                      if r.family == "inet"]
        names = {"local": 255, "main": 254, "default": 253}
        theirs_rules = [(r["priority"], names.get(r["table"]) or int(r["table"]))
                        for r in ip_json(name, "-4", "rule")]
        assert ours_rules == theirs_rules, name

        ours_n = {(n.address, state_class(n.state))
                  for n in graph.neighbours_in(ns.id)}
        theirs_n = {(n["dst"], state_class(n["state"])) for n in ip_json(name, "neigh")}
        assert ours_n == theirs_n, name
    a = ns_by_name(graph, docker_like["a"])
    assert any(n.address == "10.231.0.3" and "REACHABLE" in n.state
               for n in graph.neighbours_in(a.id)), "the ping should have left a neighbour"
    assert any(r.table == 100 and r.dst == "192.0.2.0/24" for r in graph.routes_in(a.id))


def test_sysctls_are_read_per_namespace(docker_like):
    sh("ip", "netns", "exec", docker_like["host"], "sysctl", "-qw", "net.ipv4.ip_forward=1")
    sh("ip", "netns", "exec", docker_like["a"], "sysctl", "-qw", "net.ipv4.ip_forward=0")
    sh("ip", "netns", "exec", docker_like["a"], "sysctl", "-qw",
       "net.ipv4.conf.eth0.rp_filter=1")
    graph = HostGraph.of(collect_snapshot())
    host, a = ns_by_name(graph, docker_like["host"]), ns_by_name(graph, docker_like["a"])
    assert host.sysctls["net.ipv4.ip_forward"] == "1"
    assert a.sysctls["net.ipv4.ip_forward"] == "0"
    assert link_named(graph, a.id, "eth0").sysctls["ipv4.rp_filter"] == "1"
    assert link_named(graph, host.id, "veth0").sysctls["ipv4.forwarding"] == "1"


def test_vanishing_namespaces_are_skipped_and_noted(namespaces):
    names = [namespaces.add(f"v{i}") for i in range(20)]
    deleter = subprocess.Popen(["sh", "-c", " ; ".join(f"ip netns del {n}" for n in names)])
    try:
        for _ in range(5):
            snap = collect_snapshot()  # must not raise whatever disappears meanwhile
            for err in snap.errors:
                assert err.collector == "netns" and "disappeared" in err.message
    finally:
        deleter.wait()


def test_without_capabilities_one_line_names_the_capability(tmp_path):
    p = subprocess.run(["setpriv", "--inh-caps=-all", "--bounding-set=-all", sys.executable,
                        "-m", "netscope", "snapshot", "-o", str(tmp_path / "s.json")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert "CAP_SYS_ADMIN" in lines[0] and "root" in lines[0]
    assert not (tmp_path / "s.json").exists()
