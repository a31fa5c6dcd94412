"""kube-proxy's rules for a set of Services, written exactly as kube-proxy writes them.

kube-proxy cannot run here (it needs an API server); the k8s-node labs, their tests and the
5,000-service benchmark load what it would write instead. The formats follow
kubernetes/kubernetes pkg/proxy/iptables/proxier.go and pkg/proxy/nftables/proxier.go
(chain names from the same hashes: base32(sha256(...)), 16 characters for iptables, 8 for
nftables; comments; `computeProbability` as "%0.10f"; the 0x4000 masquerade mark), and a
unit test checks the output against kubernetes' own TestOverallIPTablesRules and
TestOverallNFTablesRules expectations (fixtures/kube-proxy/).

Covered: ClusterIP, NodePort, external IPs, externalTrafficPolicy Local (with or without an
endpoint on this node), services without endpoints. Not written: load balancers with source
ranges, session affinity, topology hints.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

MASQ_MARK = "0x4000"


@dataclass(frozen=True)
class Endpoint:
    """A ready endpoint of a service port; `local` when its pod runs on this node."""

    ip: str
    port: int
    local: bool = True


@dataclass(frozen=True)
class Service:
    """One port of a Service, as kube-proxy sees it (a ServicePortName and its endpoints)."""

    namespace: str
    name: str
    port_name: str
    cluster_ip: str
    port: int
    endpoints: tuple[Endpoint, ...] = ()
    protocol: str = "tcp"
    node_port: int | None = None
    external_ips: tuple[str, ...] = ()
    local_traffic: bool = False  # externalTrafficPolicy: Local
    health_check_node_port: int | None = None

    @property
    def port_name_text(self) -> str:
        """"ns/svc:port", kube-proxy's ServicePortName in comments."""
        return f"{self.namespace}/{self.name}:{self.port_name}"

    @property
    def local_endpoints(self) -> tuple[Endpoint, ...]:
        return tuple(e for e in self.endpoints if e.local)


def _hash(text: str, length: int) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:length]


def probability(n: int) -> str:
    """computeProbability: the chance of the first of n remaining endpoints."""
    return f"{1.0 / n:0.10f}"


# ---------------------------------------------------------------------- iptables mode

def svc_chain(s: Service, prefix: str = "KUBE-SVC-") -> str:
    """KUBE-SVC-/KUBE-EXT-/KUBE-SVL-/KUBE-FW- chain of a service port."""
    return prefix + _hash(s.port_name_text + s.protocol, 16)


def sep_chain(s: Service, e: Endpoint) -> str:
    return "KUBE-SEP-" + _hash(s.port_name_text + s.protocol + f"{e.ip}:{e.port}", 16)


Rules = dict[str, dict[str, list[str]]]  # table -> chain -> rule arguments (after -A CHAIN)


def iptables_rules(services: list[Service], cluster_cidr: str, nfacct: bool = True) -> Rules:
    """The filter and nat rules kube-proxy keeps for `services` (pod CIDR `cluster_cidr`
    for its detect-local), including its jumps from the built-in chains.

    `nfacct`: kube-proxy counts two things with nfacct objects it creates at start; where it
    could not create them, its rules leave the `-m nfacct` matches out (as the labs do: a
    lab cannot create nfacct objects)."""
    acct = (lambda name: f" -m nfacct --nfacct-name {name}") if nfacct else (lambda name: "")
    new = "-m conntrack --ctstate NEW"
    f: dict[str, list[str]] = {c: [] for c in (
        "INPUT", "FORWARD", "OUTPUT", "KUBE-NODEPORTS", "KUBE-SERVICES",
        "KUBE-EXTERNAL-SERVICES", "KUBE-FIREWALL", "KUBE-FORWARD", "KUBE-PROXY-FIREWALL")}
    f["INPUT"] += [f'{new} -m comment --comment "kubernetes load balancer firewall" '
                   "-j KUBE-PROXY-FIREWALL",
                   '-m comment --comment "kubernetes health check service ports" '
                   "-j KUBE-NODEPORTS",
                   f'{new} -m comment --comment "kubernetes externally-visible service '
                   'portals" -j KUBE-EXTERNAL-SERVICES', "-j KUBE-FIREWALL"]
    f["FORWARD"] += [f'{new} -m comment --comment "kubernetes load balancer firewall" '
                     "-j KUBE-PROXY-FIREWALL",
                     '-m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
                     f'{new} -m comment --comment "kubernetes service portals" '
                     "-j KUBE-SERVICES",
                     f'{new} -m comment --comment "kubernetes externally-visible service '
                     'portals" -j KUBE-EXTERNAL-SERVICES']
    f["OUTPUT"] += [f'{new} -m comment --comment "kubernetes load balancer firewall" '
                    "-j KUBE-PROXY-FIREWALL",
                    f'{new} -m comment --comment "kubernetes service portals" '
                    "-j KUBE-SERVICES", "-j KUBE-FIREWALL"]
    f["KUBE-FIREWALL"].append('-m comment --comment "block incoming localnet connections" '
                              "-d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate "
                              "RELATED,ESTABLISHED,DNAT -j DROP")
    f["KUBE-FORWARD"] += [
        f"-m conntrack --ctstate INVALID{acct('ct_state_invalid_dropped_pkts')} -j DROP",
        f'-m comment --comment "kubernetes forwarding rules" -m mark --mark '
        f"{MASQ_MARK}/{MASQ_MARK} -j ACCEPT",
        '-m comment --comment "kubernetes forwarding conntrack rule" -m conntrack '
        "--ctstate RELATED,ESTABLISHED -j ACCEPT"]
    n: dict[str, list[str]] = {c: [] for c in (
        "PREROUTING", "OUTPUT", "POSTROUTING", "KUBE-NODEPORTS", "KUBE-SERVICES",
        "KUBE-MARK-MASQ", "KUBE-POSTROUTING")}
    n["PREROUTING"].append('-m comment --comment "kubernetes service portals" '
                           "-j KUBE-SERVICES")
    n["OUTPUT"].append('-m comment --comment "kubernetes service portals" -j KUBE-SERVICES')
    n["POSTROUTING"].append('-m comment --comment "kubernetes postrouting rules" '
                            "-j KUBE-POSTROUTING")
    for s in services:
        _iptables_service(s, cluster_cidr, f, n, acct("localhost_nps_accepted_pkts"))
    n["KUBE-SERVICES"].append(
        '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last '
        'rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS')
    n["KUBE-MARK-MASQ"].append(f"-j MARK --or-mark {MASQ_MARK}")
    n["KUBE-POSTROUTING"] += [
        f"-m mark ! --mark {MASQ_MARK}/{MASQ_MARK} -j RETURN",
        f"-j MARK --xor-mark {MASQ_MARK}",
        '-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE '
        "--random-fully"]
    return {"filter": f, "nat": n}


def _iptables_service(s: Service, cidr: str, f: dict, n: dict, localhost_acct: str) -> None:
    name, p = s.port_name_text, s.protocol
    match = f"-m {p} -p {p}"
    svc, ext = svc_chain(s), svc_chain(s, "KUBE-EXT-")
    if not s.endpoints:
        f["KUBE-SERVICES"].append(f'-m comment --comment "{name} has no endpoints" {match} '
                                  f"-d {s.cluster_ip} --dport {s.port} -j REJECT")
        for ip in s.external_ips:
            f["KUBE-EXTERNAL-SERVICES"].append(
                f'-m comment --comment "{name} has no endpoints" {match} -d {ip} '
                f"--dport {s.port} -j REJECT")
        if s.node_port:
            f["KUBE-EXTERNAL-SERVICES"].append(
                f'-m comment --comment "{name} has no endpoints" -m addrtype --dst-type LOCAL '
                f"{match} --dport {s.node_port} -j REJECT")
        return
    n["KUBE-SERVICES"].append(f'-m comment --comment "{name} cluster IP" {match} '
                              f"-d {s.cluster_ip} --dport {s.port} -j {svc}")
    external = bool(s.node_port or s.external_ips)
    if external:
        for ip in s.external_ips:
            n["KUBE-SERVICES"].append(f'-m comment --comment "{name} external IP" {match} '
                                      f"-d {ip} --dport {s.port} -j {ext}")
        rules = n.setdefault(ext, [])
        if s.local_traffic:
            rules += [f'-m comment --comment "pod traffic for {name} external destinations" '
                      f"-s {cidr} -j {svc}",
                      f'-m comment --comment "masquerade LOCAL traffic for {name} external '
                      'destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ',
                      f'-m comment --comment "route LOCAL traffic for {name} external '
                      f'destinations" -m addrtype --src-type LOCAL -j {svc}']
            if s.local_endpoints:
                rules.append(f"-j {svc_chain(s, 'KUBE-SVL-')}")
        else:
            rules += [f'-m comment --comment "masquerade traffic for {name} external '
                      'destinations" -j KUBE-MARK-MASQ', f"-j {svc}"]
    if s.node_port:
        n["KUBE-NODEPORTS"] += [
            f"-m comment --comment {name} {match} -d 127.0.0.0/8 --dport {s.node_port}"
            f"{localhost_acct} -j {ext}",
            f"-m comment --comment {name} {match} --dport {s.node_port} -j {ext}"]
    if s.local_traffic and external and not s.local_endpoints:
        for ip in s.external_ips:
            f["KUBE-EXTERNAL-SERVICES"].append(
                f'-m comment --comment "{name} has no local endpoints" {match} -d {ip} '
                f"--dport {s.port} -j DROP")
        if s.node_port:
            f["KUBE-EXTERNAL-SERVICES"].append(
                f'-m comment --comment "{name} has no local endpoints" -m addrtype '
                f"--dst-type LOCAL {match} --dport {s.node_port} -j DROP")
    if s.health_check_node_port:
        f["KUBE-NODEPORTS"].append(f'-m comment --comment "{name} health check node port" '
                                   f"-m tcp -p tcp --dport {s.health_check_node_port} -j ACCEPT")
    n[svc] = [f'-m comment --comment "{name} cluster IP" {match} -d {s.cluster_ip} '
              f"--dport {s.port} ! -s {cidr} -j KUBE-MARK-MASQ"]
    _iptables_pick(s, svc, s.endpoints, n)
    if s.local_traffic and s.local_endpoints:
        _iptables_pick(s, svc_chain(s, "KUBE-SVL-"), s.local_endpoints, n)
    for e in s.endpoints:
        n[sep_chain(s, e)] = [f"-m comment --comment {name} -s {e.ip} -j KUBE-MARK-MASQ",
                              f"-m comment --comment {name} {match} -j DNAT "
                              f"--to-destination {e.ip}:{e.port}"]


def _iptables_pick(s: Service, chain: str, endpoints: tuple[Endpoint, ...], n: dict) -> None:
    rules = n.setdefault(chain, [])
    for i, e in enumerate(endpoints):
        chance = (f" -m statistic --mode random --probability {probability(len(endpoints) - i)}"
                  if i < len(endpoints) - 1 else "")
        rules.append(f'-m comment --comment "{s.port_name_text} -> {e.ip}:{e.port}"{chance} '
                     f"-j {sep_chain(s, e)}")


BUILTIN = {"INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING"}


def restore_text(rules: Rules) -> str:
    """iptables-restore input (for `--noflush`): chain declarations, then rules."""
    out = []
    for table, chains in rules.items():
        out.append(f"*{table}")
        out += [f":{c} - [0:0]" for c in chains if c not in BUILTIN]
        out += [f"-A {c} {r}" for c, rs in chains.items() for r in rs]
        out.append("COMMIT")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------- nftables mode

def nft_chain(s: Service, prefix: str, endpoint: Endpoint | None = None) -> str:
    """service-/external-/local-/endpoint- chain of kube-proxy's nftables mode."""
    base = f"{s.namespace}/{s.name}/{s.protocol}/{s.port_name}"
    if endpoint is not None:
        base += f"__{endpoint.ip}/{endpoint.port}"
    return f"{prefix}{_hash(base, 8)}-{base}"


def nft_script(services: list[Service], cluster_cidr: str, node_ips: tuple[str, ...],
               service_cidr: str) -> str:
    """The `nft -f` transaction kube-proxy sends for `services` (table ip kube-proxy)."""
    t = "ip kube-proxy"
    lines = [line.format(t=t, svc_cidr=service_cidr) for line in NFT_BASE]
    lines += [f"add element {t} nodeport-ips {{ {ip} }}" for ip in node_ips]
    lines.append(f"add rule {t} service-endpoints-check ip daddr . meta l4proto . th dport "
                 "vmap @no-endpoint-services")
    for s in services:
        lines += _nft_service(s, t, cluster_cidr)
    return "\n".join(lines) + "\n"


def _nft_service(s: Service, t: str, cidr: str) -> list[str]:
    name, p = s.port_name_text, s.protocol
    svc, ext = nft_chain(s, "service-"), nft_chain(s, "external-")
    out = [f"add element {t} cluster-ips {{ {s.cluster_ip} }}"]
    if not s.endpoints:
        verdict = "goto reject-chain"
        out.append(f'add element {t} no-endpoint-services {{ {s.cluster_ip} . {p} . '
                   f'{s.port} comment "{name}" : {verdict} }}')
        out += [f'add element {t} no-endpoint-services {{ {ip} . {p} . {s.port} comment '
                f'"{name}" : {verdict} }}' for ip in s.external_ips]
        if s.node_port:
            out.append(f'add element {t} no-endpoint-nodeports {{ {p} . {s.node_port} '
                       f'comment "{name}" : {verdict} }}')
        return out
    eps = [(e, nft_chain(s, "endpoint-", e)) for e in s.endpoints]
    out += [f"add chain {t} {svc}",
            f"add rule {t} {svc} ip daddr {s.cluster_ip} ip saddr != {cidr} jump "
            "mark-for-masquerade"]
    out += [f"add chain {t} {chain}" for _, chain in eps]
    out.append(f"add rule {t} {svc} numgen random mod {len(eps)} vmap {{ " + " , ".join(
        f"{i} : goto {chain}" for i, (_, chain) in enumerate(eps)) + " }")
    external = bool(s.node_port or s.external_ips)
    if external:
        out.append(f"add chain {t} {ext}")
        if s.local_traffic:
            out += [f'add rule {t} {ext} ip saddr {cidr} goto {svc} comment '
                     '"short-circuit pod traffic"',
                     f'add rule {t} {ext} fib saddr type local jump mark-for-masquerade '
                     'comment "masquerade local traffic"',
                     f'add rule {t} {ext} fib saddr type local goto {svc} comment '
                     '"short-circuit local traffic"']
        else:
            out += [f"add rule {t} {ext} jump mark-for-masquerade",
                    f"add rule {t} {ext} goto {svc}"]
    for e, chain in eps:
        out += [f"add rule {t} {chain} ip saddr {e.ip} jump mark-for-masquerade",
                f"add rule {t} {chain} meta l4proto {p} dnat to {e.ip}:{e.port}"]
    out.append(f"add element {t} service-ips {{ {s.cluster_ip} . {p} . {s.port} : goto "
               f"{svc} }}")
    if external:
        out += [f"add element {t} service-ips {{ {ip} . {p} . {s.port} : goto {ext} }}"
                for ip in s.external_ips]
        if s.node_port:
            out.append(f"add element {t} service-nodeports {{ {p} . {s.node_port} : goto "
                       f"{ext} }}")
        if s.local_traffic and not s.local_endpoints:
            if s.node_port:
                out.append(f'add element {t} no-endpoint-nodeports {{ {p} . {s.node_port} '
                           f'comment "{name}" : drop }}')
            out += [f'add element {t} no-endpoint-services {{ {ip} . {p} . {s.port} comment '
                    f'"{name}" : drop }}' for ip in s.external_ips]
    return out


# pkg/proxy/nftables/proxier.go setupNFTables, as TestOverallNFTablesRules' baseRules
NFT_BASE = (
    'add table {t} {{ comment "rules for kube-proxy" ; }}',
    'add set {t} cluster-ips {{ type ipv4_addr ; comment "Active ClusterIPs" ; }}',
    'add set {t} nodeport-ips {{ type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }}',
    'add map {t} firewall-ips {{ type ipv4_addr . inet_proto . inet_service : verdict ; '
    'comment "destinations that are subject to LoadBalancerSourceRanges" ; }}',
    'add map {t} no-endpoint-nodeports {{ type inet_proto . inet_service : verdict ; '
    'comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }}',
    'add map {t} no-endpoint-services {{ type ipv4_addr . inet_proto . inet_service : '
    'verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }}',
    'add map {t} service-ips {{ type ipv4_addr . inet_proto . inet_service : verdict ; '
    'comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }}',
    'add map {t} service-nodeports {{ type inet_proto . inet_service : verdict ; '
    'comment "NodePort traffic" ; }}',
    "add chain {t} cluster-ips-check",
    "add chain {t} filter-prerouting-pre-dnat {{ type filter hook prerouting priority -110 ; }}",
    "add chain {t} filter-output-pre-dnat {{ type filter hook output priority -110 ; }}",
    "add chain {t} filter-forward {{ type filter hook forward priority 0 ; }}",
    "add chain {t} filter-input {{ type filter hook input priority 0 ; }}",
    "add chain {t} filter-output {{ type filter hook output priority 0 ; }}",
    "add chain {t} firewall-check",
    "add chain {t} mark-for-masquerade",
    "add chain {t} masquerading",
    "add chain {t} nat-output {{ type nat hook output priority -100 ; }}",
    "add chain {t} nat-postrouting {{ type nat hook postrouting priority 100 ; }}",
    "add chain {t} nat-prerouting {{ type nat hook prerouting priority -100 ; }}",
    "add chain {t} nodeport-endpoints-check",
    'add chain {t} reject-chain {{ comment "helper for @no-endpoint-services / '
    '@no-endpoint-nodeports" ; }}',
    "add chain {t} services",
    "add chain {t} service-endpoints-check",
    'add rule {t} cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to '
    'invalid ports of ClusterIPs"',
    'add rule {t} cluster-ips-check ip daddr {{ {svc_cidr} }} drop comment "Drop traffic to '
    'unallocated ClusterIPs"',
    "add rule {t} filter-prerouting-pre-dnat ct state new jump firewall-check",
    "add rule {t} filter-forward ct state new jump service-endpoints-check",
    "add rule {t} filter-forward ct state new jump cluster-ips-check",
    "add rule {t} filter-input ct state new jump nodeport-endpoints-check",
    "add rule {t} filter-input ct state new jump service-endpoints-check",
    "add rule {t} filter-output ct state new jump service-endpoints-check",
    "add rule {t} filter-output-pre-dnat ct state new jump firewall-check",
    "add rule {t} filter-output ct state new jump cluster-ips-check",
    "add rule {t} firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips",
    f"add rule {{t}} mark-for-masquerade mark set mark or {MASQ_MARK}",
    f"add rule {{t}} masquerading mark and {MASQ_MARK} == 0 return",
    f"add rule {{t}} masquerading mark set mark xor {MASQ_MARK}",
    "add rule {t} masquerading masquerade fully-random",
    "add rule {t} nat-output jump services",
    "add rule {t} nat-postrouting jump masquerading",
    "add rule {t} nat-prerouting jump services",
    "add rule {t} nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport "
    "vmap @no-endpoint-nodeports",
    "add rule {t} reject-chain reject",
    "add rule {t} services ip daddr . meta l4proto . th dport vmap @service-ips",
    "add rule {t} services ip daddr @nodeport-ips meta l4proto . th dport vmap "
    "@service-nodeports",
)
