"""A snapshot of a host running real Docker containers names them and wires them to docker0."""

from __future__ import annotations

import subprocess
import sys

import pytest

from netscope.collect.runner import collect_snapshot
from netscope.graph.host import HostGraph

pytestmark = pytest.mark.docker


def test_containers_are_named_and_wired_to_docker0(docker_run):
    web = docker_run("web", "-p", "18081:80")
    db = docker_run("db")
    joined = docker_run("side", "--network", f"container:{web.name}")
    graph = HostGraph.of(collect_snapshot())
    snap = graph.snapshot
    host = next(ns for ns in snap.namespaces if ns.is_self)
    docker0 = next(link for link in graph.links_in(host.id) if link.name == "docker0")
    by_name = {c.name: c for c in snap.containers}

    for started in (web, db):
        c = by_name[started.name]
        assert c.container_id == started.container_id
        ns = graph.namespaces[c.netns]
        assert ns.name == started.name, "the namespace is named after its container"
        assert any(o.kind == "docker" for o in ns.origins)
        eth0 = next(link for link in graph.links_in(ns.id) if link.name == "eth0")
        host_veth = graph.links[eth0.peer.link]
        assert host_veth.netns == host.id and host_veth.kind == "veth"
        assert host_veth.peer.link == eth0.id
        assert host_veth.master == docker0.id
        assert host_veth.bridge_port.state == "forwarding"
    assert "0.0.0.0:18081->80/tcp" in by_name[web.name].ports
    side = by_name[joined.name]
    assert side.netns == by_name[web.name].netns
    assert side.shares_netns_with == f"container:{web.container_id}"


def test_show_tree_names_the_containers(docker_run):
    web = docker_run("tree")
    out = subprocess.run([sys.executable, "-m", "netscope", "show"], capture_output=True,
                         text=True, check=True).stdout
    assert f"container {web.name} {web.container_id[:12]}" in out
    assert f"<-> {web.name}:eth0" in out
