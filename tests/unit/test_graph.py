"""The host graph on real captures: what every view asks it (peers, segments, owners, SRC/DST,
route lookups) and the typed graph the exports write."""

import pytest

from netscope.graph.endpoints import EndpointError
from netscope.graph.host import HostGraph
from netscope.graph.typed import EdgeKind, NodeKind, edges_of_kind


def test_container_reaches_docker0_through_its_veth_pair(docker_engine_snapshot):
    snap = docker_engine_snapshot
    hg = HostGraph.of(snap)
    host = next(ns for ns in snap.namespaces if ns.is_self)
    docker0 = next(link for link in snap.links if link.name == "docker0")
    for c in snap.containers:
        eth0 = hg.link_named(c.netns, "eth0")
        host_veth = hg.veth_peer(eth0)
        assert host_veth is not None and host_veth.netns == host.id
        assert hg.veth_peer(host_veth) == eth0
        assert hg.bridge_of(host_veth) == docker0
        assert host_veth in hg.bridge_ports(docker0)
        assert c.netns in hg.adjacent_namespaces(host.id)
        # one L2 segment: the container's eth0, its host veth and docker0
        assert {eth0.id, host_veth.id, docker0.id} <= hg.segment(eth0)


def test_typed_graph_joins_containers_namespaces_and_veths(docker_engine_snapshot):
    snap = docker_engine_snapshot
    hg = HostGraph.of(snap)
    g = hg.nx
    docker0 = next(link for link in snap.links if link.name == "docker0")
    assert g.nodes[docker0.id]["kind"] == NodeKind.BRIDGE
    runs_in = {(u, v) for u, v, _ in edges_of_kind(g, EdgeKind.RUNS_IN)}
    for c in snap.containers:
        assert (c.id, c.netns) in runs_in
        eth0 = hg.link_named(c.netns, "eth0")
        peers = [v for _, v, d in g.out_edges(eth0.id, data=True)
                 if d["kind"] == EdgeKind.VETH_PEER]
        assert peers == [hg.veth_peer(eth0).id]
        assert any(d["kind"] == EdgeKind.ROUTE_VIA and d["dst"] == "0.0.0.0/0"
                   for _, v, d in g.out_edges(c.netns, data=True) if v == eth0.id)


def test_graph_is_built_once_per_snapshot(docker_like_lab):
    assert HostGraph.of(docker_like_lab) is HostGraph.of(docker_like_lab)


def test_resolve_names_addresses_and_errors(docker_engine_snapshot):
    hg = HostGraph.of(docker_engine_snapshot)
    c = docker_engine_snapshot.containers[0]
    ep = hg.resolve(c.name, "source")
    assert ep.netns == c.netns and ep.address == hg.primary_address(c.netns)
    assert hg.resolve(ep.address, "source").netns == c.netns
    assert hg.resolve("192.0.2.77").netns is None  # any destination address is allowed
    with pytest.raises(EndpointError, match="no namespace on this host has address"):
        hg.resolve("192.0.2.77", "source")
    with pytest.raises(EndpointError, match="no address, container or namespace"):
        hg.resolve("no-such-thing")


def test_source_follows_the_route_to_the_destination(docker_engine_snapshot):
    """`path host X` and `trace --src host --dst X` both take the address the kernel would
    choose for the route to X, not the first address of the namespace."""
    snap = docker_engine_snapshot
    hg = HostGraph.of(snap)
    host = next(ns for ns in snap.namespaces if ns.is_self)
    for c in snap.containers:
        dst = hg.primary_address(c.netns)
        src, target = hg.resolve_pair(host.name, dst)
        out = hg.route_lookup(host.id, "inet", src.address, dst).route
        link = hg.links[out.nexthops[0].link]
        assert src.address in {a.address for a in hg.addresses_on(link.id)} \
            or src.address == out.prefsrc
        assert target.netns == c.netns
