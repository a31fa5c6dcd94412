"""A recorded snapshot with a Kubernetes pod in it, for tests that need no root."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from netscope.model import CniAllocation, CniNetwork, CniPlugin, CniRange, Container, Pod
from netscope.snapshot import load

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SANDBOX = "5f" * 32


def with_a_pod():
    """docker-engine.json with one container's namespace turned into a Kubernetes pod's (its
    Docker container replaced by the pod's sandbox and one container, as the containerd
    reader records them), a CNI network and its allocation."""
    snap = load(str(FIXTURES / "docker-engine.json"))
    netns = next(c.netns for c in snap.containers if c.netns)
    address = next(a.address for a in snap.addresses if a.netns == netns and a.scope == "global")
    pod = Pod(id=f"pod:containerd/k8s.io/{SANDBOX}", pod_id=SANDBOX, name="payments-api-7d9f",
              runtime="containerd", netns=netns, kube_namespace="billing",
              kube_uid="0e6a3c2d-1111-4c3e-9b1e-2a2f7c7e0a11",
              infra_container=f"container:containerd/k8s.io/{SANDBOX}",
              labels={"io.kubernetes.pod.name": "payments-api-7d9f",
                      "io.cri-containerd.kind": "sandbox", "team": "payments-squad"})
    member = Container(id="container:containerd/k8s.io/" + "6a" * 32, container_id="6a" * 32,
                       name="ledger", image="registry.corp/ledger:3", pid=1, netns=netns,
                       network_mode="pod", shares_netns_with=pod.infra_container,
                       runtime="containerd", runtime_namespace="k8s.io", pod=pod.id,
                       kube_name="ledger", labels={"io.cri-containerd.kind": "container"})
    infra = Container(id=pod.infra_container, container_id=SANDBOX, name="POD", image="",
                      pid=1, netns=netns, network_mode="netns:/run/netns/cni-1",
                      runtime="containerd", runtime_namespace="k8s.io", pod=pod.id, infra=True,
                      labels={"io.cri-containerd.kind": "sandbox"})
    network = CniNetwork(id="cni:/etc/cni/net.d/10-corp.conflist", name="corpnet",
                         path="/etc/cni/net.d/10-corp.conflist", in_use=True,
                         plugins=(CniPlugin("bridge", "host-local"),),
                         ranges=(CniRange(address.rsplit(".", 1)[0] + ".0/24"),))
    allocation = CniAllocation(id=f"cniip:corpnet/{address}", network="corpnet",
                               address=address, container_id=SANDBOX, ifname="eth0",
                               netns=netns, path=f"/var/lib/cni/networks/corpnet/{address}")
    namespaces = tuple(dataclasses.replace(ns, name="billing/payments-api-7d9f")
                       if ns.id == netns else ns for ns in snap.namespaces)
    return dataclasses.replace(snap, namespaces=namespaces, pods=(pod,),
                               containers=(*(c for c in snap.containers if c.netns != netns),
                                           infra, member),
                               cni_networks=(network,), cni_allocations=(allocation,)), address
