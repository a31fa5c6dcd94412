"""The docker harness against a real engine: what `list_containers` reports for real containers."""

from __future__ import annotations

import pytest

from netscope.host.docker import list_containers

pytestmark = pytest.mark.docker


def test_list_containers_reports_running_containers(docker_run):
    web = docker_run("web", "-p", "18080:80")
    db = docker_run("db")
    by_name = {c["name"]: c for c in list_containers()}

    for started in (web, db):
        seen = by_name[started.name]
        assert seen["container_id"] == started.container_id
        assert seen["pid"] > 0
        assert seen["network_mode"] == "bridge"
        assert seen["networks"] == ("bridge",)
        assert seen["image"] == "netscope-test/busybox:latest"
        assert seen["sandbox_key"].startswith("/var/run/docker/netns/")
    assert "0.0.0.0:18080->80/tcp" in by_name[web.name]["ports"]
    assert by_name[db.name]["ports"] == ()


def test_container_network_mode_names_the_full_id_of_the_other_container(docker_run):
    first = docker_run("first")
    joined = docker_run("joined", "--network", f"container:{first.name}")
    by_name = {c["name"]: c for c in list_containers()}

    assert by_name[joined.name]["network_mode"] == f"container:{first.container_id}"
    assert by_name[joined.name]["networks"] == ()
    assert by_name[joined.name]["pid"] > 0
