"""Kubernetes Services on a node: a service without endpoints, a NodePort without a local
endpoint, br_netfilter off where a bridge carries service traffic (the hairpin break), and
a NetworkPolicy that blocks some of a service's endpoints. Services are what kube-proxy
programmed (HostGraph.kube_services), in its iptables or nftables mode."""

from __future__ import annotations

from netscope.analysis.doctor.checks.flows import walk_from
from netscope.analysis.doctor.finding import Check, op, where
from netscope.graph.host import HostGraph
from netscope.graph.k8s_services import KubeService
from netscope.model.k8s_chains import policy_chain

BRNF = "net.bridge.bridge-nf-call-iptables"
# walks the policy check makes at most per namespace (each is a whole path walk)
MAX_POLICY_WALKS = 50


def _address(s: KubeService) -> str:
    return ", ".join(f"{a}:{p}" for _, a, p in s.addresses) or "?"


def run_no_endpoints(graph: HostGraph):
    for s in graph.kube_services():
        if not s.no_endpoints:
            continue
        refused = f"; {s.refused} connections refused so far" if s.refused else ""
        exposed = (f", exposed on node ports {', '.join(map(str, s.node_ports))}"
                   if s.node_ports else "")
        yield SERVICE_NO_ENDPOINTS.finding(
            where(graph, s.netns, s.name), f"service {s.name} ({_address(s)}{exposed}) has no "
            f"ready endpoint: kube-proxy on {graph.ns_name(s.netns)} rejects its "
            f"connections{refused}", evidence=tuple(s.evidence), subject=s.netns,
            severity=None if s.exposed else "info")


def run_no_local(graph: HostGraph):
    for s in graph.kube_services():
        if not s.no_local_endpoints or s.no_endpoints:
            continue
        ports = ", ".join(map(str, s.node_ports)) or "its external addresses"
        yield NODEPORT_NO_LOCAL.finding(
            where(graph, s.netns, s.name), f"service {s.name} (externalTrafficPolicy: Local) "
            f"has no endpoint on {graph.ns_name(s.netns)}: external clients of {ports} are "
            "dropped here" + (f"; {s.refused} dropped so far" if s.refused else ""),
            evidence=tuple(s.evidence), subject=s.netns)


def _bridged_endpoints(graph: HostGraph, netns: str, services: list[KubeService]):
    """(bridge, endpoint address, service) where a service endpoint lives behind a port of a
    bridge in `netns` that has other ports too: a pod there can reach it through the
    service, and the reply is bridged back."""
    endpoints = {e.split(":")[0]: s for s in services for e in s.endpoints}
    for bridge in (lk for lk in graph.links_in(netns) if lk.kind == "bridge"):
        ports = graph.bridge_ports(bridge)
        if len(ports) < 2:
            continue
        for port in ports:
            far = graph.veth_peer(port)
            for a in graph.addresses_in(far.netns) if far is not None else ():
                if a.address in endpoints:
                    yield bridge, a.address, endpoints[a.address]


def run_br_netfilter(graph: HostGraph):
    by_ns: dict[str, list[KubeService]] = {}
    for s in graph.kube_services():
        by_ns.setdefault(s.netns, []).append(s)
    for netns, services in by_ns.items():
        sysctls = graph.namespaces[netns].sysctls
        value = sysctls.get(BRNF)
        if not sysctls or value not in ("0", None):
            continue  # sysctls not read (an old snapshot), or br_netfilter on
        hit = next(_bridged_endpoints(graph, netns, services), None)
        if hit is None:
            continue
        bridge, endpoint, service = hit
        state = f"{BRNF} = 0" if value == "0" else "br_netfilter is not loaded"
        yield BR_NETFILTER_OFF.finding(
            where(graph, netns, bridge.name),
            f"{graph.ns_name(netns)}: {state}, and {bridge.name} bridges pods to service "
            f"endpoints ({endpoint} of {service.name}): a pod's connection to the service "
            "gets a reply conntrack never translates back, and hangs",
            evidence=(bridge.id, f"{BRNF}={value}"), subject=netns,
            repair=[op("sysctl", graph.ns_ref(netns), key=BRNF, value="1")] if value == "0"
            else [])


def _has_policy_chains(graph: HostGraph, netns: str) -> bool:
    return any(policy_chain(c.name, ()) is not None
               for t in graph.tables_in(netns) for c in t.chains)


def _client(graph: HostGraph, netns: str, skip: set[str]) -> tuple[str, str] | None:
    """(namespace, address) of a pod on one of `netns`'s bridges, not one of `skip`."""
    for bridge in (lk for lk in graph.links_in(netns) if lk.kind == "bridge"):
        for port in graph.bridge_ports(bridge):
            far = graph.veth_peer(port)
            for a in graph.addresses_in(far.netns) if far is not None else ():
                if a.family == "inet" and a.scope == "global" and a.address not in skip:
                    return far.netns, a.address
    return None


def run_policy(graph: HostGraph):
    walks = {}
    for s in graph.kube_services():
        if len(s.endpoints) < 2 or s.cluster_ip is None or s.protocol not in ("tcp", "udp"):
            continue
        if not _has_policy_chains(graph, s.netns) or walks.get(s.netns, 0) >= MAX_POLICY_WALKS:
            continue
        client = _client(graph, s.netns, {e.split(":")[0] for e in s.endpoints})
        if client is None:
            continue
        walks[s.netns] = walks.get(s.netns, 0) + 1
        port = next(p for k, _, p in s.addresses if k == "cluster IP")
        result = walk_from(graph, client[0], client[1], s.cluster_ip, s.protocol, port)
        blocked, passed = [], 0
        for p, whole in result.outcomes():
            end = whole if whole.verdict != "delivered" or whole.reply is None else whole.reply
            if end.verdict == "delivered":
                passed += 1
            elif end.hops and "dropped by policy chain" in end.hops[-1].decision:
                blocked.append((p, end.hops[-1]))
        if not blocked or not passed:
            continue  # all or nothing: a policy that means it, not one that half-breaks
        share = sum(p for p, _ in blocked)
        hop = blocked[0][1]
        why = hop.decision.rpartition("(")[2].rstrip(")")
        yield POLICY_DROP.finding(
            where(graph, s.netns, s.name),
            f"{graph.ns_name(client[0])} -> service {s.name}: {share:.0%} of connections fail "
            f"at random, {why}; the others reach their endpoint",
            evidence=hop.evidence, subject=s.netns)


SERVICE_NO_ENDPOINTS = Check(
    id="service_no_endpoints", severity="warning", title="a Service has no endpoints",
    explain="kube-proxy sends a Service's connections to its ready endpoints. With none (no "
            "pod matches its selector, or none is ready), it rejects them instead: clients get "
            "'connection refused' (REJECT in filter KUBE-SERVICES, or @no-endpoint-services in "
            "nftables mode). A warning when the service is exposed outside the cluster (a "
            "NodePort, an external or load-balancer IP); information for a ClusterIP, which may "
            "be scaled to zero on purpose (the summary counts the clients refused so far). Look "
            "at the pods its selector should match and why they are not ready.",
    run=run_no_endpoints)

NODEPORT_NO_LOCAL = Check(
    id="nodeport_no_local_endpoints", severity="info",
    title="a NodePort with externalTrafficPolicy: Local has no endpoint on this node",
    explain="With externalTrafficPolicy: Local, kube-proxy sends external traffic only to "
            "endpoints on the node it arrives at, keeping the client's address. A node without "
            "one drops it (KUBE-EXTERNAL-SERVICES, @no-endpoint-nodeports); load balancers "
            "learn that from the health-check node port and send none. If clients still come "
            "here (the summary counts them), whatever sends them does not health-check.",
    run=run_no_local)

BR_NETFILTER_OFF = Check(
    id="br_netfilter_off", severity="warning",
    title="bridged Service traffic skips netfilter (bridge-nf-call-iptables off)",
    explain="A pod's connection to a Service is DNATed by the node to an endpoint. When that "
            "endpoint is on the same bridge as the pod, its reply is switched straight back by "
            "the bridge. Only br_netfilter (net.bridge.bridge-nf-call-iptables = 1) passes "
            "bridged frames through netfilter, where conntrack undoes the DNAT; without it the "
            "pod gets an answer from the endpoint's own address, drops it, and the connection "
            "hangs (the 'hairpin' break). Kubernetes requires it on every node.",
    run=run_br_netfilter)

POLICY_DROP = Check(
    id="policy_drop", severity="warning",
    title="a NetworkPolicy blocks some of a Service's endpoints",
    explain="kube-proxy picks one endpoint of a Service at random per connection; when a "
            "NetworkPolicy chain on the node (kube-router KUBE-POD-FW-*, Calico cali-tw-*) "
            "rejects traffic to some endpoints but not others, connections to the Service fail "
            "at random. Usually a policy's pod selector matches only part of the Service's "
            "pods: make the policy and the Service select the same pods.",
    run=run_policy)
