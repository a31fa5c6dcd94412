"""The rules a real Docker engine writes, as netscope reads and links them.

Two user-defined networks, a published port on each, and a real TCP connection to one of
them from a namespace of ours (through a veth into the host namespace): the DNAT rule must
point at the right container, its counter must move, the graph must link it to that
container's namespace, and conntrack must show the translation.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys

import networkx as nx
import pytest

from netscope.collect.runner import collect_snapshot
from netscope.graph.host import HostGraph
from netscope.graph.typed import EdgeKind
from netscope.report.export import export
from tests.support.netns import Namespaces, add_host_client

pytestmark = pytest.mark.docker

HTTPD = ("httpd", "-f", "-p", "80")


@pytest.fixture
def networks(docker_engine):
    """Two user-defined bridge networks named nsnf-<random>-a/-b, removed afterwards (after
    the containers: request this fixture before docker_run)."""
    tag = f"nsnf-{secrets.token_hex(2)}"
    names = [f"{tag}-a", f"{tag}-b"]
    try:
        for name in names:
            docker_engine.cli("network", "create", name)
        yield names
    finally:
        docker_engine.cli("network", "rm", *names)


@pytest.fixture
def client():
    """A namespace of ours joined to the host namespace by a veth: 10.62.x.2 -> 10.62.x.1."""
    spaces = Namespaces("nsnf")
    net = f"10.62.{secrets.randbelow(250)}"
    try:
        yield add_host_client(spaces, net)
    finally:
        spaces.cleanup()


def _connect(ns: str, host: str, port: int) -> None:
    code = ("import socket,sys; s=socket.create_connection((sys.argv[1], int(sys.argv[2])), "
            "timeout=5); s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); s.recv(100); s.close()")
    subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code, host, str(port)],
                   check=True, timeout=20)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_published_ports_on_two_networks(networks, docker_run, client):
    net_a, net_b = networks
    port_a, port_b = _free_port(), _free_port()
    web = docker_run("web", "--network", net_a, "-p", f"{port_a}:80", cmd=HTTPD)
    api = docker_run("api", "--network", net_b, "-p", f"{port_b}:80", cmd=HTTPD)
    client_ns, host_addr, client_addr = client
    _connect(client_ns, host_addr, port_a)

    snap = collect_snapshot()
    graph = HostGraph.of(snap)
    host = next(ns for ns in snap.namespaces if ns.is_self)
    containers = {c.name: c for c in snap.containers}
    ips = {name: next(a.address for a in snap.addresses
                      if a.netns == containers[name].netns and a.family == "inet"
                      and a.scope == "global") for name in (web.name, api.name)}
    tables = {(t.family, t.name): t for t in snap.tables if t.netns == host.id}
    assert tables[("ip", "nat")].backend in ("iptables-nft", "iptables-legacy")
    nat = {c.name: c for c in tables[("ip", "nat")].chains}
    filt = {c.name: c for c in tables[("ip", "filter")].chains}

    # Docker's chains are there and say what they are for
    for name in ("DOCKER-USER", "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2"):
        assert filt[name].label and filt[name].label.startswith("Docker")
    assert nat["DOCKER"].label.startswith("Docker: published ports")

    # one DNAT per published port, to the right container
    dnat = {r.matches[-1].values: r for r in nat["DOCKER"].rules if r.action == "dnat"}
    web_rule, api_rule = dnat[(str(port_a),)], dnat[(str(port_b),)]
    assert web_rule.nat_to == f"{ips[web.name]}:80"
    assert api_rule.nat_to == f"{ips[api.name]}:80"
    # the real connection crossed the web rule, and only it
    assert web_rule.packets >= 1 and api_rule.packets == 0

    # the isolation rules name both networks' bridges
    bridges = {graph.links[a.link].name for a in snap.addresses
               if a.netns == host.id and a.address.rsplit(".", 1)[0] in
               {ips[web.name].rsplit(".", 1)[0], ips[api.name].rsplit(".", 1)[0]}}
    assert len(bridges) == 2
    isolation_ifaces = {v for r in filt["DOCKER-ISOLATION-STAGE-1"].rules
                        for m in r.matches if m.field == "iif" for v in m.values}
    assert bridges <= isolation_ifaces

    # the graph: the publishing rule -> the container's namespace (and the container)
    g = nx.parse_graphml(export(snap, "graphml"), force_multigraph=True)
    targets = {v for _, v, d in g.out_edges(web_rule.id, data=True)
               if d["kind"] == EdgeKind.NAT_TO}
    assert targets == {containers[web.name].netns, containers[web.name].id}
    assert g.nodes[web_rule.id]["label"] == f"publishes tcp/{port_a} -> {web.name}:80"
    # and the FORWARD accept for that port names the container's address, held by its eth0
    accept = next(r for r in filt["DOCKER"].rules
                  if ("daddr", (f"{ips[web.name]}/32",)) in [(m.field, m.values)
                                                              for m in r.matches])
    (addr_node,) = [v for _, v, d in g.out_edges(accept.id, data=True)
                    if d["kind"] == EdgeKind.NAMES_ADDRESS]
    holders = {graph.links[v].netns for _, v, d in g.out_edges(addr_node, data=True)
               if d["kind"] == EdgeKind.ADDRESS_ON}
    assert holders == {containers[web.name].netns}

    # conntrack in the host namespace shows the translation of that connection
    table = next(t for t in snap.conntrack if t.netns == host.id)
    assert table.active
    flow = next(e for e in table.entries if e.proto == "tcp" and e.orig.src == client_addr
                and e.orig.dport == port_a)
    assert (flow.orig.dst, flow.reply.src, flow.reply.sport) == (host_addr, ips[web.name], 80)
    assert flow.dnat and "DST_NAT" in flow.status
