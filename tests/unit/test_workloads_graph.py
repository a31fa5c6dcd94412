"""Pods in the host graph, as users meet them: `show`, SRC/DST names, exports."""

from __future__ import annotations

import networkx as nx
import pytest

from netscope.cli.tree import render_tree
from netscope.graph.endpoints import EndpointError
from netscope.graph.host import HostGraph
from netscope.graph.io import to_graphml
from tests.support.workloads import SANDBOX, with_a_pod


def test_show_names_the_pod_its_containers_and_its_cni_address():
    snap, address = with_a_pod()
    lines = list(render_tree(snap))
    head = next(i for i, line in enumerate(lines) if line.startswith("billing/payments-api-7d9f"))
    assert lines[head].startswith(
        "billing/payments-api-7d9f  [pod billing/payments-api-7d9f (containerd k8s.io, uid "
        "0e6a3c2d-1111-4c3e-9b1e-2a2f7c7e0a11); containers ledger")
    assert lines[head + 1] == f"  cni corpnet {address} on eth0, allocated to {SANDBOX[:12]}"
    assert "cni networks:" in lines
    assert ("  corpnet (/etc/cni/net.d/10-corp.conflist, in use): bridge; ipam host-local "
            f"{address.rsplit('.', 1)[0]}.0/24") in lines


@pytest.mark.parametrize("name", ["billing/payments-api-7d9f", "payments-api-7d9f",
                                  "billing/payments-api-7d9f/ledger", SANDBOX[:12]])
def test_a_pod_is_a_source_and_a_destination(name):
    snap, address = with_a_pod()
    graph = HostGraph.of(snap)
    pod = snap.pods[0]
    end = graph.resolve(name, "source")
    assert (end.netns, end.address) == (pod.netns, address)


def test_an_unknown_pod_is_one_line():
    snap, _ = with_a_pod()
    with pytest.raises(EndpointError, match="no address, container or namespace called"):
        HostGraph.of(snap).resolve("billing/nope")


def test_the_graph_export_has_the_pod_and_its_members(tmp_path):
    snap, _ = with_a_pod()
    path = tmp_path / "host.graphml"
    path.write_text(to_graphml(HostGraph.of(snap)))
    g = nx.read_graphml(path)
    pod = snap.pods[0]
    assert g.nodes[pod.id]["kind"] == "pod"
    assert g.nodes[pod.id]["label"] == "billing/payments-api-7d9f"
    member = next(c for c in snap.containers if c.pod == pod.id and not c.infra)
    assert g.nodes[member.id]["label"] == "billing/payments-api-7d9f/ledger"
    kinds = {d["kind"] for _u, v, d in g.out_edges(member.id, data=True) if v == pod.id}
    assert kinds == {"member_of"}
    assert any(d["kind"] == "runs_in" for _u, v, d in g.out_edges(pod.id, data=True)
               if v == pod.netns)
