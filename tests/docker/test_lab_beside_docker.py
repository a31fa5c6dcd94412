"""A lab brought up beside a running Docker engine works despite Docker's FORWARD DROP, and
leaves Docker's rules, containers and their traffic exactly as they were."""

from __future__ import annotations

import re
import subprocess

import pytest

from netscope.actions import labs
from netscope.actions.probe import run_checks
from netscope.collect.runner import collect_snapshot
from tests.kernel.test_labs_support import host_state, instances_in, lab_namespaces

pytestmark = pytest.mark.docker


def root_rules() -> str:
    """The root namespace's iptables rules without counters and comments."""
    out = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    return "\n".join(re.sub(r"\[\d+:\d+\]", "", line) for line in out.splitlines()
                     if not line.startswith("#"))


def docker_ping(engine, container: str, address: str) -> bool:
    return engine.cli("exec", container, "ping", "-c", "1", "-W", "1", address,
                      check=False).returncode == 0


@pytest.fixture
def forward_drop(docker_engine):
    """Docker's FORWARD policy DROP. Docker sets it when it turns IPv4 forwarding on itself;
    on a host where forwarding was already on when dockerd started (a fresh machine of this
    kind was, once: the test failed there for want of it) it leaves the policy alone, so the
    test sets it as Docker would have, and puts ACCEPT back after."""
    if ":FORWARD DROP" in root_rules():
        yield
        return
    subprocess.run(["iptables", "-P", "FORWARD", "DROP"], check=True)
    try:
        yield
    finally:
        subprocess.run(["iptables", "-P", "FORWARD", "ACCEPT"], check=True)


def test_lab_beside_docker(docker_engine, forward_drop, docker_run, tmp_path):
    web = docker_run("labweb", "-p", "18082:80")
    db = docker_run("labdb")
    db_ip = docker_engine.cli("inspect", "-f", "{{.NetworkSettings.IPAddress}}",
                              db.name).stdout.strip()
    assert docker_ping(docker_engine, web.name, db_ip), "docker's own network works"
    rules = root_rules()
    assert ":FORWARD DROP" in rules, "Docker's FORWARD policy DROP"
    docker_ns = {c.name for c in (web, db)}
    before = {n: s for n, s in host_state(collect_snapshot()).items() if n in docker_ns}
    assert before.keys() == docker_ns

    with instances_in(str(tmp_path / "state")) as instances:
        instance = instances.new("d")
        topo = labs.resolve("docker-bridge")
        labs.up(topo, instance)
        results = run_checks(topo, instance)
        failed = [f"{r.key}: {r.outcome} ({r.detail})" for r in results if not r.passed]
        assert not failed, "the lab works beside Docker: " + "; ".join(failed)
        assert root_rules() == rules, "the lab did not touch the root namespace's rules"
        assert docker_ping(docker_engine, web.name, db_ip)
        labs.down(instance)
        assert lab_namespaces(instance) == []

    assert root_rules() == rules
    after = {n: s for n, s in host_state(collect_snapshot()).items() if n in docker_ns}
    assert after == before, "docker's containers are exactly as they were"
    assert docker_ping(docker_engine, web.name, db_ip)
    running = docker_engine.cli("ps", "--format", "{{.Names}}").stdout.split()
    assert {web.name, db.name} <= set(running)
