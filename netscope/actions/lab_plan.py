"""Turn a validated lab topology into a plan of operations. Pure: nothing is run here.

Every node becomes a namespace `nsl-<instance>-<node>`; every device, address, route, rule
and process of the lab lives inside those namespaces (veth pairs are created with their peer
directly in the other namespace), so nothing ever appears in the namespace netscope runs in,
and deleting the namespaces removes all of it. Operations are ordered so that consecutive
ones share a namespace and batch into one `ip -batch` each.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from netscope.actions.ops import Ip, Iptables, IptablesPolicy, NetnsAdd, Nft, Op, Spawn, Sysctl
from netscope.labs.topology import PREFIX, Link, Topology, ns_name  # noqa: F401 (re-exported)

SERVE_SCRIPT = str(Path(__file__).resolve().parents[1] / "labs" / "serve.py")


def lab_plan(topo: Topology, instance: str, log_dir: str | None = None) -> list[Op]:
    """Every operation that brings `topo` up as `instance`, in order."""
    ns = {node.key: ns_name(instance, node.key) for node in topo.nodes}
    links = {link.key: link for link in topo.links}
    ops: list[Op] = [NetnsAdd(ns[n.key]) for n in topo.nodes]
    ops += _create_links(topo, ns, links)
    for node in topo.nodes:
        ops += _configure_node(topo, node.key, ns[node.key], links)
    for node in topo.nodes:
        ops += [Sysctl(ns[node.key], key, value) for key, value in node.sysctl.items()]
    for node in topo.nodes:
        ops += _firewall(topo, node.key, ns[node.key])
    for server in topo.servers:
        command = [sys.executable, SERVE_SCRIPT, "--name", server.key]
        command += [arg for port in server.tcp for arg in ("--tcp", str(port))]
        command += [arg for port in server.udp for arg in ("--udp", str(port))]
        if server.bind != "0.0.0.0":
            command += ["--bind", server.bind]
        if server.reuseport:
            command.append("--reuseport")
        log = os.path.join(log_dir, f"{server.key}.log") if log_dir else None
        ops.append(Spawn(ns[server.node], server.key, tuple(command), log))
    return ops


def _ip(netns: str, *args: str) -> Ip:
    return Ip(netns, tuple(args))


def _create_links(topo: Topology, ns: dict[str, str], links: dict[str, Link]) -> list[Op]:
    created: set[str] = set()
    first: list[Op] = []
    later: list[Op] = []
    for node in topo.nodes:
        here = ns[node.key]
        for link in (lk for lk in topo.links if lk.node == node.key):
            if link.kind == "bridge":
                first.append(_ip(here, "link", "add", link.name, "type", "bridge"))
            elif link.kind == "veth" and link.peer and link.key not in created:
                peer = links[link.peer]
                created |= {link.key, peer.key}
                args = ["link", "add", link.name, "type", "veth", "peer", "name", peer.name]
                if peer.node != node.key:
                    args += ["netns", ns[peer.node]]
                first.append(_ip(here, *args))
            elif link.kind == "vxlan":
                args = ["link", "add", link.name, "type", "vxlan", "id", str(link.vni)]
                if link.local:
                    args += ["local", link.local]
                args += ["remote", str(link.remote)]
                if link.dev:
                    args += ["dev", links[link.dev].name]
                later.append(_ip(here, *args, "dstport", str(link.port)))
            elif link.kind == "macvlan":
                parent = links[str(link.parent)]
                args = ["link", "add", "link", parent.name, "name", link.name]
                if parent.node != node.key:
                    args += ["netns", here]
                later.append(_ip(ns[parent.node], *args, "type", "macvlan", "mode",
                                 str(link.mode)))
    return first + later


def _configure_node(topo: Topology, node: str, here: str, links: dict[str, Link]) -> list[Op]:
    mine = [link for link in topo.links if link.node == node]
    ops: list[Op] = [_ip(here, "link", "set", "lo", "up")]
    for link in mine:
        if link.mtu is not None:
            ops.append(_ip(here, "link", "set", link.name, "mtu", str(link.mtu)))
        if link.master is not None:
            ops.append(_ip(here, "link", "set", link.name, "master", links[link.master].name))
        ops += [_ip(here, "addr", "add", cidr, "dev", link.name) for cidr in link.addresses]
    ops += [_ip(here, "link", "set", link.name, "up") for link in mine if link.up]
    for route in (r for r in topo.routes if r.node == node):
        args = ["route", "add", route.to]
        for word, value in (("via", route.via), ("src", route.src),
                            ("metric", route.metric), ("table", route.table)):
            if value is not None:
                args += [word, str(value)]
        if route.dev is not None:
            args += ["dev", links[route.dev].name]
        ops.append(_ip(here, *args))
    for rule in (r for r in topo.ip_rules if r.node == node):
        args = ["rule", "add", "priority", str(rule.priority)]
        if rule.src:
            args += ["from", rule.src]
        if rule.dst:
            args += ["to", rule.dst]
        ops.append(_ip(here, *args, "table", str(rule.table)))
    return ops


def _firewall(topo: Topology, node: str, here: str) -> list[Op]:
    ops: list[Op] = []
    chains = [c for c in topo.chains if c.node == node]
    for chain in (c for c in chains if not c.builtin):
        ops.append(Iptables(here, chain.table, ("-N", chain.chain), ("-X", chain.chain)))
    for rule in (r for r in topo.iptables if r.node == node):
        where = ("-A", rule.chain) if rule.position is None else (
            "-I", rule.chain, str(rule.position))
        ops.append(Iptables(here, rule.table, (*where, *rule.rule),
                            ("-D", rule.chain, *rule.rule)))
    for chain in (c for c in chains if c.builtin):
        ops.append(IptablesPolicy(here, chain.table, chain.chain, str(chain.policy)))
    for table in (t for t in topo.nft if t.node == node):
        ops.append(Nft(here, table.ruleset, f"delete table {table.family} {table.table}"))
    return ops


def carrier_expected(topo: Topology, instance: str) -> list[tuple[str, str]]:
    """(namespace, device) of every link that should have carrier once the lab is up:
    up veths whose peer is up, macvlans and vxlans over an up link, bridges with such ports."""
    links = {link.key: link for link in topo.links}
    partner = {}
    for link in topo.links:
        if link.kind == "veth" and link.peer:
            partner[link.key], partner[link.peer] = link.peer, link.key
    lower = {"veth": partner, "macvlan": {k: lk.parent for k, lk in links.items() if lk.parent},
             "vxlan": {k: lk.dev for k, lk in links.items() if lk.dev}}

    def has_carrier(link: Link) -> bool:
        if not link.up or link.kind == "bridge":
            return False
        below = lower[link.kind].get(link.key)
        return below is None or links[below].up

    carrier = {key for key, link in links.items() if has_carrier(link)}
    carrier |= {lk.master for lk in links.values() if lk.key in carrier and lk.master
                and links[lk.master].up}
    return [(ns_name(instance, links[k].node), links[k].name) for k in sorted(carrier)]
