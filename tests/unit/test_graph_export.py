"""`netscope export FILE -o host.graphml / -o host.graph.json`: the host graph as a graph tool
reads it, from a real Docker capture (fixtures/docker-engine.json): loaded with networkx, the
host end of each container's veth is joined to its eth0, the container to its namespace, the
published port's DNAT rule to the container."""

from __future__ import annotations

import json

import networkx as nx
import pytest

from netscope.cli.main import main
from tests.unit.conftest import FIXTURES

ENGINE = str(FIXTURES / "docker-engine.json")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("graph")
    graphml, node_link = out / "host.graphml", out / "host.graph.json"
    assert main(["export", ENGINE, "-o", str(graphml), "-o", str(node_link)]) == 0
    return graphml, node_link


def edges(g, kind, source=None):
    return [(u, v, d) for u, v, d in g.edges(data=True)
            if d["kind"] == kind and (source is None or u == source)]


def node_named(g, netns, name):
    (found,) = [n for n, d in g.nodes(data=True)
                if d.get("netns") == netns and d.get("label") == name
                and d["kind"] in ("interface", "bridge")]
    return found


def test_graphml_joins_the_host_veth_to_the_containers_eth0(exported,
                                                             docker_engine_snapshot):
    g = nx.read_graphml(exported[0], force_multigraph=True)
    assert g.is_directed() and g.graph["format"] == "netscope-host-graph"
    assert g.graph["hostname"] == docker_engine_snapshot.header.hostname
    host = next(ns.id for ns in docker_engine_snapshot.namespaces if ns.is_self)
    docker0 = node_named(g, host, "docker0")
    assert g.nodes[docker0]["kind"] == "bridge"
    for c in docker_engine_snapshot.containers:
        eth0 = node_named(g, c.netns, "eth0")
        (host_veth,) = [v for _, v, _ in edges(g, "veth_peer", eth0)]
        assert g.nodes[host_veth]["netns"] == host and g.nodes[host_veth]["link_kind"] == "veth"
        assert (host_veth, eth0) in [(u, v) for u, v, _ in edges(g, "veth_peer", host_veth)]
        assert (host_veth, docker0) in [(u, v) for u, v, _ in edges(g, "bridge_port")]
        assert [v for _, v, _ in edges(g, "runs_in", c.id)] == [c.netns]
        assert g.nodes[c.id]["label"] == c.name and g.nodes[c.netns]["kind"] == "netns"
        assert any(d["dst"] == "0.0.0.0/0" and v == eth0
                   for _, v, d in edges(g, "route_via", c.netns))


def test_graphml_holds_the_chains_and_the_published_port(exported, docker_engine_snapshot):
    g = nx.read_graphml(exported[0], force_multigraph=True)
    web = next(c for c in docker_engine_snapshot.containers if c.ports)
    publish = [u for u, v, _ in edges(g, "nat_to") if v == web.id]
    assert publish, "no DNAT rule points at the container publishing 8080"
    rule = g.nodes[publish[0]]
    assert rule["kind"] == "rule" and rule["label"] == f"publishes tcp/8080 -> {web.name}:80"
    chain = next(u for u, v, _ in edges(g, "has_rule") if v == publish[0])
    assert g.nodes[chain]["name"] == "DOCKER" and g.nodes[chain]["table"] == "nat"
    entries = sorted((d["order"], v) for u, v, d in edges(g, "hook_entry")
                     if g.nodes[u]["hook"] == "prerouting" and g.nodes[u]["family"] == "ipv4")
    assert [g.nodes[v]["name"] for _, v in entries] == ["PREROUTING"]
    assert any(g.nodes[v]["name"] == "DOCKER" for _, v, _ in edges(g, "jump", entries[0][1]))


def test_node_link_json_is_the_same_graph(exported):
    g = nx.read_graphml(exported[0], force_multigraph=True)
    doc = json.loads(exported[1].read_text())
    assert doc["directed"] and doc["multigraph"] and doc["graph"]["version"] == 1
    h = nx.node_link_graph(doc, edges="edges")
    assert sorted(h.nodes) == sorted(g.nodes)
    assert sorted((u, v, d["kind"]) for u, v, d in h.edges(data=True)) == \
        sorted((u, v, d["kind"]) for u, v, d in g.edges(data=True))
    assert all(h.nodes[n] == g.nodes[n] for n in g.nodes)


def test_format_by_name_and_from_the_extension(tmp_path, capsys):
    assert main(["export", ENGINE, "--format", "graphml"]) == 0
    assert capsys.readouterr().out.startswith("<?xml")
    assert main(["export", ENGINE, "--format", "graph-json"]) == 0
    assert json.loads(capsys.readouterr().out)["graph"]["format"] == "netscope-host-graph"
    out = tmp_path / "plain.json"  # a .json that is not .graph.json stays the snapshot
    assert main(["export", ENGINE, "-o", str(out)]) == 0
    assert "namespaces" in json.loads(out.read_text())
