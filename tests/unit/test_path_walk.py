"""The static walk on captured snapshots: container to container across a bridge and back."""

import subprocess
import sys

import pytest

from netscope.analysis.path import EndpointError, path
from tests.unit.conftest import FIXTURES


def names(snapshot):
    return {ns.name.rsplit("-", 1)[-1]: ns.name for ns in snapshot.namespaces}


def test_container_to_container_crosses_the_bridge_and_back(docker_like_lab):
    n = names(docker_like_lab)
    result = path(docker_like_lab, n["web"], n["db"], "tcp", 5432)
    # the crossing, in order; netfilter hooks passed on the way are listed too but not here
    steps = [(h.netns_name, h.device, h.step) for h in result.hops
             if h.step not in ("netfilter", "nat")]
    assert steps == [
        (n["web"], "eth0", "output-route"), (n["web"], "eth0", "xmit"),
        (n["host"], "veth0", "veth"), (n["host"], "docker0", "bridge"),
        (n["db"], "eth0", "veth"), (n["db"], "eth0", "receive"), (n["db"], "eth0", "deliver"),
    ]
    assert result.verdict == "delivered" and result.reply.verdict == "delivered"
    assert result.reply.flow.src == "172.18.0.3" and result.reply.flow.dport == 40000
    assert [h.netns_name for h in result.reply.hops][-1] == n["web"]


def test_real_docker_containers_reach_each_other(docker_engine_snapshot):
    a, b = docker_engine_snapshot.containers
    result = path(docker_engine_snapshot, a.name, b.name)
    assert result.verdict == "delivered", result.summary
    assert any(h.step == "bridge" and h.device == "docker0" for h in result.hops)


def test_unrouted_destination_ends_with_no_route(docker_like_lab):
    n = names(docker_like_lab)
    result = path(docker_like_lab, n["web"], "10.9.9.9")
    assert result.verdict == "no_route"
    assert result.hops[-1].netns_name == n["inet"]


@pytest.mark.parametrize(("src", "dst", "message"), [
    ("nope", "172.18.0.3", "no address, container or namespace called 'nope'"),
    ("10.1.2.3", "172.18.0.3", "no namespace on this host has address 10.1.2.3"),
])
def test_bad_endpoints_are_named(docker_like_lab, src, dst, message):
    with pytest.raises(EndpointError, match=message):
        path(docker_like_lab, src, dst)


def test_cli_exit_status_and_json(docker_like_lab):
    snap = str(FIXTURES / "docker-like-lab.json")
    web = names(docker_like_lab)["web"]
    ok = subprocess.run([sys.executable, "-m", "netscope", "path", "--snapshot", snap, web,
                         "172.18.0.3"], capture_output=True, text=True)
    assert ok.returncode == 0 and "=> [OK] delivered" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "netscope", "path", "--snapshot", snap, web,
                          "10.9.9.9", "--json"], capture_output=True, text=True)
    assert bad.returncode == 1 and '"end": "no_route"' in bad.stdout
