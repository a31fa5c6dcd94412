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
