"""Network namespaces and the containers that live in them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NsOrigin:
    """One place a namespace was found: how netscope can name and enter it.

    kind is "self" (the namespace netscope runs in), "named" (/run/netns), "docker"
    (/var/run/docker/netns) or "proc" (/proc/<pid>/ns/net, with pid and comm).
    """

    kind: str
    path: str
    pid: int | None = None
    comm: str | None = None


@dataclass(frozen=True)
class Namespace:
    """A network namespace, keyed by its nsfs inode (`ns:<inode>`)."""

    id: str
    inode: int
    name: str
    origins: tuple[NsOrigin, ...] = ()
    is_self: bool = False
    sysctls: dict[str, str] = field(default_factory=dict)
    # the node it is on, in a cluster document (None in a host snapshot)
    node: str | None = None


# the container runtimes netscope reads (Container.runtime, Pod.runtime)
RUNTIMES = ("docker", "podman", "containerd", "cri-o")


@dataclass(frozen=True)
class Container:
    """A running container of any runtime and the namespace it uses.

    `netns` is None when its namespace could not be resolved (the pid vanished).
    `shares_netns_with` names the container whose namespace it joined (`--network container:X`).
    `runtime` is one of RUNTIMES (snapshots before it existed held Docker's only);
    `runtime_namespace` the containerd namespace it lives in (`k8s.io`, `moby`, ...).
    `pod` is the id of the Pod it belongs to, `infra` True for the pod's infra (sandbox,
    "pause") container, which holds the namespace; `kube_name` is the Kubernetes container
    name (`io.kubernetes.cri.container-name` / `io.kubernetes.container.name`).
    `labels` holds the runtime's labels and annotations that say what the container is.
    """

    id: str
    container_id: str
    name: str
    image: str
    pid: int
    netns: str | None
    network_mode: str
    networks: tuple[str, ...] = ()
    shares_netns_with: str | None = None
    ports: tuple[str, ...] = ()
    runtime: str = "docker"
    runtime_namespace: str | None = None
    pod: str | None = None
    infra: bool = False
    kube_name: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Pod:
    """Containers that share one network namespace: a Podman pod, or a Kubernetes pod
    sandbox run by containerd or CRI-O (named from the CRI annotations and labels the runtime
    wrote, without asking a cluster).

    `name` is the Podman pod name or the Kubernetes pod name; `kube_namespace` and `kube_uid`
    are set for Kubernetes pods, whose display name is `<kube_namespace>/<name>`.
    `infra_container` is the id of the Container holding the namespace (when there is one).
    `ports` are published ports ("0.0.0.0:8080->80/tcp"), `networks` the runtime's networks.
    """

    id: str
    pod_id: str
    name: str
    runtime: str
    netns: str | None
    kube_namespace: str | None = None
    kube_uid: str | None = None
    infra_container: str | None = None
    ports: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        """`namespace/pod` for a Kubernetes pod, the pod's name for a Podman pod."""
        return f"{self.kube_namespace}/{self.name}" if self.kube_namespace else self.name
