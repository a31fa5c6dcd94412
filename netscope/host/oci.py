"""What every OCI runtime leaves on disk and in /proc, read the same way for all of them.

A container started by runc or crun has a bundle whose `config.json` is its OCI runtime spec:
the annotations the engine wrote (CRI's pod names among them) and the network namespace it
joined (`linux.namespaces[type=network].path`). Its processes' `/proc/PID/cgroup` names the
container id (`.../docker-<id>.scope`, `.../libpod-<id>.scope`, `.../crio-<id>.scope`,
`...:cri-containerd:<id>`, `/kubepods/.../<id>`, `/<containerd namespace>/<id>`).
Everything read here is untrusted: sizes are bounded, types checked, bad files skipped.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from typing import Any

from netscope.host.netns import pid_ns_inode

MAX_JSON = 4 << 20  # an OCI spec is a few KiB; a larger file is not one
_ID = re.compile(r"[0-9a-f]{64}")
# cgroup path fragments that say which engine made the container (the id follows)
CGROUP_ENGINES = (
    ("docker-", "docker"), ("docker/", "docker"), ("libpod-", "podman"),
    ("crio-", "cri-o"), ("cri-containerd-", "containerd"), ("cri-containerd:", "containerd"),
)


def read_json(path: str, limit: int = MAX_JSON) -> Any:
    """The decoded JSON file at `path`, or None when it is missing, too large or invalid."""
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError:
        return None
    if len(data) > limit:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def read_text(path: str, limit: int = 4096) -> str | None:
    """The first `limit` bytes of a small text file, decoded, or None when unreadable."""
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", "replace")
    except OSError:
        return None


def read_pid(path: str) -> int:
    """The pid in a pid file (`init.pid`, conmon's), 0 when absent or not a number."""
    text = read_text(path, 32)
    try:
        return int(text.strip()) if text else 0
    except ValueError:
        return 0


def string_map(value: Any) -> dict[str, str]:
    """A JSON object of strings as a dict (anything else in it left out)."""
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str)}


def spec_annotations(spec: Any) -> dict[str, str]:
    """The annotations of an OCI runtime spec."""
    return string_map(spec.get("annotations")) if isinstance(spec, dict) else {}


def spec_netns_path(spec: Any) -> str | None:
    """The network namespace path an OCI spec joins; None when it creates its own (or has
    none: then it shares the host's, which `spec_has_netns` tells)."""
    for ns in _spec_namespaces(spec):
        if ns.get("type") == "network":
            path = ns.get("path")
            return path if isinstance(path, str) and path else None
    return None


def spec_has_netns(spec: Any) -> bool:
    """True when the spec puts the container in a network namespace other than the host's."""
    return any(ns.get("type") == "network" for ns in _spec_namespaces(spec))


def _spec_namespaces(spec: Any) -> list[dict]:
    linux = spec.get("linux") if isinstance(spec, dict) else None
    namespaces = linux.get("namespaces") if isinstance(linux, dict) else None
    return [ns for ns in namespaces or () if isinstance(ns, dict)]


def path_ns_inode(path: str | None) -> int | None:
    """The nsfs inode of a namespace file (`/run/netns/x`, `/proc/PID/ns/net`), or None."""
    if not path:
        return None
    if path.startswith("/proc/") and path.endswith("/ns/net"):
        pid = path.split("/")[2]
        return pid_ns_inode(int(pid)) if pid.isdigit() else None
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def container_netns_inode(spec: Any, pid: int, self_inode: int) -> int | None:
    """Where a container's network lives: its process's namespace while it runs, else the
    namespace file its spec joins, else the host's when the spec creates none."""
    if pid > 0:
        inode = pid_ns_inode(pid)
        if inode is not None:
            return inode
    inode = path_ns_inode(spec_netns_path(spec))
    if inode is not None:
        return inode
    return self_inode if isinstance(spec, dict) and not spec_has_netns(spec) else None


def processes(comms: tuple[str, ...]) -> dict[str, list[list[str]]]:
    """The command lines of every process whose comm is one of `comms` (one pass over /proc):
    how runtimes started with their own state directories or config files are found."""
    out: dict[str, list[list[str]]] = {c: [] for c in comms}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        comm = read_text(f"/proc/{pid}/comm", 64)
        if comm is None or comm.strip() not in out:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                raw = f.read(16384)
        except OSError:
            continue
        argv = [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]
        if argv:
            out[comm.strip()].append(argv)
    return out


def flag(argv: list[str], *names: str) -> str | None:
    """The value of a Go-style flag (`--name value` or `--name=value`) in a command line."""
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def read_toml(path: str) -> dict[str, Any]:
    """A TOML config file as a dict ({} when missing, too large or invalid)."""
    try:
        with open(path, "rb") as f:
            data = f.read(1 << 20)
        return tomllib.loads(data.decode("utf-8", "replace"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def cgroup_container(pid: int) -> tuple[str, str] | None:
    """(engine, 64-hex container id) from /proc/PID/cgroup, or None when the process is not
    in a container's cgroup this recognises (engine "" when only the id is known)."""
    text = read_text(f"/proc/{pid}/cgroup", 8192)
    return parse_cgroup(text) if text else None


def parse_cgroup(text: str) -> tuple[str, str] | None:
    """See cgroup_container; `text` is the content of a /proc/PID/cgroup file."""
    for line in text.splitlines():
        path = line.split(":", 2)[-1]
        # the container's id is the last one: Podman nests a pod's containers in the pod's
        # cgroup (/libpod_parent/<pod id>/libpod-<container id>)
        matches = list(_ID.finditer(path))
        if matches:
            before = path[:matches[-1].start()]
            engine = next((name for marker, name in CGROUP_ENGINES if before.endswith(marker)),
                          "")
            return engine, matches[-1].group()
    return None
