"""CRI-O's pod sandboxes and containers, read from its state on disk.

CRI-O keeps each container in containers/storage: `<runroot>/overlay-containers/<id>/userdata/`
holds the OCI spec it ran (`config.json`, with `io.kubernetes.cri-o.ContainerType`,
`io.kubernetes.cri-o.SandboxID`, `io.kubernetes.cri-o.ContainerName` and kubelet's labels
`io.kubernetes.pod.name`/`.namespace`/`.uid`, `io.kubernetes.container.name` copied into the
annotations) and conmon's `pidfile`. Podman shares that storage: its containers carry
`io.container.manager: libpod` and are left to the Podman reader.

The runroot is CRI-O's default, or the `--runroot` flag / `[crio] runroot` of the config
(`--config`, /etc/crio/crio.conf) of a running `crio` process; its CNI directory likewise
(`--cni-config-dir`, `[crio.network] network_dir`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from netscope.host import cri, oci
from netscope.model import Container, Pod, ns_id

DEFAULT_RUNROOT = "/run/containers/storage"
DEFAULT_CONFIG = "/etc/crio/crio.conf"
DEFAULT_NETWORK_DIR = "/etc/cni/net.d"
STORAGE_DIRS = ("overlay-containers", "vfs-containers", "btrfs-containers", "zfs-containers")
MANAGER = "io.container.manager"
PORT_MAPPINGS = "io.kubernetes.cri-o.PortMappings"
PODMAN_ANNOTATIONS = "io.podman.annotations."


@dataclass
class Found:
    containers: list[Container] = field(default_factory=list)
    pods: list[Pod] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _config(argv: list[str]) -> dict:
    return oci.read_toml(oci.flag(argv, "--config") or DEFAULT_CONFIG)


def runroot_from_argv(argv: list[str]) -> str:
    """The runroot a `crio` command line uses (the flag wins over its config file)."""
    section = _config(argv).get("crio")
    value = section.get("runroot") if isinstance(section, dict) else None
    return (oci.flag(argv, "--runroot")
            or (value if isinstance(value, str) and value else DEFAULT_RUNROOT))


def network_dir_from_argv(argv: list[str]) -> str:
    """The CNI configuration directory a `crio` command line uses."""
    section = _config(argv).get("crio")
    network = section.get("network") if isinstance(section, dict) else None
    value = network.get("network_dir") if isinstance(network, dict) else None
    return (oci.flag(argv, "--cni-config-dir")
            or (value if isinstance(value, str) and value else DEFAULT_NETWORK_DIR))


def runroots(commands: list[list[str]]) -> list[str]:
    """CRI-O's runroot for every running crio process (`commands`), or the default."""
    return list(dict.fromkeys(runroot_from_argv(a) for a in commands)) or [DEFAULT_RUNROOT]


def read(self_inode: int, roots: list[str]) -> Found:
    """The running CRI-O containers and pod sandboxes under the runroots `roots`."""
    out = Found()
    for root in roots:
        for storage in STORAGE_DIRS:
            directory = os.path.join(root, storage)
            try:
                ids = sorted(os.listdir(directory))
            except OSError:
                continue
            for cid in ids:
                _read_container(os.path.join(directory, cid, "userdata"), cid, self_inode, out)
    return out


def _read_container(userdata: str, cid: str, self_inode: int, out: Found) -> None:
    spec = oci.read_json(os.path.join(userdata, "config.json"))
    annotations = oci.spec_annotations(spec)
    if not annotations or annotations.get(MANAGER) == "libpod" or any(
            k.startswith(PODMAN_ANNOTATIONS) for k in annotations):
        return
    ident = cri.kube_identity(annotations)
    if ident is None:
        return
    pid = oci.read_pid(os.path.join(userdata, "pidfile"))
    if pid <= 0 or not os.path.exists(f"/proc/{pid}"):
        return
    inode = oci.container_netns_inode(spec, pid, self_inode)
    netns = ns_id(inode) if inode is not None else None
    model_id = container_id(cid)
    sandbox = cid if ident.kind == cri.SANDBOX else ident.sandbox_id
    shares = container_id(ident.sandbox_id) if (
        ident.kind == cri.CONTAINER and ident.sandbox_id) else None
    labels = cri.identity_labels({}, annotations)
    if ident.kind == cri.SANDBOX:
        out.pods.append(Pod(
            id=pod_id(cid), pod_id=cid, name=ident.pod_name or cid, runtime="cri-o",
            netns=netns, kube_namespace=ident.pod_namespace, kube_uid=ident.pod_uid,
            infra_container=model_id, ports=_ports(annotations.get(PORT_MAPPINGS)),
            labels=labels))
    out.containers.append(Container(
        id=model_id, container_id=cid, name=ident.container_name or cri.KUBE_INFRA_NAME,
        image=ident.image or "", pid=pid, netns=netns,
        network_mode="pod" if shares else ("host" if not oci.spec_has_netns(spec) else "private"),
        shares_netns_with=shares, runtime="cri-o", pod=pod_id(sandbox) if sandbox else None,
        infra=ident.kind == cri.SANDBOX, kube_name=ident.container_name, labels=labels))


def _ports(text: str | None) -> tuple[str, ...]:
    """CRI-O's PortMappings annotation (CRI's PortMapping as JSON) as "ip:host->ctr/proto"."""
    try:
        mappings = json.loads(text) if text else []
    except ValueError:
        return ()
    out = []
    for m in mappings if isinstance(mappings, list) else []:
        if not isinstance(m, dict) or not m.get("HostPort"):
            continue
        proto = str(m.get("Protocol", "tcp")).lower()
        host_ip = str(m.get("HostIP") or "0.0.0.0")
        out.append(f"{host_ip}:{m['HostPort']}->{m.get('ContainerPort')}/{proto}")
    return tuple(sorted(out))


def container_id(cid: str) -> str:
    return f"container:cri-o/{cid}"


def pod_id(sandbox_id: str) -> str:
    return f"pod:cri-o/{sandbox_id}"
