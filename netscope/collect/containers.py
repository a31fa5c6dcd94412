"""Docker containers, mapped to the namespaces they use (absent Docker is not an error)."""

from __future__ import annotations

from netscope.host import docker
from netscope.host.netns import pid_ns_inode
from netscope.model import Container, ns_id


def collect_containers(self_inode: int) -> list[Container]:
    """Running containers with their namespace id. Raises docker.DockerUnavailable."""
    raw = docker.list_containers()
    out = []
    for c in raw:
        mode = c["network_mode"]
        if mode == "host":
            inode: int | None = self_inode
        else:
            inode = pid_ns_inode(c["pid"]) if c["pid"] > 0 else None
        shares = None
        if mode.startswith("container:"):
            shares = "container:" + mode.split(":", 1)[1]
        out.append(Container(
            id=f"container:{c['container_id']}",
            container_id=c["container_id"],
            name=c["name"],
            image=c["image"],
            pid=c["pid"],
            netns=ns_id(inode) if inode is not None else None,
            network_mode=mode,
            networks=tuple(c["networks"]),
            shares_netns_with=shares,
            ports=tuple(c["ports"]),
        ))
    return sorted(out, key=lambda c: c.name)
