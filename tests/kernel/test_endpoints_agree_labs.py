"""On every lab, built for real: `path`, `trace` (endpoint choice) and the doctor agree on
sources, routes and peers (tests/support/agreement.py), and the source they pick is the one
the kernel itself picks (`ip route get DST` in the source namespace)."""

from __future__ import annotations

import json

import pytest

from netscope.actions import labs
from netscope.actions.lab_plan import ns_name
from netscope.collect.runner import collect_snapshot
from netscope.graph.host import HostGraph
from netscope.labs import catalog
from netscope.snapshot import save
from tests.kernel.test_labs_support import instances_in
from tests.support.agreement import doctor_problems, endpoint_pairs, path_json, problems
from tests.support.netns import Namespaces, ip

pytestmark = pytest.mark.kernel

LABS = [f.name for f in catalog.load_all()]


@pytest.fixture
def instances(tmp_path):
    with instances_in(str(tmp_path / "state")) as made:
        yield made


def kernel_route(netns: str, dst: str) -> dict | None:
    """What the kernel of `netns` answers for `dst` (`ip -j route get`): dev, prefsrc ...
    None when it has no route."""
    p = ip("-j", "route", "get", dst, ns=netns, check=False)
    if p.returncode != 0:
        return None
    (route,) = json.loads(p.stdout)
    return route


def kernel_source(netns: str, dst: str) -> str | None:
    """The source address the kernel of `netns` picks for `dst` (None: no route)."""
    route = kernel_route(netns, dst)
    return route.get("prefsrc") if route else None


@pytest.mark.parametrize("ref", LABS)
def test_path_trace_doctor_and_the_kernel_agree(instances, ref, tmp_path):
    instance = instances.new()
    labs.up(labs.resolve(ref), instance)
    snapshot = collect_snapshot()
    file = str(tmp_path / "lab.json")
    save(snapshot, file)
    graph = HostGraph.of(snapshot)
    mine = [graph.ns_name(n) for n in graph.namespaces
            if graph.ns_name(n).startswith(ns_name(instance, ""))]
    pairs = endpoint_pairs(graph, mine)
    assert pairs, f"{ref}: no two lab namespaces with addresses"
    found = [p for src, dst in pairs for p in problems(file, graph, src, dst)]
    found += [p for p in doctor_problems(graph) if ns_name(instance, "") in p]
    compared = 0
    for src, dst in pairs:
        doc = path_json(file, src, dst)
        if doc is None:
            continue
        kernel = kernel_source(src, doc["packet"]["dst"])
        compared += kernel is not None
        route = kernel_route(src, doc["packet"]["dst"])
        first = doc["hops"][0]
        if route and first["step"] == "output-route" and route.get("dev") != first["device"]:
            found.append(f"{src} -> {dst}: path leaves by {first['device']}, the kernel by "
                         f"{route.get('dev')}")
        if kernel is not None and kernel != doc["packet"]["src"]:
            found.append(f"{src} -> {dst}: path and trace send from {doc['packet']['src']}, "
                         f"the kernel from {kernel}")
    assert compared, f"{ref}: the kernel answered no route lookup"
    assert not found, "\n".join(found)


@pytest.fixture
def policy_routed(tmp_path):
    """A namespace with two uplinks: the main table's default leaves by eth0, a policy rule
    sends 198.18.50.0/24 to table 100, whose default leaves by eth1 (prefix nspr)."""
    spaces = Namespaces("nspr")
    try:
        a, r1, r2 = spaces.add("a"), spaces.add("r1"), spaces.add("r2")
        for n, (dev, router) in enumerate((("eth0", r1), ("eth1", r2)), 1):
            ip("link", "add", dev, "type", "veth", "peer", "name", "up0", "netns", router,
               ns=a)
            ip("addr", "add", f"10.77.{n}.2/24", "dev", dev, ns=a)
            ip("addr", "add", f"10.77.{n}.1/24", "dev", "up0", ns=router)
            ip("link", "set", dev, "up", ns=a)
            ip("link", "set", "up0", "up", ns=router)
        ip("route", "add", "default", "via", "10.77.1.1", ns=a)
        ip("route", "add", "default", "via", "10.77.2.1", "table", "100", ns=a)
        ip("rule", "add", "to", "198.18.50.0/24", "lookup", "100", "pref", "100", ns=a)
        yield a, r2
    finally:
        spaces.cleanup()


def test_policy_routing_source_route_and_explanation_are_the_kernels(policy_routed, tmp_path):
    """The old TUI lookup read the main table only and named eth0 here; the kernel, path,
    trace's source and the hop explanation all take table 100 and eth1."""
    a, _r2 = policy_routed
    snapshot = collect_snapshot()
    file = str(tmp_path / "policy.json")
    save(snapshot, file)
    graph = HostGraph.of(snapshot)
    kernel = kernel_route(a, "198.18.50.7")
    assert (kernel["dev"], kernel["prefsrc"]) == ("eth1", "10.77.2.2")
    doc = path_json(file, a, "198.18.50.7")
    assert doc["packet"]["src"] == "10.77.2.2"
    assert doc["hops"][0]["device"] == "eth1" and "table 100" in doc["hops"][0]["decision"]
    assert not problems(file, graph, a, "198.18.50.7")
