"""CNI made visible: the configurations runtimes load, and which namespace holds each address
host-local allocated.

Configuration directories: /etc/cni/net.d, and the ones each running containerd (its CRI
plugin's `conf_dir`) and CRI-O (`network_dir`) is configured with. An allocation's container
id is the one the runtime passed to CNI: a pod sandbox's id for CRI runtimes, the container's
for Podman with CNI; it is tied to the namespace of that sandbox or container, else to the
namespace whose interface `ifname` holds the address.
"""

from __future__ import annotations

from dataclasses import replace

from netscope.collect.base import HostContext
from netscope.host import cni, containerd, crio
from netscope.model import CniAllocation


class CniCollector:
    name = "cni"
    fields = ("cni_networks", "cni_allocations")

    def can_run(self) -> str | None:
        return None

    def conf_dirs(self, ctx: HostContext) -> list[str]:
        dirs = [cni.DEFAULT_CONF_DIR]
        dirs += [i.cni_conf_dir for i in containerd.instances(ctx.commands("containerd"))
                 if i.cni_conf_dir]
        dirs += [crio.network_dir_from_argv(argv) for argv in ctx.commands("crio")]
        return list(dict.fromkeys(d.rstrip("/") or "/" for d in dirs))

    def collect(self, ctx: HostContext) -> dict[str, list]:
        networks = [n for d in self.conf_dirs(ctx) for n in cni.read_conf_dir(d)]
        allocations = [replace(a, netns=_holder(a, ctx)) for a in cni.read_allocations(networks)]
        return {"cni_networks": networks, "cni_allocations": allocations}


def _holder(allocation: CniAllocation, ctx: HostContext) -> str | None:
    """The namespace holding an allocated address (see the module docstring), or None."""
    for pod in ctx.objects.get("pods", ()):
        if pod.pod_id == allocation.container_id and pod.netns:
            return pod.netns
    for c in ctx.objects.get("containers", ()):
        if c.container_id == allocation.container_id and c.netns:
            return c.netns
    links = {link.id: link for link in ctx.objects.get("links", ())}
    for a in ctx.objects.get("addresses", ()):
        if a.address != allocation.address:
            continue
        link = links.get(a.link)
        if allocation.ifname is None or (link is not None and link.name == allocation.ifname):
            return a.netns
    return None
