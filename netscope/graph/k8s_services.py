"""Kubernetes Services as kube-proxy programmed them into one namespace's rules.

`kube_services(tables)` reads, from kube-proxy's iptables mode (nat KUBE-SERVICES,
KUBE-NODEPORTS, KUBE-SVC-*/KUBE-SEP-*, filter KUBE-SERVICES/KUBE-EXTERNAL-SERVICES) or its
nftables mode (table kube-proxy: the service-ips, service-nodeports, no-endpoint-services and
no-endpoint-nodeports maps and the service-/endpoint- chains), every service port with its
addresses, node ports, endpoints, and whether kube-proxy rejects it (no endpoints) or drops
its external traffic (externalTrafficPolicy: Local, no endpoint on this node). The relation
"service <-> the chains and rules that implement it" is HostGraph.kube_services.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from netscope.model.k8s_chains import KUBE_PROXY_TABLE, NFT_SERVICE_CHAIN, service_in
from netscope.model.netfilter import NfChain, NfRule, NfTable


@dataclass
class KubeService:
    """One service port ("ns/svc:port") on one node namespace.

    `addresses` are (kind, address, port) with kind "cluster IP", "external IP" or
    "loadbalancer IP"; `endpoints` "ip:port" as the DNATs write them. `no_endpoints`: kube-
    proxy rejects connections to it (no ready endpoint); `no_local_endpoints`: it drops
    external traffic (externalTrafficPolicy: Local, none on this node). `refused` counts
    the packets the REJECT/DROP rules saw (iptables counters; None where not counted).
    `evidence` holds the ids of the rules, chains and sets that say so.
    """

    netns: str
    name: str
    mode: str
    protocol: str = "tcp"
    addresses: list[tuple[str, str, int]] = field(default_factory=list)
    node_ports: list[int] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)
    no_endpoints: bool = False
    no_local_endpoints: bool = False
    refused: int | None = None
    evidence: list[str] = field(default_factory=list)

    @property
    def cluster_ip(self) -> str | None:
        return next((a for kind, a, _ in self.addresses if kind == "cluster IP"), None)

    @property
    def exposed(self) -> bool:
        """Reachable from outside the cluster: a NodePort, external or load-balancer IP."""
        return bool(self.node_ports) or any(k != "cluster IP" for k, _, _ in self.addresses)


def _value(rule: NfRule, field_name: str) -> str | None:
    m = next((m for m in rule.matches if m.field == field_name and not m.negated), None)
    return m.values[0] if m and m.values else None


def _address(text: str | None) -> str | None:
    try:
        return str(ipaddress.ip_interface(text).ip) if text else None
    except ValueError:
        return None


def kube_services(tables: list[NfTable]) -> list[KubeService]:
    """The service ports kube-proxy keeps in these tables (one namespace), by name order."""
    found: dict[str, KubeService] = {}
    for table in tables:
        if table.name == KUBE_PROXY_TABLE and table.backend == "nft":
            _from_nft(table, found)
        elif table.name in ("nat", "filter") and table.backend != "nft":
            _from_iptables(table, found)
    return sorted(found.values(), key=lambda s: s.name)


def _service(found: dict, netns: str, name: str, mode: str) -> KubeService:
    if name not in found:
        found[name] = KubeService(netns, name, mode)
    return found[name]


def _from_iptables(table: NfTable, found: dict[str, KubeService]) -> None:
    chains = {c.name: c for c in table.chains}
    for chain_name in ("KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-EXTERNAL-SERVICES"):
        chain = chains.get(chain_name)
        for rule in chain.rules if chain else ():
            name = service_in(rule.comment)
            if name is None or "health check" in (rule.comment or ""):
                continue
            s = _service(found, table.netns, name, "iptables")
            s.protocol = _value(rule, "proto") or s.protocol
            comment = rule.comment or ""
            port, address = _value(rule, "dport"), _address(_value(rule, "daddr"))
            kind = next((k for k in ("cluster IP", "external IP", "loadbalancer IP")
                         if comment.endswith(k)), None)
            if "has no endpoints" in comment or "has no local endpoints" in comment:
                local = "has no local endpoints" in comment
                s.no_local_endpoints |= local
                s.no_endpoints |= not local
                s.refused = (s.refused or 0) + (rule.packets or 0)
                s.evidence.append(rule.id)
                if chain_name == "KUBE-SERVICES" and address and port:
                    kind = "cluster IP"
                elif any(m.field == "daddr_type" for m in rule.matches) and port:
                    _add_port(s, int(port))
                    continue
            if chain_name == "KUBE-NODEPORTS" and port and address is None:
                _add_port(s, int(port))
                s.evidence.append(rule.id)
            elif kind and address and port and (kind, address, int(port)) not in s.addresses:
                s.addresses.append((kind, address, int(port)))
                s.evidence.append(rule.id)
            if rule.action == "jump" and rule.jump and rule.jump.startswith("KUBE-SVC-"):
                _endpoints_iptables(chains, chains.get(rule.jump), s)


def _add_port(s: KubeService, port: int) -> None:
    if port not in s.node_ports:
        s.node_ports.append(port)


def _endpoints_iptables(chains: dict[str, NfChain], svc: NfChain | None,
                        s: KubeService) -> None:
    if svc is None or svc.id in s.evidence:
        return
    s.evidence.append(svc.id)
    for rule in svc.rules:
        sep = chains.get(rule.jump or "")
        if sep is None or not sep.name.startswith("KUBE-SEP-"):
            continue
        for r in sep.rules:
            if r.action == "dnat" and r.nat_to and r.nat_to not in s.endpoints:
                s.endpoints.append(r.nat_to)


def _from_nft(table: NfTable, found: dict[str, KubeService]) -> None:
    chains = {c.name: c for c in table.chains}
    sets = {s.name: s for s in table.sets}
    for element in sets["service-ips"].elements if "service-ips" in sets else ():
        chain = (element.value or "").partition(" ")[2]
        m = NFT_SERVICE_CHAIN.match(chain)
        if m is None or len(element.key) != 3:
            continue
        s = _service(found, table.netns, f"{m[2]}/{m[3]}:{m[5]}", "nftables")
        s.protocol = element.key[1]
        kind = "cluster IP" if m[1] == "service" else "external IP"
        s.addresses.append((kind, element.key[0], int(element.key[2])))
        s.evidence.append(sets["service-ips"].id)
        target = chains.get(chain)
        if m[1] == "service" and target is not None:
            _endpoints_nft(chains, target, s)
    for element in sets["service-nodeports"].elements if "service-nodeports" in sets else ():
        m = NFT_SERVICE_CHAIN.match((element.value or "").partition(" ")[2])
        if m and len(element.key) == 2:
            _add_port(_service(found, table.netns, f"{m[2]}/{m[3]}:{m[5]}", "nftables"),
                      int(element.key[1]))
    for map_name in ("no-endpoint-services", "no-endpoint-nodeports"):
        nft_set = sets.get(map_name)
        for element in nft_set.elements if nft_set else ():
            name = service_in(element.comment)
            if name is None:
                continue
            s = _service(found, table.netns, name, "nftables")
            local = element.value == "drop"
            s.no_local_endpoints |= local
            s.no_endpoints |= not local
            s.evidence.append(nft_set.id)
            if map_name == "no-endpoint-nodeports" and len(element.key) == 2:
                _add_port(s, int(element.key[1]))
            elif len(element.key) == 3 and not local:
                entry = ("cluster IP", element.key[0], int(element.key[2]))
                if entry not in s.addresses and not s.addresses:
                    s.addresses.append(entry)


def _endpoints_nft(chains: dict[str, NfChain], svc: NfChain, s: KubeService) -> None:
    s.evidence.append(svc.id)
    for rule in svc.rules:
        for element in rule.lookup.elements if rule.lookup else ():
            target = chains.get((element.value or "").partition(" ")[2])
            for r in target.rules if target else ():
                if r.action == "dnat" and r.nat_to and r.nat_to not in s.endpoints:
                    s.endpoints.append(r.nat_to)
