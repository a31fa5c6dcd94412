"""Sockets on a real Docker engine: a container publishes a port but its server listens on
the container's loopback only. The doctor names the container and says what to change, the
path walk says the connection is refused, and real connections agree."""

from __future__ import annotations

import pytest

from netscope.analysis.doctor import run_doctor
from netscope.analysis.path import path
from netscope.collect.runner import collect_snapshot
from tests.docker.test_docker_doctor import container_ip, tcp_connects

pytestmark = pytest.mark.docker


def test_published_port_to_a_loopback_only_server(docker_engine, docker_run):
    web = docker_run("lo", "-p", "18085:80", cmd=("httpd", "-f", "-p", "127.0.0.1:80"))
    client = docker_run("cli")
    web_ip = container_ip(docker_engine, web.name)
    # what a user sees: refused from outside the container, fine inside it
    assert not tcp_connects(docker_engine, client.name, web_ip, 80)
    assert tcp_connects(docker_engine, web.name, "127.0.0.1", 80)

    snapshot = collect_snapshot()
    findings = [f for f in run_doctor(snapshot) if web.name in f.id]
    assert [f.check for f in findings] == ["published_port_loopback_only"], \
        [f.id for f in run_doctor(snapshot)]
    summary = findings[0].summary
    assert f"container {web.name}" in summary and "httpd (pid" in summary
    assert "listens on 127.0.0.1:80 only" in summary
    assert "Make it listen on 0.0.0.0:80 (every address)" in summary
    assert f"tcp/18085 -> {web_ip}:80" in summary

    result = path(snapshot, client.name, web.name, "tcp", 80)
    assert result.verdict == "refused", result.summary
    assert result.summary.startswith(f"listens on 127.0.0.1:80 only: traffic to {web_ip} is "
                                     "refused")
    assert result.reply is not None and result.reply.verdict == "delivered", \
        "the RST goes back to the client"
