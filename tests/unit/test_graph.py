"""The host graph is built once per snapshot: every view of one snapshot shares it (what
each view asks it is tested where users see it: test_show, test_path_walk,
test_endpoints_agree, test_graph_export, the doctor and TUI tests)."""

from netscope.graph.host import HostGraph


def test_graph_is_built_once_per_snapshot(docker_like_lab):
    assert HostGraph.of(docker_like_lab) is HostGraph.of(docker_like_lab)


def test_a_graph_and_its_snapshot_are_freed_once_nothing_holds_them(docker_like_lab):
    """The live TUI builds a graph per update: the cache must not keep them all (it did: a
    strong map with a finalizer on the snapshot, which the graph itself kept alive)."""
    import dataclasses
    import gc
    import weakref

    snapshot = dataclasses.replace(docker_like_lab)
    graph = HostGraph.of(snapshot)
    assert HostGraph.of(snapshot) is graph  # held: the same graph
    gone = weakref.ref(snapshot)
    del snapshot, graph
    # the last few built are kept (asked twice in a row, a graph is built once): build more
    others = [dataclasses.replace(docker_like_lab) for _ in range(HostGraph.RECENT)]
    for other in others:
        HostGraph.of(other)
    gc.collect()
    assert gone() is None
    # one still held is found again, even after many others were built
    held = HostGraph.of(others[0])
    for _ in range(2 * HostGraph.RECENT):
        HostGraph.of(dataclasses.replace(docker_like_lab))
    assert HostGraph.of(others[0]) is held


def test_a_graph_built_like_an_earlier_one_keeps_only_what_its_snapshot_kept(docker_like_lab):
    """The live TUI builds each update's graph from the last one: the indexes of fields the
    re-read kept are reused, the others built again, and every answer is the fresh graph's."""
    import dataclasses

    first = HostGraph(docker_like_lab)
    veth = next(x for x in docker_like_lab.links if x.kind == "veth")
    down = dataclasses.replace(veth, flags=tuple(f for f in veth.flags if f != "UP"),
                               operstate="DOWN")
    changed = dataclasses.replace(
        docker_like_lab, links=tuple(down if x is veth else x for x in docker_like_lab.links),
        neighbours=docker_like_lab.neighbours[1:])
    derived, fresh = HostGraph(changed, like=first), HostGraph(changed)
    assert derived._routes_by_ns is first._routes_by_ns  # routes were kept: reused
    assert derived._owners is first._owners
    assert derived.links is not first.links and derived.links[veth.id] is down
    for name in ("namespaces", "links", "_links_by_ns", "_ports", "_uppers", "_by_name",
                 "_addrs_by_link", "_addrs_by_ns", "_owners", "_local", "_routes_by_ns",
                 "_rules_by_ns", "_neigh_by_ns", "_fdb_by_link", "containers",
                 "_containers_by_ns"):
        assert getattr(derived, name) == getattr(fresh, name), name
    assert derived.topology == fresh.topology
    assert derived.segment(veth.id) == fresh.segment(veth.id)


def test_the_topology_is_kept_only_when_nothing_it_is_drawn_from_changed(docker_like_lab):
    """A neighbour re-read (the commonest live update) keeps the picture, so the TUI redraws
    nothing; a re-read of links, addresses or routes (new tuples) draws it again."""
    import dataclasses

    first = HostGraph(docker_like_lab)
    picture = first.topology
    neighbours = dataclasses.replace(docker_like_lab, neighbours=docker_like_lab.neighbours[1:])
    assert HostGraph(neighbours, like=first).topology is picture
    veth = next(x for x in docker_like_lab.links if x.kind == "veth")
    down = dataclasses.replace(veth, operstate="DOWN")
    for changed in (
            dataclasses.replace(docker_like_lab, links=tuple(
                down if x is veth else x for x in docker_like_lab.links)),
            dataclasses.replace(docker_like_lab, addresses=docker_like_lab.addresses[1:]),
            dataclasses.replace(docker_like_lab, routes=tuple(list(docker_like_lab.routes)))):
        again = HostGraph(changed, like=first).topology
        assert again is not picture and again == HostGraph(changed).topology
    # a bridge's learnt MACs ageing out keeps it; a vxlan's remote end (an FDB entry with a
    # dst) is drawn: one appearing draws it again
    from netscope.model import FdbEntry

    bridge_port = next(x for x in docker_like_lab.links if x.master)
    learnt = FdbEntry(id="fdb:test", netns=bridge_port.netns, link=bridge_port.id,
                      mac="02:00:00:00:00:01")
    aged = dataclasses.replace(docker_like_lab, fdb=(*docker_like_lab.fdb, learnt))
    assert HostGraph(aged, like=first).topology is picture
    remote = dataclasses.replace(learnt, id="fdb:remote", mac="00:00:00:00:00:00",
                                 dst="192.0.2.99")
    vtep = dataclasses.replace(docker_like_lab, fdb=(*docker_like_lab.fdb, remote))
    again = HostGraph(vtep, like=first).topology
    assert again is not picture and again == HostGraph(vtep).topology
    # not worked out by the earlier graph: nothing to keep, worked out when asked
    unseen = HostGraph(docker_like_lab)
    assert "topology" not in HostGraph(neighbours, like=unseen).__dict__
