"""cni_leaked_address: host-local keeps an address for a container whose namespace is gone."""

from __future__ import annotations

from netscope.analysis.doctor.finding import Check
from netscope.graph.host import HostGraph


def run(graph: HostGraph):
    if not graph.collected("cni"):
        return
    for a in graph.snapshot.cni_allocations:
        if a.netns is not None:
            continue
        owners = graph.address_owners(a.address)
        if owners:
            continue  # held by some interface after all: a stale id, not a lost address
        yield CHECK.finding(
            f"{a.network}/{a.address}",
            f"{a.address} of CNI network {a.network} is allocated to container "
            f"{a.container_id[:12]}{' (' + a.ifname + ')' if a.ifname else ''}, but no "
            f"namespace holds it: the allocation outlived its pod",
            evidence=(a.id, a.path), subject=a.id)


CHECK = Check(
    id="cni_leaked_address", severity="warning",
    title="a CNI address is allocated to a namespace that is gone",
    explain="host-local records every address it hands out as a file named after the address "
            "(in /var/lib/cni/networks/<network>/, or the configured dataDir), holding the "
            "container id the runtime passed to CNI. The runtime releases it with CNI DEL "
            "when the pod goes; when that never happens (the runtime crashed, the node "
            "rebooted, the namespace was deleted by hand) the file stays, and the range "
            "slowly runs out: new pods then fail with \"no IP addresses available in range\". "
            "Check that no pod uses the id (crictl pods / ctr -n k8s.io c ls), then remove "
            "the file. netscope does not remove it for you.",
    run=run)
