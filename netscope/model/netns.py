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


@dataclass(frozen=True)
class Container:
    """A running Docker container and the namespace it uses.

    `netns` is None when its namespace could not be resolved (the pid vanished).
    `shares_netns_with` names the container whose namespace it joined (`--network container:X`).
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
