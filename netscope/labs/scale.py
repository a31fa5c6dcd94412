"""Generate N docker-like containers for a lab with a [scale] section (benchmarks: 200+).

Container i is node `<node_prefix>i` with `eth0` (the i-th address of the subnet after the
network address, so c1 gets .2 when the gateway is .1) paired with `<veth_prefix>i` on the
host, attached to the bridge, and a default route via the gateway. Nodes, links and routes the
file declares for containers named like that are replaced; servers and checks on containers
that no longer exist are dropped.
"""

from __future__ import annotations

import copy
import ipaddress
import re

MAX_CONTAINERS = 4000


def expand_containers(doc: dict, count: int) -> dict:
    """A copy of the document with exactly `count` generated containers."""
    scale = doc["scale"]
    prefix, veth_prefix = scale.get("node_prefix", "c"), scale.get("veth_prefix", "veth")
    net = ipaddress.ip_network(scale["subnet"])
    if not 1 <= count <= min(MAX_CONTAINERS, net.num_addresses - 3):
        raise ValueError(f"--containers must be between 1 and "
                         f"{min(MAX_CONTAINERS, net.num_addresses - 3)} for subnet {net}")
    generated = re.compile(rf"^{re.escape(prefix)}\d+$")
    out = copy.deepcopy(doc)
    old_nodes = {k for k in out["nodes"] if generated.match(k)}
    old_links = {k for k, t in out.get("links", {}).items() if t.get("node") in old_nodes}
    old_links |= {k for k, t in out.get("links", {}).items() if t.get("peer") in old_links}
    out["nodes"] = {k: v for k, v in out["nodes"].items() if k not in old_nodes}
    out["links"] = {k: v for k, v in out.get("links", {}).items() if k not in old_links}
    out["routes"] = {k: v for k, v in out.get("routes", {}).items()
                     if v.get("node") not in old_nodes}
    gateway = scale["gateway"]
    for i in range(1, count + 1):
        node = f"{prefix}{i}"
        address = f"{net.network_address + i + 1}/{net.prefixlen}"
        out["nodes"][node] = {"role": "container"}
        out["links"][f"{node}-eth0"] = {"node": node, "name": "eth0", "kind": "veth",
                                        "addresses": [address]}
        out["links"][f"{veth_prefix}{i}"] = {"node": scale["host"], "kind": "veth",
                                             "peer": f"{node}-eth0", "master": scale["bridge"]}
        out["routes"][f"{node}-default"] = {"node": node, "to": "default", "via": gateway}
    kept = set(out["nodes"])
    out["servers"] = {k: v for k, v in out.get("servers", {}).items() if v.get("node") in kept}
    out["checks"] = {k: v for k, v in out.get("checks", {}).items() if v.get("from") in kept}
    return out
