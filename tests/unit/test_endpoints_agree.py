"""`netscope path`, `netscope trace` and the doctor agree on sources, routes and peers, on every
shipped snapshot fixture: path's packet leaves from the address trace filters on (the one
the kernel would choose for the route), by the route the trace's hop explanation names, across
the veth peers the doctor's segments join (tests/support/agreement.py)."""

from __future__ import annotations

import json

import pytest

from netscope.graph.host import HostGraph
from netscope.snapshot import load
from tests.support.agreement import doctor_problems, endpoint_pairs, path_json, problems
from tests.unit.conftest import FIXTURES

SNAPSHOTS = sorted(p.name for p in FIXTURES.glob("*.json")
                   if "rules" in json.loads(p.read_text()))


@pytest.mark.parametrize("name", SNAPSHOTS)
def test_path_trace_and_doctor_agree(name):
    file = str(FIXTURES / name)
    graph = HostGraph.of(load(file))
    pairs = endpoint_pairs(graph)
    assert pairs, f"{name}: no two namespaces with addresses"
    found = [p for src, dst in pairs for p in problems(file, graph, src, dst)]
    found += doctor_problems(graph)
    assert not found, "\n".join(found)


def test_host_source_follows_the_route_not_the_first_address():
    """The Docker capture's host has eth0 and docker0 addresses: towards a container the
    source is docker0's address (the route's), not the host's first address."""
    file = str(FIXTURES / "docker-engine.json")
    graph = HostGraph.of(load(file))
    host = next(n for n in graph.namespaces.values() if n.is_self)
    for c in graph.snapshot.containers:
        doc = path_json(file, host.name, c.name)
        docker0 = graph.link_named(host.id, "docker0")
        assert doc["packet"]["src"] in {a.address for a in graph.addresses_on(docker0.id)}
        assert doc["packet"]["src"] != graph.primary_address(host.id)
