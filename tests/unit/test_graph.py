"""The host graph is built once per snapshot: every view of one snapshot shares it (what
each view asks it is tested where users see it: test_show, test_path_walk,
test_endpoints_agree, test_graph_export, the doctor and TUI tests)."""

from netscope.graph.host import HostGraph


def test_graph_is_built_once_per_snapshot(docker_like_lab):
    assert HostGraph.of(docker_like_lab) is HostGraph.of(docker_like_lab)
