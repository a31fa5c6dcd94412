"""Running Docker containers, read from the Docker Engine API over its unix socket.

Standard library only: an `http.client` connection whose socket is AF_UNIX. Paths carry no API
version prefix, so the daemon answers in its own version (old and new engines alike).

The socket is found as the docker command finds it (`docker_socket`): DOCKER_HOST when set
(unix:// only), else the system engine's /var/run/docker.sock, else a rootless engine's
($XDG_RUNTIME_DIR/docker.sock, /run/user/<uid>/docker.sock for the user who ran sudo, then
for this user). Podman's Docker-compatible API is read only when asked, by pointing
DOCKER_HOST at its socket (Podman's own containers are read natively elsewhere).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import stat
import struct
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

DOCKER_SOCKET = "/var/run/docker.sock"
ROOTLESS_SOCKET = "docker.sock"  # in a user's runtime directory
RUN_USER = "/run/user"  # the users' runtime directories, /run/user/<uid>
_POOL_ABOVE = 4  # inspect in parallel only when there are more containers than this


class DockerUnavailable(Exception):
    """The Docker socket exists but the engine did not answer properly (message says why)."""


def docker_socket(env: Mapping[str, str] | None = None) -> str:
    """The Docker Engine API socket to read, found the standard way (see the module's doc).

    With no DOCKER_HOST and no socket anywhere: DOCKER_SOCKET (absent: no Docker, no error).
    A DOCKER_HOST netscope cannot use raises DockerUnavailable saying what to do.
    """
    env = os.environ if env is None else env
    host = env.get("DOCKER_HOST", "").strip()
    if host:
        return _unix_path(host)
    candidates = [DOCKER_SOCKET]
    if env.get("XDG_RUNTIME_DIR"):
        candidates.append(os.path.join(env["XDG_RUNTIME_DIR"], ROOTLESS_SOCKET))
    # under sudo, the rootless engine is the invoking user's; then this user's own
    for uid in (env.get("SUDO_UID", ""), str(os.geteuid())):
        if uid.isdigit():
            candidates.append(f"{RUN_USER}/{uid}/{ROOTLESS_SOCKET}")
    return next((c for c in candidates if docker_socket_present(c)), DOCKER_SOCKET)


def _unix_path(host: str) -> str:
    scheme, sep, rest = host.partition("://")
    if not sep:
        raise DockerUnavailable(f"DOCKER_HOST={host!r} is not a URL: give unix:///PATH/TO/"
                                "docker.sock, or unset DOCKER_HOST")
    if scheme != "unix":
        raise DockerUnavailable(f"DOCKER_HOST={host!r}: netscope reads Docker only over a "
                                "local unix socket (containers' namespaces are on this host): "
                                "set DOCKER_HOST=unix:///PATH/TO/docker.sock or unset it")
    if not rest.startswith("/"):
        raise DockerUnavailable(f"DOCKER_HOST={host!r} names no absolute socket path: give "
                                "unix:///PATH/TO/docker.sock (three slashes)")
    return rest


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # A blocking connect waits (up to SO_SNDTIMEO) while the listener's backlog is
            # full; a non-blocking one, as settimeout() makes it, fails at once with EAGAIN.
            seconds, fraction = divmod(self.timeout, 1.0)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
                            struct.pack("ll", int(seconds), int(fraction * 1e6)))
            sock.connect(self.socket_path)
            sock.settimeout(self.timeout)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def docker_socket_present(path: str | None = None) -> bool:
    """True if `path` (default: `docker_socket()`) exists and is a unix socket; says nothing
    about whether dockerd answers. With DOCKER_HOST set (and no path) always True: the user
    asked for that engine, so reading it reports what is wrong instead of finding no Docker."""
    if path is None:
        if os.environ.get("DOCKER_HOST", "").strip():
            return True
        path = docker_socket()
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def _get(path: str, url: str, timeout: float) -> Any:
    """The decoded JSON answer to GET `url`, or None for HTTP 404."""
    conn = _UnixHTTPConnection(path, timeout)
    try:
        conn.request("GET", url)
        response = conn.getresponse()
        body = response.read()
    except PermissionError as e:
        raise DockerUnavailable(
            f"cannot open the Docker socket {path} ({e.strerror}): run as root"
        ) from e
    except (OSError, http.client.HTTPException) as e:
        raise DockerUnavailable(
            f"the Docker socket {path} does not answer GET {url} ({e or type(e).__name__}):"
            " check that dockerd is running (systemctl status docker)"
        ) from e
    finally:
        conn.close()
    if response.status == 404:
        return None
    if response.status != 200:
        raise DockerUnavailable(
            f"Docker API GET {url} failed: HTTP {response.status} {_message(body)}:"
            " check dockerd's log (journalctl -u docker)"
        )
    try:
        return json.loads(body)
    except ValueError as e:
        raise DockerUnavailable(f"Docker API GET {url} answered with invalid JSON ({e})") from e


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body).get("message", "")).strip()
    except (ValueError, AttributeError):
        return body[:200].decode("utf-8", "replace").strip()


def _port_bindings(ports: dict[str, list[dict[str, str]] | None] | None) -> tuple[str, ...]:
    """Published ports as `docker ps` writes them ("0.0.0.0:8080->80/tcp"); bare "80/tcp"
    for a port that is exposed but not published."""
    out = []
    for container_port, bindings in (ports or {}).items():
        if not bindings:
            out.append(container_port)
            continue
        for b in bindings:
            host_ip = b.get("HostIp", "")
            host_ip = f"[{host_ip}]" if ":" in host_ip else host_ip
            out.append(f"{host_ip}:{b.get('HostPort', '')}->{container_port}")
    return tuple(sorted(out))


def _container(listed: dict[str, Any], inspected: dict[str, Any]) -> dict[str, Any] | None:
    state = inspected.get("State") or {}
    if not state.get("Running"):
        return None  # stopped between the listing and the inspection
    host_config = inspected.get("HostConfig") or {}
    settings = inspected.get("NetworkSettings") or {}
    mode = host_config.get("NetworkMode") or "default"
    return {
        "container_id": inspected["Id"],
        "name": inspected.get("Name", "").lstrip("/"),
        "image": (inspected.get("Config") or {}).get("Image") or listed.get("Image", ""),
        "pid": int(state.get("Pid") or 0),
        # Engines before 23.0 say "default" for the default network, which is the bridge.
        "network_mode": "bridge" if mode == "default" else mode,
        "networks": tuple(sorted(settings.get("Networks") or {})),
        "ports": _port_bindings(settings.get("Ports")),
        "sandbox_key": settings.get("SandboxKey") or "",
    }


def container_names(path: str | None = None, timeout: float = 0.5) -> list[str]:
    """Names of the running containers, from one listing (no inspection): for completion."""
    path = path or docker_socket()
    if not docker_socket_present(path):
        return []
    listed = _get(path, "/containers/json", timeout) or []
    return [n.lstrip("/") for entry in listed for n in (entry.get("Names") or [])[:1]]


def list_containers(path: str | None = None, timeout: float = 2.0) -> list[dict[str, Any]]:
    """Running containers, sorted by name, each a dict with container_id, name, image, pid,
    network_mode, networks, ports and sandbox_key. `path`: the socket (default:
    `docker_socket()`).

    No socket at `path` means no Docker: []. A socket that does not answer, an HTTP error or
    an unusable DOCKER_HOST raises DockerUnavailable. Containers gone between listing and
    inspection are skipped.
    """
    if path is None:
        path = docker_socket()
        asked = os.environ.get("DOCKER_HOST", "").strip()
        if asked and not docker_socket_present(path):
            raise DockerUnavailable(f"DOCKER_HOST={asked!r}: no socket at {path}: start that "
                                    "engine, or fix or unset DOCKER_HOST")
    if not docker_socket_present(path):
        return []
    listed = _get(path, "/containers/json", timeout)
    if listed is None:
        raise DockerUnavailable(
            f"{path} answered 404 to GET /containers/json: is it a Docker Engine API socket?"
        )

    def inspect(entry: dict[str, Any]) -> dict[str, Any] | None:
        inspected = _get(path, f"/containers/{entry['Id']}/json", timeout)
        return _container(entry, inspected) if inspected is not None else None

    if len(listed) > _POOL_ABOVE:
        with ThreadPoolExecutor(max_workers=min(8, len(listed))) as pool:
            found = list(pool.map(inspect, listed))
    else:
        found = [inspect(entry) for entry in listed]
    return sorted((c for c in found if c), key=lambda c: c["name"])
