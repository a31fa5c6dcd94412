"""The graph built from a real Docker capture links containers, namespaces, veths, bridges."""

from netscope.graph import EdgeKind, NodeKind, build_graph
from netscope.graph.build import edges_of_kind


def test_container_reaches_docker0_through_its_veth_pair(docker_engine_snapshot):
    g = build_graph(docker_engine_snapshot)
    snap = docker_engine_snapshot
    host = next(ns for ns in snap.namespaces if ns.is_self)
    docker0 = next(link for link in snap.links if link.name == "docker0")
    assert g.nodes[docker0.id]["kind"] == NodeKind.BRIDGE
    for c in snap.containers:
        assert (c.id, c.netns) in {(u, v) for u, v, _ in edges_of_kind(g, EdgeKind.RUNS_IN)}
        eth0 = next(link for link in snap.links if link.netns == c.netns and link.name == "eth0")
        peers = [v for _, v, d in g.out_edges(eth0.id, data=True)
                 if d["kind"] == EdgeKind.VETH_PEER]
        assert len(peers) == 1
        host_veth = g.nodes[peers[0]]["obj"]
        assert host_veth.netns == host.id
        assert any(v == docker0.id and d["kind"] == EdgeKind.BRIDGE_PORT
                   for _, v, d in g.out_edges(host_veth.id, data=True))
        # the container's default route leaves through eth0
        assert any(d["kind"] == EdgeKind.ROUTE_VIA and d["route"].is_default
                   for _, v, d in g.out_edges(c.netns, data=True) if v == eth0.id)


def test_every_link_is_in_its_namespace(docker_like_lab):
    g = build_graph(docker_like_lab)
    for link in docker_like_lab.links:
        assert (link.id, link.netns) in {(u, v) for u, v, _ in
                                         edges_of_kind(g, EdgeKind.IN_NAMESPACE)}
