"""cni_out_of_range: a pod's address is outside the ranges of the CNI network it is on."""

from __future__ import annotations

from netscope.analysis.doctor.finding import Check, where
from netscope.graph.host import HostGraph
from netscope.model.cni import in_range


def run(graph: HostGraph):
    if not graph.collected("cni"):
        return
    for pod in graph.snapshot.pods:
        if pod.netns is None:
            continue
        for allocation in graph.cni_allocations_in(pod.netns):
            ranges = graph.cni_ranges(allocation.network)
            link = graph.link_named(pod.netns, allocation.ifname or "eth0")
            addresses = graph.addresses_on(link.id) if link else []
            for a in addresses:
                if a.scope != "global" or in_range(a.address, ranges) is not False:
                    continue
                configured = ", ".join(r.subnet for r in ranges)
                files = ", ".join(n.path for n in graph.cni_networks_named(allocation.network))
                yield CHECK.finding(
                    where(graph, pod.netns, link.name),
                    f"pod {pod.display_name} has {a.address} on {link.name}, outside the "
                    f"ranges of its CNI network {allocation.network} ({configured}; {files})",
                    evidence=(a.id, allocation.id), subject=pod.netns)


CHECK = Check(
    id="cni_out_of_range", severity="warning",
    title="a pod's address is outside its CNI network's range",
    explain="The CNI configuration now says the network's pods get addresses from another "
            "range than this pod has: the file was edited (or replaced by another network "
            "plugin's) after the pod started. Routes, masquerade rules and network policies "
            "written for the configured range (the CNI bridge's gateway address, kube-proxy's "
            "--cluster-cidr, the overlay's routes) no longer cover the pod, so its traffic "
            "can be dropped or leave without NAT. Recreate the pod so CNI gives it an address "
            "from the current range, or restore the configuration that matches the running "
            "pods.",
    run=run)
