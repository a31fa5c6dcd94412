"""Workloads in the host graph: containers and pods of every runtime <-> their namespaces,
the names they are known by (`namespace/pod` for Kubernetes), and CNI's allocations.

A part of HostGraph (it inherits these accessors); kept apart so that the graph's module stays
readable. Every index is built on first use from `self.snapshot`.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cached_property

from netscope.model import CniAllocation, CniNetwork, CniRange, Container, Pod, Snapshot
from netscope.model.labels import cni_allocation_text, container_text, pod_text


def _group(items, key) -> dict:
    out: dict = defaultdict(list)
    for item in items:
        out[key(item)].append(item)
    return dict(out)


class WorkloadRelations:
    """Pods, containers and CNI allocations by namespace, and workload names."""

    snapshot: Snapshot

    @cached_property
    def pods(self) -> dict[str, Pod]:
        """Pods by model id."""
        return {p.id: p for p in self.snapshot.pods}

    @cached_property
    def _pods_by_ns(self) -> dict[str, list[Pod]]:
        return _group((p for p in self.snapshot.pods if p.netns), lambda x: x.netns)

    @cached_property
    def _members(self) -> dict[str, list[Container]]:
        return _group((c for c in self.snapshot.containers if c.pod), lambda x: x.pod)

    @cached_property
    def _allocations_by_ns(self) -> dict[str, list[CniAllocation]]:
        return _group((a for a in self.snapshot.cni_allocations if a.netns),
                      lambda x: x.netns)

    @cached_property
    def _cni_by_name(self) -> dict[str, list[CniNetwork]]:
        return _group(self.snapshot.cni_networks, lambda x: x.name)

    @cached_property
    def _runtime_ids(self) -> dict[str, str]:
        """Runtime container and pod ids (full) -> the name to show."""
        out = {}
        for c in self.snapshot.containers:
            out[c.container_id] = self.container_name(c)
        for p in self.snapshot.pods:
            out[p.pod_id] = p.display_name
        return out

    def pods_in(self, netns: str) -> list[Pod]:
        """The pods whose namespace this is (a pod holds one; several only after a bug)."""
        return self._pods_by_ns.get(netns, [])

    def pod_members(self, pod: Pod | str) -> list[Container]:
        """The containers of a pod, its infra (sandbox) container included."""
        return self._members.get(pod if isinstance(pod, str) else pod.id, [])

    def pod_of(self, container: Container) -> Pod | None:
        return self.pods.get(container.pod) if container.pod else None

    def container_name(self, c: Container) -> str:
        """How a container is named: `namespace/pod/container` for a Kubernetes pod's
        container, the pod's name for its sandbox, else the runtime's name."""
        pod = self.pod_of(c)
        if pod is None:
            return c.name
        if c.infra or not c.kube_name:
            return pod.display_name if c.infra or pod.kube_namespace else c.name
        return f"{pod.display_name}/{c.kube_name}"

    def workload_names(self, netns: str) -> list[str]:
        """Who runs in a namespace, by name: its pods, then containers that hold it."""
        names = [p.display_name for p in self.pods_in(netns)]
        names += [c.name for c in self.snapshot.containers
                  if c.netns == netns and not c.shares_netns_with and not c.infra
                  and not c.pod]
        return names

    def workload_named_by_id(self, runtime_id: str) -> str | None:
        """The name of the container or pod sandbox with this full runtime id (what runtimes
        write in rule comments and CNI's allocation files), or None."""
        return self._runtime_ids.get(runtime_id)

    def workload_namespaces(self, name: str) -> list[str]:
        """Namespaces a workload name designates: `namespace/pod`, a pod's name (Podman, or a
        Kubernetes pod name alone), `namespace/pod/container`, a pod id prefix (6+ chars)."""
        by_id = len(name) >= 6
        found = [p.netns for p in self.snapshot.pods if p.netns and (
            name in (p.display_name, p.name) or (by_id and p.pod_id.startswith(name)))]
        found += [c.netns for c in self.snapshot.containers
                  if c.netns and c.kube_name and self.container_name(c) == name]
        return list(dict.fromkeys(found))

    def cni_allocations_in(self, netns: str) -> list[CniAllocation]:
        return self._allocations_by_ns.get(netns, [])

    def cni_ranges(self, network: str) -> tuple[CniRange, ...]:
        """The IPAM ranges configured for a CNI network name."""
        return tuple(r for n in self.cni_networks_named(network) for r in n.ranges)

    def cni_networks_named(self, name: str) -> list[CniNetwork]:
        """The CNI configurations of a network name (one per directory that has it)."""
        return self._cni_by_name.get(name, [])


def workload_lines(graph: WorkloadRelations, netns: str) -> list[str]:
    """What runs in a namespace, as `show` and the TUI say it: its pods (with their
    containers), then the containers in no pod."""
    lines, in_pods = [], set()
    for pod in graph.pods_in(netns):
        members = graph.pod_members(pod)
        in_pods |= {c.id for c in members}
        lines.append(pod_text(pod, members))
    lines += [container_text(c) for c in graph.snapshot.containers
              if c.netns == netns and c.id not in in_pods]
    return lines


def allocation_lines(graph: WorkloadRelations, netns: str | None) -> list[str]:
    """The CNI allocations a namespace holds (None: those no namespace holds), as text."""
    allocations = (graph.cni_allocations_in(netns) if netns is not None else
                   [a for a in graph.snapshot.cni_allocations if a.netns is None])
    return [cni_allocation_text(a, graph.cni_ranges(a.network)) for a in allocations]
