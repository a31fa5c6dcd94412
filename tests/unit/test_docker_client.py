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
