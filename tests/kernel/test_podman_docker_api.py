"""Podman's Docker-compatible API, read when asked: DOCKER_HOST pointing at a real
`podman system service` socket (root). netscope's Docker client lists what `podman ps` lists."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from netscope.host import docker
from tests.support.netns import require_root


@pytest.fixture
def podman_socket(tmp_path):
    reason = require_root() or (None if shutil.which("podman") else "podman is not installed")
    if reason:
        pytest.skip(reason)
    path = tmp_path / "podman.sock"
    service = subprocess.Popen(["podman", "system", "service", "--time=0", f"unix://{path}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not docker.docker_socket_present(str(path)):
            assert service.poll() is None, service.stderr.read().decode()
            assert time.monotonic() < deadline, "podman system service made no socket"
            time.sleep(0.1)
        yield str(path)
    finally:
        service.terminate()
        service.wait(timeout=20)


def test_docker_host_reads_podmans_docker_compatible_api(podman_socket, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{podman_socket}")
    assert docker.docker_socket() == podman_socket
    listed = subprocess.run(["podman", "ps", "--format", "{{.Names}}"], capture_output=True,
                            text=True, check=True, timeout=60).stdout.split()
    found = docker.list_containers()
    assert sorted(c["name"] for c in found) == sorted(listed)
    assert all(c["pid"] > 0 and os.path.exists(f"/proc/{c['pid']}") for c in found)
