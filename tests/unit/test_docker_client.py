"""The Docker Engine API client against a real HTTP server on a unix socket.

The canned answers are trimmed from Docker 20.10.24 (API 1.41) on Debian 12: a container
publishing 18080->80 on the default bridge, and one sharing its network namespace
(`docker run --network container:<web>`).
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from netscope.host.docker import DockerUnavailable, docker_socket_present, list_containers

WEB_ID = "2da5b4eb23f1b8b854d45dabc381f838103a4bc0a549662a2d25bbb47ee01532"
JOINED_ID = "185df6a75cd2fe4df598b46a6a714392a0fbaf0d878531289054f9728866e1ad"


def listed(cid: str, name: str, network_mode: str) -> dict:
    return {
        "Id": cid, "Names": [f"/{name}"], "Image": "netscope-test/busybox:latest",
        "Command": "sleep 600", "State": "running", "Status": "Up 2 seconds",
        "HostConfig": {"NetworkMode": network_mode},
    }


def inspected(cid: str, name: str, pid: int, network_mode: str, settings: dict) -> dict:
    return {
        "Id": cid, "Name": f"/{name}", "Image": "sha256:36ca3d62c0e0",
        "State": {"Status": "running", "Running": True, "Paused": False, "Pid": pid},
        "HostConfig": {"NetworkMode": network_mode},
        "Config": {"Image": "netscope-test/busybox:latest", "Cmd": ["sleep", "600"]},
        "NetworkSettings": settings,
    }


WEB_SETTINGS = {
    "Bridge": "", "SandboxID": "512d8f5aac7908a2",
    "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "18080"},
                         {"HostIp": "::", "HostPort": "18080"}]},
    "SandboxKey": "/var/run/docker/netns/512d8f5aac79",
    "Networks": {"bridge": {"NetworkID": "26826cbd41e1", "Gateway": "172.17.0.1",
                            "IPAddress": "172.17.0.2", "IPPrefixLen": 16}},
}
JOINED_SETTINGS = {"Bridge": "", "SandboxID": "", "Ports": {}, "SandboxKey": "", "Networks": {}}

WEB = {
    "container_id": WEB_ID, "name": "web", "image": "netscope-test/busybox:latest",
    "pid": 8342, "network_mode": "bridge", "networks": ("bridge",),
    "ports": ("0.0.0.0:18080->80/tcp", "[::]:18080->80/tcp"),
    "sandbox_key": "/var/run/docker/netns/512d8f5aac79",
}
JOINED = {
    "container_id": JOINED_ID, "name": "joined", "image": "netscope-test/busybox:latest",
    "pid": 8410, "network_mode": f"container:{WEB_ID}", "networks": (), "ports": (),
    "sandbox_key": "",
}


def engine_routes() -> dict[str, tuple[int, object]]:
    joined_mode = f"container:{WEB_ID}"
    return {
        "/containers/json": (200, [listed(JOINED_ID, "joined", joined_mode),
                                   listed(WEB_ID, "web", "default")]),
        f"/containers/{WEB_ID}/json": (200, inspected(WEB_ID, "web", 8342, "default",
                                                      WEB_SETTINGS)),
        f"/containers/{JOINED_ID}/json": (200, inspected(JOINED_ID, "joined", 8410, joined_mode,
                                                         JOINED_SETTINGS)),
    }


class FakeEngine:
    """A threaded HTTP server on a unix socket answering GETs from a route table."""

    def __init__(self, socket_path: Path, routes: dict[str, tuple[int, object]]) -> None:
        self.socket_path = socket_path
        self.routes = routes
        self.requests: list[str] = []
        engine = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                engine.requests.append(self.path)
                status, body = engine.routes.get(
                    self.path, (404, {"message": f"page not found: {self.path}"}))
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass  # unix-socket clients have no address to log

        self.server = socketserver.ThreadingUnixStreamServer(str(socket_path), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator:
    engines: list[FakeEngine] = []

    def start(routes: dict[str, tuple[int, object]]) -> str:
        engine = FakeEngine(tmp_path / "docker.sock", routes)
        engines.append(engine)
        return str(engine.socket_path)

    yield start
    for engine in engines:
        engine.close()


def test_lists_running_containers_with_their_network_facts(serve):
    path = serve(engine_routes())
    assert docker_socket_present(path)
    assert list_containers(path) == [JOINED, WEB]


def test_many_containers_are_all_inspected(serve):
    routes = {"/containers/json": (200, [])}
    for i in range(12):
        cid = f"{i:02d}" * 32
        routes["/containers/json"][1].append(listed(cid, f"c{i:02d}", "host"))
        routes[f"/containers/{cid}/json"] = (200, inspected(cid, f"c{i:02d}", 100 + i, "host",
                                                             JOINED_SETTINGS))
    found = list_containers(serve(routes))
    assert [(c["name"], c["pid"], c["network_mode"]) for c in found] == [
        (f"c{i:02d}", 100 + i, "host") for i in range(12)
    ]


def test_container_gone_between_list_and_inspect_is_skipped(serve):
    routes = engine_routes()
    routes[f"/containers/{JOINED_ID}/json"] = (404, {"message": f"No such container: {JOINED_ID}"})
    assert list_containers(serve(routes)) == [WEB]


def test_container_stopped_between_list_and_inspect_is_skipped(serve):
    routes = engine_routes()
    stopped = inspected(JOINED_ID, "joined", 0, "default", JOINED_SETTINGS)
    stopped["State"] = {"Status": "exited", "Running": False, "Pid": 0, "ExitCode": 137}
    routes[f"/containers/{JOINED_ID}/json"] = (200, stopped)
    assert list_containers(serve(routes)) == [WEB]


def test_no_socket_means_no_docker(tmp_path: Path):
    path = str(tmp_path / "docker.sock")
    assert not docker_socket_present(path)
    assert list_containers(path) == []


def test_server_error_raises_docker_unavailable_naming_the_request(serve):
    routes = {"/containers/json": (500, {"message": "layer store is broken"})}
    with pytest.raises(DockerUnavailable, match=r"GET /containers/json failed: HTTP 500 layer"):
        list_containers(serve(routes))


def test_socket_nobody_listens_on_raises_docker_unavailable(tmp_path: Path):
    path = tmp_path / "docker.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))  # the file stays after close: a dockerd that died
    stale.close()
    assert docker_socket_present(str(path))
    with pytest.raises(DockerUnavailable, match=r"does not answer.*dockerd is running"):
        list_containers(str(path))


# Finding the socket as the docker command does: DOCKER_HOST, then the system engine, then a
# rootless engine's (the user's runtime directory, the sudo user's). Podman's
# Docker-compatible API is read only when DOCKER_HOST points at it.

@pytest.fixture
def no_system_engine(monkeypatch, tmp_path):
    from netscope.host import docker

    monkeypatch.setattr(docker, "DOCKER_SOCKET", str(tmp_path / "absent" / "docker.sock"))
    monkeypatch.setattr(docker, "RUN_USER", str(tmp_path / "run-user"))
    for name in ("DOCKER_HOST", "XDG_RUNTIME_DIR", "SUDO_UID"):
        monkeypatch.delenv(name, raising=False)
    return docker


def test_docker_host_names_the_socket_to_read(serve, no_system_engine, monkeypatch):
    path = serve(engine_routes())
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    assert no_system_engine.docker_socket() == path
    assert docker_socket_present() and list_containers() == [JOINED, WEB]


@pytest.mark.parametrize("host,says", [
    ("tcp://127.0.0.1:2375", "only over a local unix socket"),
    ("ssh://admin@box", "only over a local unix socket"),
    ("unix://", "three slashes"),
    ("unix://run/docker.sock", "three slashes"),
    ("/var/run/docker.sock", "is not a URL"),
])
def test_a_docker_host_netscope_cannot_use_is_one_line_saying_what_to_do(
        no_system_engine, monkeypatch, host, says):
    monkeypatch.setenv("DOCKER_HOST", host)
    assert docker_socket_present()  # asked for: reading it reports the problem
    with pytest.raises(DockerUnavailable, match=says) as e:
        list_containers()
    assert "\n" not in str(e.value) and "DOCKER_HOST" in str(e.value)


def test_a_docker_host_without_a_socket_is_reported_not_taken_for_no_docker(
        no_system_engine, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/gone.sock")
    with pytest.raises(DockerUnavailable, match="no socket at"):
        list_containers()


def test_without_docker_host_no_engine_is_no_docker(no_system_engine):
    assert not docker_socket_present() and list_containers() == []


def test_rootless_docker_in_the_runtime_directory_is_found(serve, no_system_engine,
                                                          monkeypatch):
    path = Path(serve(engine_routes()))  # tmp_path/docker.sock, as in a runtime directory
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(path.parent))
    assert no_system_engine.docker_socket() == str(path)
    assert list_containers() == [JOINED, WEB]


def test_rootless_docker_of_the_user_who_ran_sudo_is_found(serve, no_system_engine,
                                                          monkeypatch, tmp_path):
    path = Path(serve(engine_routes()))
    user_dir = tmp_path / "run-user" / "1000"
    user_dir.mkdir(parents=True)
    (user_dir / "docker.sock").symlink_to(path)
    monkeypatch.setenv("SUDO_UID", "1000")
    assert no_system_engine.docker_socket() == str(user_dir / "docker.sock")
    assert list_containers() == [JOINED, WEB]


def test_the_system_engine_comes_before_a_rootless_one(serve, no_system_engine, monkeypatch):
    path = serve(engine_routes())
    monkeypatch.setattr(no_system_engine, "DOCKER_SOCKET", path)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/nonexistent")
    assert no_system_engine.docker_socket() == path
