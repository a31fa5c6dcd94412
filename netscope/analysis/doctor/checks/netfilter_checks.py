"""Netfilter checks: missing MASQUERADE, FORWARD policy DROP, DOCKER-USER drops, DNAT to a
missing backend. Flow-based ones walk a container's packet and name the hop that kills it."""

from __future__ import annotations

from netscope.analysis.doctor.checks.flows import (
    blocking_hop,
    bridge_members,
    bridge_networks,
    walk_from,
)
from netscope.analysis.doctor.finding import Check, op, where
from netscope.analysis.path import netfilter as nf
from netscope.graph.host import HostGraph
from netscope.graph.netfilter import match_values


def _has_snat(graph: HostGraph, net, src: str, dst: str) -> bool:
    ctx = nf.PacketContext("inet", src, dst, "icmp", None, None, net.bridge.name,
                           net.egress.name, "new", 0, None, None,
                           graph.local_addresses(net.bridge.netns), 8)
    verdict = nf.evaluate_hook(graph.tables_in(net.bridge.netns), net.bridge.netns,
                               "postrouting", ctx)
    return verdict.nat is not None and verdict.nat[0] in ("snat", "masquerade")


def _upstream_routes_back(graph: HostGraph, net) -> bool:
    """The namespace behind the egress gateway has a route to the bridge subnet itself."""
    owners = [a.netns for a in graph.snapshot.addresses if a.address == net.upstream]
    for owner in owners:
        lk = graph.route_lookup(owner, "inet", "0.0.0.0",
                          net.container_ip)
        if lk.route is not None and not lk.route.is_default:
            return True
    return False


def run_masquerade(graph: HostGraph):
    if not graph.collected("netfilter"):
        return
    for net in bridge_networks(graph):
        if net.egress is None or net.upstream is None:
            continue
        if _has_snat(graph, net, net.container_ip, net.upstream):
            continue
        if _upstream_routes_back(graph, net):
            continue  # routed, not NATed: the far side knows the way back
        name = graph.ns_name(net.bridge.netns)
        rule = ["-A", "POSTROUTING", "-s", net.subnet, "!", "-o", net.bridge.name, "-j",
                "MASQUERADE"]
        yield MISSING_MASQUERADE.finding(
            where(graph, net.bridge.netns, net.bridge.name),
            f"{net.subnet} on {net.bridge.name} ({name}) leaves by {net.egress.name} with its "
            f"private source address: no MASQUERADE/SNAT rewrites it, and replies cannot find "
            "their way back",
            evidence=(net.bridge.id, net.egress.id), subject=net.bridge.id,
            repair=[op("iptables", graph.ns_ref(net.bridge.netns), table="nat", args=rule,
                       undo=["-D", *rule[1:]])])


def run_forward_drop(graph: HostGraph):
    for net in bridge_networks(graph):
        if net.egress is None or net.upstream is None or not graph.tables:
            continue
        result = walk_from(graph, net.container_ns, net.container_ip, net.upstream)
        hop = blocking_hop(result)
        if hop is None or hop.step != "drop" or not hop.decision.startswith("drop in filter "
                                                                               "FORWARD: policy"):
            continue
        ns_ref = graph.ns_ref(net.bridge.netns)
        rules = [["-I", "FORWARD", "-i", net.bridge.name, "-j", "ACCEPT"],
                 ["-I", "FORWARD", "-o", net.bridge.name, "-m", "conntrack", "--ctstate",
                  "RELATED,ESTABLISHED,DNAT", "-j", "ACCEPT"]]
        yield FORWARD_POLICY_DROP.finding(
            where(graph, net.bridge.netns, net.bridge.name),
            f"{graph.ns_name(net.container_ns)} ({net.container_ip}) -> {net.upstream}: "
            f"dropped by the FORWARD policy of {graph.ns_name(net.bridge.netns)}; no rule "
            f"accepts traffic of {net.bridge.name}",
            evidence=hop.evidence, subject=net.bridge.id,
            repair=[op("iptables", ns_ref, table="filter", args=rule,
                       undo=["-D", *rule[1:]]) for rule in rules])


def _rule_port(rule) -> tuple[str, int | None]:
    proto = next((m.values[0] for m in rule.matches if m.field == "proto" and m.values
                  and not m.negated), "icmp")
    port = next((m.values[0] for m in rule.matches if m.field == "dport" and m.values
                 and not m.negated), None)
    return proto, int(port) if port and port.isdigit() else None


def _published(graph: HostGraph, netns: str, address: str) -> list[int]:
    """Ports of `netns` DNATed to `address` (published ports of that container)."""
    return [int(v) for r in graph.dnat_rules_to(address, netns)
            for v in match_values(r, "dport") if v.isdigit()]


def _flows_hit_by(graph: HostGraph, rule) -> list[str]:
    """Walk the flows a DOCKER-USER rule is about; the ones it drops, described."""
    proto, port = _rule_port(rule)
    members = bridge_members(graph, rule.netns)
    wanted = [m.values[0].split("/")[0] for m in rule.matches if m.field == "daddr"
              and m.values and m.values[0].endswith("/32") and not m.negated]
    targets = [(ns, ip) for ns, ip in members if not wanted or ip in wanted]
    nets = [n for n in bridge_networks(graph) if n.bridge.netns == rule.netns]
    upstream = next((n for n in nets if n.upstream), None)
    hits = []
    for dst_ns, dst in targets[:20]:
        flows = [(ns, ip, dst, port) for ns, ip in members[:20] if ns != dst_ns]
        if upstream is not None:
            owner = [a for a in graph.snapshot.addresses if a.address == upstream.upstream]
            egress = graph.source_address(rule.netns, upstream.egress, None, "inet")
            for o in owner[:1]:
                flows += [(o.netns, o.address, egress, p) for p in _published(graph, rule.netns,
                                                                            dst)]
        for src_ns, src, to, dport in flows:
            hop = blocking_hop(walk_from(graph, src_ns, src, to, proto, dport))
            if hop is not None and rule.id in hop.evidence:
                hits.append(f"{graph.ns_name(src_ns)} -> {to}"
                            + (f":{dport}" if dport else ""))
    return hits


def run_docker_user(graph: HostGraph):
    chains = [c for t in graph.tables for c in t.chains if c.name == "DOCKER-USER"]
    for rule in (r for c in chains for r in c.rules if r.action in ("drop", "reject")):
        hits = _flows_hit_by(graph, rule)
        if not hits:
            continue
        spec = rule.text.split()
        delete = ["-D", *spec[1:]] if spec and spec[0] == "-A" else None
        yield DOCKER_USER_DROP.finding(
            where(graph, rule.netns, f"DOCKER-USER/{rule.position}"),
            f"'{rule.text}' drops {', '.join(hits[:4])}"
            + (f" and {len(hits) - 4} more flows" if len(hits) > 4 else ""),
            evidence=(rule.id,), subject=rule.id,
            repair=[op("iptables", graph.ns_ref(rule.netns), table="filter", args=delete,
                       undo=["-I", "DOCKER-USER", str(rule.position), *spec[2:]])]
            if delete else [])


def _backend_missing(graph: HostGraph, netns: str, target: str) -> str | None:
    """Why the DNAT target leads nowhere, or None. Judged only when `target` is on a subnet
    directly attached to `netns` (no gateway) on a network netscope sees whole."""
    lk = graph.route_lookup(netns, "inet", "0.0.0.0", target)
    if lk.kind != "unicast" or lk.route is None or not lk.route.nexthops:
        return f"there is no route to {target}" if lk.kind != "local" else None
    hop = lk.route.nexthops[0]
    if hop.gateway or hop.link not in graph.links or not graph.segment_is_visible(hop.link):
        return None
    if any(a.address == target for a in graph.segment_addresses(hop.link)):
        return None
    # a backend that exists behind one of this namespace's veths but is cut off from the
    # bridge is not "missing": the link checks name that cause
    for link in graph.links_in(netns):
        far = graph.veth_peer(link) if link.kind == "veth" else None
        if far is not None and graph.is_local(far.netns, target):
            return None
    return f"no interface on {graph.links[hop.link].name}'s network owns {target}"


def run_dnat_backend(graph: HostGraph):
    for t in graph.tables:
        for c in t.chains:
            for rule in c.rules:
                if rule.action != "dnat" or not rule.nat_to:
                    continue
                target = rule.nat_to.rsplit(":", 1)[0] if rule.nat_to.count(":") == 1 \
                    else rule.nat_to.strip("[]").split("]:")[0]
                why = None if ":" in target else _backend_missing(graph, rule.netns, target)
                if why is None:
                    continue
                yield DNAT_MISSING_BACKEND.finding(
                    where(graph, rule.netns, f"{rule.chain}/{rule.position}"),
                    f"'{rule.text}' sends connections to {rule.nat_to}, but {why}",
                    evidence=(rule.id,), subject=rule.id)


MISSING_MASQUERADE = Check(
    id="missing_masquerade", severity="error",
    title="no MASQUERADE/SNAT for a bridge subnet that needs egress",
    explain="Containers on a bridge use private addresses. When their packets leave the host, "
            "a MASQUERADE (or SNAT) rule in nat POSTROUTING must rewrite the source to the "
            "host's address; conntrack then undoes it on replies. Without it the far side "
            "answers a private address it has no route to, and the replies never come back.",
    run=run_masquerade)

FORWARD_POLICY_DROP = Check(
    id="forward_policy_drop", severity="error",
    title="FORWARD policy DROP with no ACCEPT for a bridge",
    explain="Routed traffic crosses the filter FORWARD chain. Docker sets its policy to DROP "
            "and adds ACCEPT rules only for its own bridges, so any other bridge (a lab, a "
            "libvirt or LXC network) silently stops routing as soon as Docker is installed.",
    run=run_forward_drop)

DOCKER_USER_DROP = Check(
    id="docker_user_drop", severity="error", title="a DROP rule in DOCKER-USER hits a container",
    explain="DOCKER-USER is where administrators put their own rules; Docker runs it first in "
            "FORWARD, before its own accepts. A DROP or REJECT there overrides everything "
            "Docker set up for the containers it matches.",
    run=run_docker_user)

DNAT_MISSING_BACKEND = Check(
    id="dnat_missing_backend", severity="error",
    title="a DNAT (published port) points at an address nobody has",
    explain="A published port is a DNAT rule: connections to the host's port are rewritten to "
            "a container's address. When that container is gone (or was re-created with "
            "another address) the rule still matches and sends connections into the void: "
            "clients see timeouts, not 'connection refused'. netscope does not remove the rule "
            "for you: restart the container or delete the rule.",
    run=run_dnat_backend)
