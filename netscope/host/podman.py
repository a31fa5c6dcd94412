"""Podman's containers, pods, networks and published ports (rootful Podman).

Two sources, the first that answers wins:
- Podman's REST API (`podman system service`, socket-activated by podman.socket) on
  /run/podman/podman.sock or $CONTAINER_HOST: `/libpod/containers/json` and
  `/libpod/pods/json`, the same records `podman ps --format json` prints;
- Podman's state on disk, read without running podman (which may be misconfigured, or slow):
  the bbolt database `<static dir>/bolt_state.db` (Podman 4): bucket `ctr/<id>` with the
  container's `config` JSON (`name`, `pod`, `rootfsImageName`, `newPortMappings`, `labels`),
  `state` JSON (`state` 3 = running, `pid`) and a `networks` bucket keyed by network name;
  bucket `pod/<id>` with the pod's `config` (`name`, `labels`) and `state`
  (`InfraContainerID`).
A container's namespace is its process's (`pid` from the state), checked against its cgroup.
"""

from __future__ import annotations

import http.client
import json
import os
import stat
import tomllib
from dataclasses import dataclass, field
from typing import Any

from netscope.host import oci
from netscope.host.bolt import BoltError, BoltFile
from netscope.host.docker import _UnixHTTPConnection
from netscope.host.netns import pid_ns_inode
from netscope.model import Container, Pod, ns_id

API_SOCKET = "/run/podman/podman.sock"
STATIC_DIR = "/var/lib/containers/storage/libpod"
BOLT_STATE = "bolt_state.db"
CONTAINERS_CONF = ("/etc/containers/containers.conf", "/usr/share/containers/containers.conf")
MAX_BODY = 64 << 20
RUNNING = 3  # libpod's define.ContainerStateRunning, as the state JSON stores it


class PodmanUnavailable(Exception):
    """Podman's API socket is there but does not answer properly (message says why)."""


@dataclass
class Found:
    containers: list[Container] = field(default_factory=list)
    pods: list[Pod] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    source: str = ""


@dataclass
class _Record:
    """One container, whichever source described it."""

    cid: str
    name: str
    image: str
    pid: int
    pod: str | None
    infra: bool
    networks: tuple[str, ...]
    ports: tuple[str, ...]
    labels: dict[str, str]


def port_text(p: dict[str, Any]) -> str | None:
    """A libpod port mapping as `podman ps` writes it: "0.0.0.0:8080->80/tcp"."""
    try:
        host_port, container_port = int(p["host_port"]), int(p["container_port"])
        span = max(int(p.get("range") or 1), 1)
    except (KeyError, TypeError, ValueError):
        return None
    host_ip = str(p.get("host_ip") or "0.0.0.0")
    host_ip = f"[{host_ip}]" if ":" in host_ip else host_ip
    proto = str(p.get("protocol") or "tcp")
    if span > 1:
        return (f"{host_ip}:{host_port}-{host_port + span - 1}->"
                f"{container_port}-{container_port + span - 1}/{proto}")
    return f"{host_ip}:{host_port}->{container_port}/{proto}"


def _ports(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(sorted(t for p in raw if isinstance(p, dict) and (t := port_text(p))))


def _api_socket() -> str:
    host = os.environ.get("CONTAINER_HOST", "")
    return host[len("unix://"):] if host.startswith("unix://") else API_SOCKET


def _socket_present(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def _api_get(path: str, url: str, timeout: float) -> Any:
    conn = _UnixHTTPConnection(path, timeout)
    try:
        conn.request("GET", url)
        response = conn.getresponse()
        body = response.read(MAX_BODY)
    except (OSError, http.client.HTTPException) as e:
        raise PodmanUnavailable(f"Podman's API socket {path} does not answer GET {url} "
                                f"({e or type(e).__name__})") from e
    finally:
        conn.close()
    if response.status != 200:
        raise PodmanUnavailable(f"Podman API GET {url} failed: HTTP {response.status}")
    try:
        return json.loads(body)
    except ValueError as e:
        raise PodmanUnavailable(f"Podman API GET {url} answered invalid JSON ({e})") from e


def _from_api(path: str, timeout: float) -> tuple[list[_Record], list[dict]]:
    listed = _api_get(path, "/v4.0.0/libpod/containers/json", timeout)
    pods = _api_get(path, "/v4.0.0/libpod/pods/json", timeout)
    records = []
    for c in listed if isinstance(listed, list) else []:
        if not isinstance(c, dict) or not isinstance(c.get("Id"), str):
            continue
        names = c.get("Names") or []
        records.append(_Record(
            cid=c["Id"], name=str(names[0]) if names else c["Id"][:12],
            image=str(c.get("Image") or ""), pid=int(c.get("Pid") or 0),
            pod=c.get("Pod") or None, infra=bool(c.get("IsInfra")),
            networks=tuple(sorted(str(n) for n in c.get("Networks") or ())),
            ports=_ports(c.get("Ports")), labels=oci.string_map(c.get("Labels"))))
    pod_list = [{"id": p["Id"], "name": str(p.get("Name") or p["Id"][:12]),
                 "infra": p.get("InfraId") or None, "labels": oci.string_map(p.get("Labels"))}
                for p in (pods if isinstance(pods, list) else [])
                if isinstance(p, dict) and isinstance(p.get("Id"), str)]
    return records, pod_list


def _json(value: bytes | None) -> dict:
    try:
        data = json.loads(value) if value else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def static_dir() -> str:
    """Podman's static directory: containers.conf's `[engine] static_dir`, or the default."""
    for path in (os.environ.get("CONTAINERS_CONF", ""), *CONTAINERS_CONF):
        if not path:
            continue
        try:
            with open(path, "rb") as f:
                engine = tomllib.loads(f.read(1 << 20).decode("utf-8", "replace")).get("engine")
        except (OSError, tomllib.TOMLDecodeError):
            continue
        if isinstance(engine, dict) and isinstance(engine.get("static_dir"), str):
            return engine["static_dir"]
    return STATIC_DIR


def _from_state(db: BoltFile) -> tuple[list[_Record], list[dict]]:
    records, pods = [], []
    ctrs = db.root.bucket(b"ctr")
    for cid, bucket in (ctrs.buckets() if ctrs else {}).items():
        config, state = _json(bucket.get(b"config")), _json(bucket.get(b"state"))
        networks = bucket.bucket(b"networks")
        pid = state.get("pid")
        records.append(_Record(
            cid=cid.decode("utf-8", "replace"), name=str(config.get("name") or "?"),
            image=str(config.get("rootfsImageName") or ""),
            pid=pid if isinstance(pid, int) and state.get("state") == RUNNING else 0,
            pod=config.get("pod") or None, infra=False,
            networks=tuple(sorted(k.decode("utf-8", "replace")
                                  for k in (networks.values() if networks else {}))),
            ports=_ports(config.get("newPortMappings")),
            labels=oci.string_map(config.get("labels"))))
    pod_bucket = db.root.bucket(b"pod")
    for pid, bucket in (pod_bucket.buckets() if pod_bucket else {}).items():
        config, state = _json(bucket.get(b"config")), _json(bucket.get(b"state"))
        pods.append({"id": pid.decode("utf-8", "replace"),
                     "name": str(config.get("name") or "?"),
                     "infra": state.get("InfraContainerID") or None,
                     "labels": oci.string_map(config.get("labels"))})
    return records, pods


def read(self_inode: int, timeout: float = 2.0) -> Found:
    """Podman's running containers and its pods; `problems` says what could not be read."""
    out = Found()
    records: list[_Record] | None = None
    pods: list[dict] = []
    socket_path = _api_socket()
    if _socket_present(socket_path):
        try:
            records, pods = _from_api(socket_path, timeout)
            out.source = f"api {socket_path}"
        except PodmanUnavailable as e:
            out.problems.append(f"{e}; read Podman's state on disk instead")
    if records is None:
        path = os.path.join(static_dir(), BOLT_STATE)
        try:
            records, pods = _from_state(BoltFile.open(path))
            out.source = f"state {path}"
        except FileNotFoundError:
            return out
        except (OSError, BoltError) as e:
            out.problems.append(f"Podman's state {path} not read ({e})")
            return out
    _build(records, pods, self_inode, out)
    return out


def _running_pid(record: _Record) -> int:
    """The container's pid if it still runs as that container (its cgroup says so)."""
    if record.pid <= 0 or not os.path.exists(f"/proc/{record.pid}"):
        return 0
    found = oci.cgroup_container(record.pid)
    if found is not None and found[1] != record.cid:
        return 0  # the pid was reused by another container's process
    return record.pid


def _build(records: list[_Record], pods: list[dict], self_inode: int, out: Found) -> None:
    by_id = {r.cid: r for r in records}
    pod_ids = {p["id"] for p in pods}
    infra_of = {p["id"]: p["infra"] for p in pods}
    for r in records:
        if r.infra and r.pod and not infra_of.get(r.pod):
            infra_of[r.pod] = r.cid
    for r in sorted(records, key=lambda r: r.name):
        pid = _running_pid(r)
        if pid == 0:
            continue
        inode = pid_ns_inode(pid)
        infra = infra_of.get(r.pod) if r.pod else None
        shares = container_id(infra) if infra and infra != r.cid and infra in by_id else None
        out.containers.append(Container(
            id=container_id(r.cid), container_id=r.cid, name=r.name, image=r.image, pid=pid,
            netns=ns_id(inode) if inode is not None else None,
            network_mode="pod" if shares else ("bridge" if r.networks else "private"),
            networks=r.networks, shares_netns_with=shares, ports=r.ports, runtime="podman",
            pod=pod_id(r.pod) if r.pod in pod_ids or r.pod in infra_of else None,
            infra=r.infra or r.cid == infra, labels=dict(list(r.labels.items())[:64])))
    netns_of = {c.container_id: c.netns for c in out.containers}
    for p in pods:
        infra = by_id.get(p["infra"]) if p["infra"] else None
        out.pods.append(Pod(
            id=pod_id(p["id"]), pod_id=p["id"], name=p["name"], runtime="podman",
            netns=netns_of.get(p["infra"]) if p["infra"] else None,
            infra_container=container_id(p["infra"]) if infra else None,
            ports=infra.ports if infra else (), networks=infra.networks if infra else (),
            labels=p["labels"]))


def container_id(cid: str) -> str:
    return f"container:podman/{cid}"


def pod_id(pid: str) -> str:
    return f"pod:podman/{pid}"
