"""Kubernetes' chains on a node, recognised by the names and comments their writers give them.

kube-proxy (Services) and the iptables-based NetworkPolicy implementations cannot run here;
their formats are public and stable, and this module reads them as they write them:

- kube-proxy, iptables mode: kubernetes/kubernetes pkg/proxy/iptables/proxier.go. Chains
  KUBE-SERVICES, KUBE-NODEPORTS, KUBE-SVC-<hash> (a service port, picks an endpoint),
  KUBE-SVL-<hash> (its local endpoints), KUBE-SEP-<hash> (one endpoint: the DNAT),
  KUBE-EXT-<hash> (external traffic), KUBE-FW-<hash> (loadBalancerSourceRanges),
  KUBE-MARK-MASQ / KUBE-POSTROUTING (the 0x4000 masquerade mark); rule comments name the
  service port: "ns/svc:port cluster IP", "ns/svc:port -> 10.0.0.5:80", "ns/svc:port has no
  endpoints".
- kube-proxy, nftables mode: pkg/proxy/nftables/proxier.go. Table `ip kube-proxy` (or ip6),
  chains `service-<hash>-<ns>/<svc>/<proto>/<port>`, `endpoint-<hash>-<ns>/<svc>/<proto>/
  <port>__<ip>/<port>`, `external-...`, `firewall-...`; element comments "ns/svc:port".
- kube-router (github.com/cloudnativelabs/kube-router pkg/controllers/netpol): KUBE-POD-FW-
  <hash> per pod ("rule to REJECT traffic destined for POD name:<pod> namespace: <ns>"),
  KUBE-NWPLCY-<hash> per NetworkPolicy ("... selected by policy name <p> namespace <ns>").
- Calico (projectcalico/calico felix/rules): cali-tw-<iface> / cali-fw-<iface> (to / from a
  workload's host-side veth), cali-pi-* / cali-po-* (a policy's ingress / egress rules).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # model.netfilter imports this module for chain_label
    from netscope.model.netfilter import NfRule

SERVICE_PORT = re.compile(r"(?<![\w.-])([a-z0-9][-a-z0-9.]*)/([a-z0-9][-a-z0-9.]*):([-a-z0-9]*)")
# nft mode: service-ULMVA6XW-ns1/svc1/tcp/p80, endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80
NFT_SERVICE_CHAIN = re.compile(
    r"^(service|external|endpoint|firewall)-[A-Z0-9]+-([^/]+)/([^/]+)/([a-z]+)/([^_/]*)"
    r"(?:__(.+)/(\d+))?$")
POD_IN_COMMENT = re.compile(r"POD name:\s*(\S+)\s+namespace:\s*(\S+)")
POLICY_IN_COMMENT = re.compile(r"policy name (\S+) namespace (\S+)")
KUBE_PROXY_TABLE = "kube-proxy"
MASQUERADE_MARK = 0x4000

KUBE_PROXY_FIXED = {
    "KUBE-SERVICES": "kube-proxy: the service portals (ClusterIP, external and load-balancer "
                     "IPs)",
    "KUBE-NODEPORTS": "kube-proxy: NodePort services (and health-check node ports)",
    "KUBE-POSTROUTING": "kube-proxy: masquerades connections carrying the 0x4000 mark",
    "KUBE-MARK-MASQ": "kube-proxy: marks a connection for masquerading (0x4000)",
    "KUBE-MARK-DROP": "kube-proxy (old versions): marks a packet to be dropped (0x8000)",
    "KUBE-FORWARD": "kube-proxy: accepts forwarded service traffic (marked or established)",
    "KUBE-EXTERNAL-SERVICES": "kube-proxy: drops external traffic to services without a local "
                              "endpoint (externalTrafficPolicy: Local)",
    "KUBE-FIREWALL": "kube-proxy (and kubelet): drops martian traffic to 127.0.0.0/8",
    "KUBE-PROXY-FIREWALL": "kube-proxy: loadBalancerSourceRanges drops",
    "KUBE-PROXY-CANARY": "kube-proxy: canary (tells it when its rules were flushed)",
    "KUBE-KUBELET-CANARY": "kubelet: canary (tells it when its rules were flushed)",
}
KUBE_PROXY_PER_SERVICE = {
    "KUBE-SVC-": "kube-proxy: service {svc}: picks one of its endpoints",
    "KUBE-SVL-": "kube-proxy: service {svc}: its endpoints on this node (traffic policy Local)",
    "KUBE-SEP-": "kube-proxy: endpoint {endpoint} of service {svc}",
    "KUBE-EXT-": "kube-proxy: service {svc}: traffic to its external addresses",
    "KUBE-FW-": "kube-proxy: service {svc}: loadBalancerSourceRanges firewall",
}
NFT_FIXED = {
    "services": "kube-proxy: the service portals (vmap @service-ips, @service-nodeports)",
    "mark-for-masquerade": "kube-proxy: marks a connection for masquerading (0x4000)",
    "masquerading": "kube-proxy: masquerades connections carrying the 0x4000 mark",
    "reject-chain": "kube-proxy: rejects connections to services without endpoints",
    "service-endpoints-check": "kube-proxy: services without endpoints "
                               "(vmap @no-endpoint-services)",
    "nodeport-endpoints-check": "kube-proxy: NodePorts without endpoints "
                                "(vmap @no-endpoint-nodeports)",
    "cluster-ips-check": "kube-proxy: rejects unknown ports of ClusterIPs, drops unallocated "
                         "ClusterIPs",
    "firewall-check": "kube-proxy: loadBalancerSourceRanges (vmap @firewall-ips)",
    "nat-prerouting": "kube-proxy: new connections go to the service portals",
    "nat-output": "kube-proxy: new connections go to the service portals",
    "nat-postrouting": "kube-proxy: masquerading of marked connections",
    "filter-prerouting-pre-dnat": "kube-proxy: loadBalancerSourceRanges, before DNAT",
    "filter-output-pre-dnat": "kube-proxy: loadBalancerSourceRanges, before DNAT",
    "filter-forward": "kube-proxy: services without endpoints, unknown ClusterIPs",
    "filter-input": "kube-proxy: services and NodePorts without endpoints",
    "filter-output": "kube-proxy: services without endpoints, unknown ClusterIPs",
}
NFT_PER_SERVICE = {
    "service": "kube-proxy: service {svc}: picks one of its endpoints",
    "external": "kube-proxy: service {svc}: traffic to its external addresses",
    "endpoint": "kube-proxy: endpoint {endpoint} of service {svc}",
    "firewall": "kube-proxy: service {svc}: loadBalancerSourceRanges firewall",
}


@dataclass(frozen=True)
class PolicyChain:
    """A chain that enforces NetworkPolicy on this node: who wrote it (`writer`), and which
    pod it guards, by name ("ns/pod", from the writer's comments) or by the host-side
    interface of its veth (Calico names the chain after it)."""

    writer: str
    pod: str | None = None
    interface: str | None = None
    direction: str | None = None  # "ingress" (to the pod) or "egress" (from it)


def service_in(text: str | None) -> str | None:
    """The "namespace/name:port" a kube-proxy comment names, or None."""
    m = SERVICE_PORT.search(text or "")
    return f"{m[1]}/{m[2]}:{m[3]}" if m else None


def service_in_label(label: str | None) -> str | None:
    """The service a chain label of kube_chain_label names ("... service ns/svc:port ...")."""
    head, found, tail = (label or "").partition("service ")
    return service_in(tail) if found and head.startswith("kube-proxy") else None


def _endpoint_of(rules: Sequence[NfRule]) -> str | None:
    return next((r.nat_to for r in rules if r.action == "dnat" and r.nat_to), None)


def kube_chain_label(table: str, name: str, rules: Sequence[NfRule]) -> str | None:
    """What a chain kube-proxy made is for, naming its service; None if it is not one."""
    if name == "KUBE-SERVICES" and table == "filter":
        return "kube-proxy: rejects connections to services without endpoints"
    if name in KUBE_PROXY_FIXED:
        return KUBE_PROXY_FIXED[name]
    for prefix, words in KUBE_PROXY_PER_SERVICE.items():
        if name.startswith(prefix):
            svc = next((s for r in rules if (s := service_in(r.comment))), None) or "?"
            return words.format(svc=svc, endpoint=_endpoint_of(rules) or "?")
    if table != KUBE_PROXY_TABLE:
        return None
    if name in NFT_FIXED:
        return NFT_FIXED[name]
    m = NFT_SERVICE_CHAIN.match(name)
    if m:
        svc = f"{m[2]}/{m[3]}:{m[5]}"
        endpoint = f"{m[6]}:{m[7]}" if m[6] else (_endpoint_of(rules) or "?")
        return NFT_PER_SERVICE[m[1]].format(svc=svc, endpoint=endpoint)
    return None


def policy_chain(name: str, rules: Sequence[NfRule]) -> PolicyChain | None:
    """The NetworkPolicy enforcement a chain is part of, or None."""
    if name.startswith("KUBE-POD-FW-"):
        pod = next((f"{m[2]}/{m[1]}" for r in rules
                    if (m := POD_IN_COMMENT.search(r.comment or ""))), None)
        return PolicyChain("kube-router", pod=pod)
    if name.startswith("KUBE-NWPLCY-"):
        return PolicyChain("kube-router")
    for prefix, direction in (("cali-tw-", "ingress"), ("cali-fw-", "egress")):
        if name.startswith(prefix):
            return PolicyChain("Calico", interface=name[len(prefix):], direction=direction)
    if name.startswith(("cali-pi-", "cali-po-")):
        return PolicyChain("Calico", direction="ingress" if name[5] == "i" else "egress")
    return None


def policy_label(name: str, rules: Sequence[NfRule]) -> str | None:
    """What a NetworkPolicy chain is for, in words; None if it is not one."""
    chain = policy_chain(name, rules)
    if chain is None:
        return None
    if name.startswith("KUBE-NWPLCY-"):
        policy = next((f"{m[2]}/{m[1]}" for r in rules
                       if (m := POLICY_IN_COMMENT.search(r.comment or ""))), None)
        return f"kube-router: NetworkPolicy {policy or '(default)'}"
    if chain.pod:
        return f"{chain.writer}: NetworkPolicy firewall of pod {chain.pod}"
    if chain.interface:
        to = "to" if chain.direction == "ingress" else "from"
        return f"{chain.writer}: NetworkPolicy {chain.direction} {to} the workload on " \
               f"{chain.interface}"
    return f"{chain.writer}: a NetworkPolicy's {chain.direction} rules"


def k8s_chain_label(table: str, name: str, rules: Sequence[NfRule]) -> str | None:
    """kube-proxy's or a NetworkPolicy implementation's meaning of a chain, or None."""
    return kube_chain_label(table, name, rules) or policy_label(name, rules)
