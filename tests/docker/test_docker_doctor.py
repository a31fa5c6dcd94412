"""Doctor and path on a real Docker engine: a DOCKER-USER drop is named, a published port's
DNAT is walked end to end."""

from __future__ import annotations

import json
import subprocess

import pytest

from netscope.analysis.doctor import run_doctor
from netscope.analysis.path import path
from netscope.collect.runner import collect_snapshot

pytestmark = pytest.mark.docker


def container_ip(engine, name: str) -> str:
    out = engine.cli("inspect", name).stdout
    return json.loads(out)[0]["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]


def tcp_connects(engine, name: str, ip: str, port: int) -> bool:
    """An HTTP request from container `name` got an HTTP answer (busybox nc has no -z)."""
    request = f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 1 {ip} {port}"
    p = engine.cli("exec", name, "sh", "-c", request, check=False)
    return p.stdout.startswith("HTTP/")


@pytest.fixture
def user_drop(docker_engine, docker_run):
    web = docker_run("web", "-p", "18082:80", cmd=("httpd", "-f", "-p", "80"))
    db = docker_run("db")
    web_ip = container_ip(docker_engine, web.name)
    rule = ["DOCKER-USER", "-d", f"{web_ip}/32", "-p", "tcp", "--dport", "80", "-j", "DROP"]
    assert tcp_connects(docker_engine, db.name, web_ip, 80)
    subprocess.run(["iptables", "-w", "-I", *rule], check=True)
    try:
        yield web, db, web_ip
    finally:
        subprocess.run(["iptables", "-w", "-D", *rule], check=False)


def test_docker_user_drop_is_named_by_doctor_and_path(docker_engine, user_drop):
    web, db, web_ip = user_drop
    assert not tcp_connects(docker_engine, db.name, web_ip, 80)
    snapshot = collect_snapshot()
    found = [f for f in run_doctor(snapshot) if f.check == "docker_user_drop"]
    assert len(found) == 1, [f.id for f in run_doctor(snapshot)]
    assert f"-d {web_ip}/32" in found[0].summary and db.name in found[0].summary
    result = path(snapshot, db.name, web.name, "tcp", 80)
    assert result.verdict == "dropped"
    assert "DOCKER-USER" in result.summary and web_ip in result.summary


def test_published_port_is_walked_through_dnat_to_the_container(docker_run):
    web = docker_run("pub", "-p", "18083:80", cmd=("httpd", "-f", "-p", "80"))
    snapshot = collect_snapshot()
    host = next(ns for ns in snapshot.namespaces if ns.is_self)
    uplink = next(a.address for a in snapshot.addresses if a.netns == host.id
                  and a.family == "inet" and a.scope == "global"
                  and snapshot.links[[lk.id for lk in snapshot.links].index(a.link)].kind
                  not in ("bridge", "veth"))
    result = path(snapshot, "host", uplink, "tcp", 18083)  # walked, not sent
    assert result.verdict == "delivered", result.summary
    assert result.hops[-1].netns_name == web.name
    assert any(h.step == "nat" and "DNAT" in h.decision and h.packet.endswith("->80")
               for h in result.hops)
