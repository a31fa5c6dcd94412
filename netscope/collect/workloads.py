"""Containers and pods of every runtime, tied to the namespaces they use.

One collector per runtime (Docker, Podman, containerd, CRI-O), each registered in
registry.HOST_COLLECTORS; a runtime that is not installed finds nothing. `merge_workloads`
then keeps one record per container when two runtimes report the same one (Docker's
containers also live in containerd's `moby` namespace; $DOCKER_HOST may point at Podman's
Docker-compatible socket): the runtime that knows more about it wins.
"""

from __future__ import annotations

from dataclasses import replace

from netscope.collect.base import HostContext
from netscope.host import containerd, crio, docker, podman
from netscope.host.netns import pid_ns_inode
from netscope.model import Container, Pod, ns_id

# who describes a container best when several report it: pods and labels beat plain names
_PREFERENCE = {"podman": 0, "cri-o": 0, "docker": 1, "containerd": 2}


class DockerCollector:
    name = "docker"
    fields = ("containers",)

    def can_run(self) -> str | None:
        return None

    def collect(self, ctx: HostContext) -> dict[str, list]:
        if not docker.docker_socket_present():
            return {}
        try:
            raw = docker.list_containers()
        except docker.DockerUnavailable as e:
            ctx.error(self.name, str(e))
            return {}
        return {"containers": [_docker_container(c, ctx.self_inode) for c in raw]}


def _docker_container(c: dict, self_inode: int) -> Container:
    mode = c["network_mode"]
    if mode == "host":
        inode: int | None = self_inode
    else:
        inode = pid_ns_inode(c["pid"]) if c["pid"] > 0 else None
    shares = None
    if mode.startswith("container:"):
        shares = "container:" + mode.split(":", 1)[1]
    return Container(
        id=f"container:{c['container_id']}", container_id=c["container_id"], name=c["name"],
        image=c["image"], pid=c["pid"], netns=ns_id(inode) if inode is not None else None,
        network_mode=mode, networks=tuple(c["networks"]), shares_netns_with=shares,
        ports=tuple(c["ports"]), runtime="docker")


class _RuntimeCollector:
    """A runtime whose host reader returns containers, pods and problems."""

    name = ""
    fields = ("containers", "pods")

    def can_run(self) -> str | None:
        return None

    def read(self, ctx: HostContext):
        raise NotImplementedError

    def collect(self, ctx: HostContext) -> dict[str, list]:
        found = self.read(ctx)
        for problem in found.problems:
            ctx.error(self.name, problem)
        return {"containers": found.containers, "pods": found.pods}


class PodmanCollector(_RuntimeCollector):
    name = "podman"

    def read(self, ctx: HostContext):
        return podman.read(ctx.self_inode)


class ContainerdCollector(_RuntimeCollector):
    name = "containerd"

    def read(self, ctx: HostContext):
        return containerd.read_all(ctx.self_inode, ctx.commands("containerd"))


class CrioCollector(_RuntimeCollector):
    name = "cri-o"

    def read(self, ctx: HostContext):
        return crio.read(ctx.self_inode, crio.runroots(ctx.commands("crio")))


def merge_workloads(containers: list[Container], pods: list[Pod]
                    ) -> tuple[list[Container], list[Pod]]:
    """One record per container id (the best-informed runtime's), sorted by name; pods
    whose id repeats kept once."""
    best: dict[str, Container] = {}
    for c in containers:
        held = best.get(c.container_id)
        if held is None or _PREFERENCE.get(c.runtime, 9) < _PREFERENCE.get(held.runtime, 9):
            best[c.container_id] = c
    kept_ids = {c.id for c in best.values()}
    # a container that joined one dropped as a duplicate now points at the survivor
    by_cid = {c.container_id: c.id for c in best.values()}
    out = []
    for c in best.values():
        shares = c.shares_netns_with
        if shares and shares not in kept_ids:
            other = shares.rsplit("/", 1)[-1].removeprefix("container:")
            if other in by_cid:
                c = replace(c, shares_netns_with=by_cid[other])
        out.append(c)
    unique_pods = list({p.id: p for p in pods}.values())
    return (sorted(out, key=lambda c: (c.name, c.id)),
            sorted(unique_pods, key=lambda p: (p.display_name, p.id)))
