"""What a netfilter verdict means on a Kubernetes node, in words: the Service it went through,
the endpoint a random choice picked, the NetworkPolicy chain that dropped it and whose pod
that chain guards. Read from what kube-proxy, kube-router and Calico write (chain names,
rule and element comments: netscope.model.k8s_chains)."""

from __future__ import annotations

from netscope.analysis.path.netfilter import Verdict
from netscope.analysis.path.nf_sets import RulesetIndex
from netscope.graph.host import HostGraph
from netscope.model.k8s_chains import policy_chain, service_in, service_in_label
from netscope.model.netfilter import NfChain

NO_ENDPOINT_MAPS = {"no-endpoint-services": "service", "no-endpoint-nodeports": "NodePort"}


def _chains(v: Verdict, index: RulesetIndex) -> list[NfChain]:
    """The chains the verdict's evaluation went through, last first."""
    return [c for cid in reversed(v.traversed) if (c := index.by_id.get(cid)) is not None]


def service_of(v: Verdict, index: RulesetIndex) -> str | None:
    """The Service port ("ns/svc:port") whose rules decided `v`, if kube-proxy's were."""
    if v.rule is not None and (svc := service_in(v.rule.comment)):
        return svc
    for _, element in reversed(v.elements):
        if svc := service_in(element.comment):
            return svc
    return next((svc for c in _chains(v, index) if (svc := service_in_label(c.label))), None)


def endpoint_of(v: Verdict, index: RulesetIndex) -> str | None:
    """"endpoint 10.0.0.5:80 of service ns/svc:port" for a verdict that went through
    kube-proxy's endpoint chain (KUBE-SEP-*, endpoint-*)."""
    for c in _chains(v, index):
        label = c.label or ""
        if label.startswith("kube-proxy: endpoint "):
            return label.removeprefix("kube-proxy: ")
    return None


def choice_words(v: Verdict, index: RulesetIndex) -> str:
    """What one option of a random choice leads to, in words (a Branch's `choice`)."""
    endpoint = endpoint_of(v, index)
    if endpoint:
        return endpoint
    if v.nat is not None:
        return f"{v.nat[0].upper()} to {v.nat[1].nat_to}"
    return f"no endpoint picked ({v.verdict})"


def drop_words(v: Verdict, index: RulesetIndex, graph: HostGraph) -> str | None:
    """Why a drop/reject verdict happened in Kubernetes' words, or None: a NetworkPolicy
    chain ("dropped by policy chain KUBE-POD-FW-X of default/web-0"), or a Service without
    (local) endpoints, or outside its loadBalancerSourceRanges."""
    deciding = [v.chain] if v.chain is not None else []
    for c in deciding + _chains(v, index):
        policy = policy_chain(c.name, c.rules)
        if policy is None:
            continue
        whose = policy.pod
        if whose is None and policy.interface:
            whose = _pod_behind(graph, c.netns, policy.interface)
        if whose is None and c.label:
            whose = c.label.partition(": ")[2]
        return f"dropped by policy chain {c.name}" + (f" of {whose}" if whose else "")
    comment = v.rule.comment if v.rule is not None else None
    svc = service_of(v, index)
    if comment and svc:
        for words in ("has no local endpoints", "has no endpoints"):
            if words in comment:
                return f"service {svc} {words}"
        if "traffic not accepted by" in comment:
            return f"service {svc}: the source is not in its loadBalancerSourceRanges"
    for set_id, element in reversed(v.elements):
        kind = NO_ENDPOINT_MAPS.get(set_id.rpartition("/")[2])
        if kind and element.comment:
            local = " local" if element.value == "drop" else ""
            return f"{kind} of service {element.comment} has no{local} endpoints" \
                if kind == "NodePort" else f"service {element.comment} has no{local} endpoints"
    return None


def _pod_behind(graph: HostGraph, netns: str, interface: str) -> str | None:
    """The namespace at the far end of a host-side veth (a Calico workload interface)."""
    link = graph.link_named(netns, interface)
    peer = graph.veth_peer(link) if link is not None else None
    return graph.ns_name(peer.netns) if peer is not None else None
