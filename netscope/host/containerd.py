"""containerd's containers and Kubernetes pod sandboxes, read from its state on disk.

No gRPC client: every running task has a directory `<state>/io.containerd.runtime.v2.task/
<namespace>/<id>/` holding the OCI spec (`config.json`, with CRI's pod annotations and the
network namespace it joins) and `init.pid`; the container's labels and image are in the
metadata store `<root>/io.containerd.metadata.v1.bolt/meta.db` (bucket
`v1/<namespace>/containers/<id>`). So a node whose containerd hangs still names its pods.

Instances are found from the defaults (/run/containerd, /var/lib/containerd) and from every
running `containerd` process: its `--state`/`--root`/`--address` flags and its `--config`
file (TOML: `state`, `root`, `[grpc] address`, and the CRI plugin's CNI `conf_dir`).
Namespaces: `k8s.io` holds Kubernetes' pods, `moby` Docker's containers (Docker's own API
names those better; the collector keeps Docker's when both answer).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from netscope.host import cri, oci
from netscope.host.bolt import BoltError, BoltFile, Bucket
from netscope.model import Container, Pod, ns_id

DEFAULT_STATE = "/run/containerd"
DEFAULT_ROOT = "/var/lib/containerd"
DEFAULT_ADDRESS = "/run/containerd/containerd.sock"
DEFAULT_CONFIG = "/etc/containerd/config.toml"
TASK_DIR = "io.containerd.runtime.v2.task"
META_DB = "io.containerd.metadata.v1.bolt/meta.db"
CRI_PLUGIN = ("io.containerd.grpc.v1.cri", "cri")  # the CRI plugin's id in config v2 / v1
DEFAULT_CNI_CONF_DIR = "/etc/cni/net.d"


@dataclass(frozen=True)
class Instance:
    """One containerd: where it keeps state and metadata, its socket, its CRI CNI directory."""

    state: str = DEFAULT_STATE
    root: str = DEFAULT_ROOT
    address: str = DEFAULT_ADDRESS
    cni_conf_dir: str | None = None


@dataclass
class Found:
    """What one read found: containers, pods, and problems worth reporting."""

    containers: list[Container] = field(default_factory=list)
    pods: list[Pod] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _cni_conf_dir(config: dict[str, Any]) -> str | None:
    plugins = config.get("plugins")
    if not isinstance(plugins, dict):
        return None
    for plugin_id in CRI_PLUGIN:
        cni_conf = (plugins.get(plugin_id) or {}).get("cni") if isinstance(
            plugins.get(plugin_id), dict) else None
        if isinstance(cni_conf, dict) and isinstance(cni_conf.get("conf_dir"), str):
            return cni_conf["conf_dir"]
    return None


def instance_from_argv(argv: list[str]) -> Instance:
    """The instance a `containerd` command line runs (flags win over its config file)."""
    config = oci.read_toml(oci.flag(argv, "--config", "-c") or DEFAULT_CONFIG)
    grpc = config.get("grpc") if isinstance(config.get("grpc"), dict) else {}

    def text(value: Any, default: str) -> str:
        return value if isinstance(value, str) and value else default

    return Instance(
        state=oci.flag(argv, "--state") or text(config.get("state"), DEFAULT_STATE),
        root=oci.flag(argv, "--root") or text(config.get("root"), DEFAULT_ROOT),
        address=oci.flag(argv, "--address", "-a") or text(grpc.get("address"),
                                                           DEFAULT_ADDRESS),
        cni_conf_dir=_cni_conf_dir(config),
    )


def instances(commands: list[list[str]]) -> list[Instance]:
    """Every containerd on this host: those running (`commands`: the command lines of the
    `containerd` processes) and the default one when its state directory exists.
    Deduplicated by state directory."""
    found: dict[str, Instance] = {}
    for argv in commands:
        inst = instance_from_argv(argv)
        found.setdefault(os.path.realpath(inst.state), inst)
    if os.path.isdir(os.path.join(DEFAULT_STATE, TASK_DIR)):
        default = instance_from_argv(["containerd"])
        found.setdefault(os.path.realpath(default.state), default)
    return list(found.values())


def _metadata(instance: Instance) -> tuple[BoltFile | None, str | None]:
    path = os.path.join(instance.root, META_DB)
    try:
        return BoltFile.open(path), None
    except FileNotFoundError:
        return None, None
    except (OSError, BoltError) as e:
        return None, f"containerd metadata {path} not read ({e}): labels and images unknown"


def namespace_containers(db: BoltFile | None, namespace: str) -> dict[bytes, Bucket]:
    """The metadata buckets of a containerd namespace's containers, by id (one walk)."""
    if db is None:
        return {}
    try:
        bucket = db.root.bucket(b"v1", namespace.encode(), b"containers")
        return bucket.buckets() if bucket is not None else {}
    except BoltError:
        return {}


def _container_meta(bucket: Bucket | None) -> tuple[dict, str]:
    """(labels, image) of a container's metadata bucket."""
    if bucket is None:
        return {}, ""
    try:
        labels_bucket = bucket.bucket(b"labels")
        labels = {k.decode("utf-8", "replace"): v.decode("utf-8", "replace")
                  for k, v in (labels_bucket.values() if labels_bucket else {}).items()}
        image = (bucket.get(b"image") or b"").decode("utf-8", "replace")
    except BoltError:
        return {}, ""
    return labels, image


def read_instance(instance: Instance, self_inode: int) -> Found:
    """The running containers and pods of one containerd instance."""
    out = Found()
    tasks = os.path.join(instance.state, TASK_DIR)
    try:
        namespaces = sorted(os.listdir(tasks))
    except FileNotFoundError:
        return out
    except OSError as e:
        out.problems.append(f"cannot list {tasks} ({e.strerror}): run as root")
        return out
    db, problem = _metadata(instance)
    if problem:
        out.problems.append(problem)
    for namespace in namespaces:
        ns_dir = os.path.join(tasks, namespace)
        try:
            ids = sorted(os.listdir(ns_dir))
        except OSError:
            continue
        meta = namespace_containers(db, namespace) if ids else {}
        for cid in ids:
            _read_task(os.path.join(ns_dir, cid), namespace, cid, meta.get(cid.encode()),
                       self_inode, out)
    return out


def _read_task(bundle: str, namespace: str, cid: str, meta: Bucket | None, self_inode: int,
               out: Found) -> None:
    spec = oci.read_json(os.path.join(bundle, "config.json"))
    pid = oci.read_pid(os.path.join(bundle, "init.pid"))
    if not isinstance(spec, dict) or pid <= 0 or not os.path.exists(f"/proc/{pid}"):
        return  # created but not started, or exited: no process holds anything
    annotations = oci.spec_annotations(spec)
    labels, image = _container_meta(meta)
    inode = oci.container_netns_inode(spec, pid, self_inode)
    netns = ns_id(inode) if inode is not None else None
    ident = cri.kube_identity(annotations, labels)
    model_id = container_id(namespace, cid)
    pod = shares = None
    name = cid
    if ident is not None:
        sandbox = cid if ident.kind == cri.SANDBOX else ident.sandbox_id
        pod = pod_id(namespace, sandbox) if sandbox else None
        name = ident.container_name or cri.KUBE_INFRA_NAME
        if ident.kind == cri.SANDBOX:
            out.pods.append(Pod(
                id=pod_id(namespace, cid), pod_id=cid, name=ident.pod_name or cid,
                runtime="containerd", netns=netns, kube_namespace=ident.pod_namespace,
                kube_uid=ident.pod_uid, infra_container=model_id,
                labels=cri.identity_labels(labels, annotations)))
        elif ident.sandbox_id:
            shares = container_id(namespace, ident.sandbox_id)
        image = image or ident.image or ""
    out.containers.append(Container(
        id=model_id, container_id=cid, name=name, image=image, pid=pid, netns=netns,
        network_mode=_network_mode(spec, shares), shares_netns_with=shares,
        runtime="containerd", runtime_namespace=namespace, pod=pod,
        infra=ident is not None and ident.kind == cri.SANDBOX,
        kube_name=ident.container_name if ident else None,
        labels=cri.identity_labels(labels, annotations)))


def _network_mode(spec: dict, shares: str | None) -> str:
    if shares:
        return "pod"
    if not oci.spec_has_netns(spec):
        return "host"
    path = oci.spec_netns_path(spec)
    return f"netns:{path}" if path else "private"


def container_id(namespace: str, cid: str) -> str:
    """The model id of a containerd container: ids are only unique within a namespace."""
    return f"container:containerd/{namespace}/{cid}"


def pod_id(namespace: str, sandbox_id: str) -> str:
    return f"pod:containerd/{namespace}/{sandbox_id}"


def read_all(self_inode: int, commands: list[list[str]]) -> Found:
    """Every containerd instance's containers and pods, and what could not be read
    (`commands`: the command lines of the running `containerd` processes)."""
    out = Found()
    for instance in instances(commands):
        found = read_instance(instance, self_inode)
        out.containers += found.containers
        out.pods += found.pods
        out.problems += found.problems
    return out
