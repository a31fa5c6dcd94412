"""Cross-reference checks of a well-typed topology document, and the dataclasses built from it.

`check_document` (loader) has already checked keys and value types; this module checks what
needs the whole lab: references point at existing objects of the right kind on the right
node, veth ends pair up exactly, interface names are unique per node, and so on.
"""

from __future__ import annotations

import ipaddress
import shlex

from netscope.labs.schema import NFT_TABLE_RE
from netscope.labs.topology import (
    BUILTIN_CHAINS,
    Chain,
    Check,
    IpRule,
    IptablesRule,
    Link,
    NftTable,
    Node,
    Route,
    Scale,
    Server,
    Topology,
    Variant,
)

Problems = list[tuple[str, str]]

KIND_ONLY = {
    "peer": ("veth",), "parent": ("macvlan",), "mode": ("macvlan",), "vni": ("vxlan",),
    "local": ("vxlan",), "remote": ("vxlan",), "dev": ("vxlan",), "port": ("vxlan",),
}


def build_topology(path: str, doc: dict, problems: Problems) -> Topology:
    """The Topology of a well-typed document; appends every cross-reference problem found."""
    nodes = tuple(Node(key, t["role"], {k: str(v) for k, v in t.get("sysctl", {}).items()})
                  for key, t in doc["nodes"].items())
    node_keys = {n.key for n in nodes}
    links = tuple(_link(key, t) for key, t in doc.get("links", {}).items())
    by_key = {link.key: link for link in links}

    def ref(where: str, value: str | None, section_keys, what: str) -> None:
        if value is not None and value not in section_keys:
            problems.append((where, f"{value!r} is not {what} of this lab"))

    for section in ("links", "routes", "ip_rules", "chains", "iptables", "nft", "servers"):
        for key, t in doc.get(section, {}).items():
            ref(f"{section}.{key}.node", t["node"], node_keys, "a node")
    _check_links(links, by_key, node_keys, problems)

    routes = tuple(Route(key, t["node"], t["to"], t.get("via"), t.get("dev"), t.get("src"),
                         t.get("metric"), t.get("table"))
                   for key, t in doc.get("routes", {}).items())
    for r in routes:
        _same_node_link(f"routes.{r.key}.dev", r.dev, r.node, by_key, problems)
        if r.via is None and r.dev is None:
            problems.append((f"routes.{r.key}", "needs `via`, `dev` or both"))
    ip_rules = tuple(IpRule(key, t["node"], t["priority"], t["table"], t.get("from"),
                            t.get("to")) for key, t in doc.get("ip_rules", {}).items())
    chains = tuple(Chain(key, t["node"], t.get("table", "filter"), t["chain"], t.get("policy"))
                   for key, t in doc.get("chains", {}).items())
    _check_chains(chains, problems)
    iptables = tuple(IptablesRule(key, t["node"], t.get("table", "filter"), t["chain"],
                                  tuple(shlex.split(t["rule"])), t.get("position"))
                     for key, t in doc.get("iptables", {}).items())
    _check_rules(iptables, chains, problems)
    nft = tuple(_nft(key, t, problems) for key, t in doc.get("nft", {}).items())
    servers = tuple(Server(key, t["node"], tuple(t.get("tcp", ())), tuple(t.get("udp", ())),
                           t.get("bind", "0.0.0.0"), t.get("reuseport", False))
                    for key, t in doc.get("servers", {}).items())
    _check_servers(servers, problems)
    checks = tuple(_check(key, t, node_keys, by_key, problems)
                   for key, t in doc.get("checks", {}).items())
    variants = tuple(_variant(key, t, node_keys, problems)
                     for key, t in doc.get("variants", {}).items())
    scale = None
    if "scale" in doc:
        s = doc["scale"]
        scale = Scale(s["host"], s["bridge"], s["subnet"], s["gateway"],
                      s.get("node_prefix", "c"), s.get("veth_prefix", "veth"))
        ref("scale.host", scale.host, node_keys, "a node")
        if by_key.get(scale.bridge) is None or by_key[scale.bridge].kind != "bridge":
            problems.append(("scale.bridge", f"{scale.bridge!r} is not a bridge of this lab"))
    lab = doc["lab"]
    return Topology(
        name=lab["name"], summary=lab["summary"], explain=lab["explain"].strip(), path=path,
        nodes=nodes, links=links, routes=routes, ip_rules=ip_rules, chains=chains,
        iptables=iptables, nft=nft, servers=servers, checks=checks, variants=variants,
        scale=scale,
    )


def _link(key: str, t: dict) -> Link:
    return Link(
        key=key, node=t["node"], name=t.get("name", key), kind=t["kind"],
        addresses=tuple(t.get("addresses", ())), mtu=t.get("mtu"), up=t.get("up", True),
        master=t.get("master"), peer=t.get("peer"), parent=t.get("parent"),
        mode=t.get("mode", "bridge" if t["kind"] == "macvlan" else None),
        vni=t.get("vni"), local=t.get("local"), remote=t.get("remote"), dev=t.get("dev"),
        port=t.get("port", 4789 if t["kind"] == "vxlan" else None),
    )


def _same_node_link(where: str, key: str | None, node: str, by_key: dict[str, Link],
                    problems: Problems, kind: str | None = None) -> None:
    if key is None:
        return
    link = by_key.get(key)
    if link is None:
        problems.append((where, f"{key!r} is not a link of this lab"))
    elif link.node != node:
        problems.append((where, f"link {key!r} is on node {link.node!r}, not {node!r}"))
    elif kind and link.kind != kind:
        problems.append((where, f"link {key!r} is a {link.kind}, not a {kind}"))


def _check_links(links: tuple[Link, ...], by_key: dict[str, Link], node_keys: set[str],
                 problems: Problems) -> None:
    names: dict[tuple[str, str], str] = {}
    partners: dict[str, list[str]] = {link.key: [] for link in links if link.kind == "veth"}
    for link in links:
        where = f"links.{link.key}"
        if link.name == "lo":
            problems.append((f"{where}.name", "lo exists in every namespace already"))
        other = names.setdefault((link.node, link.name), link.key)
        if other != link.key:
            problems.append((f"{where}.name", f"{link.name!r} is already used on node "
                             f"{link.node!r} by links.{other}"))
        for attr, kinds in KIND_ONLY.items():
            if link.kind not in kinds and getattr(link, attr) not in (None, 4789, "bridge"):
                problems.append((f"{where}.{attr}", f"only for {'/'.join(kinds)} links"))
        if link.master is not None:
            _same_node_link(f"{where}.master", link.master, link.node, by_key, problems,
                            kind="bridge")
        if link.kind == "veth" and link.peer is not None:
            peer = by_key.get(link.peer)
            if peer is None or peer.kind != "veth" or peer.key == link.key:
                problems.append((f"{where}.peer", f"{link.peer!r} is not another veth link"))
            else:
                partners[link.key].append(peer.key)
                if peer.peer != link.key:
                    partners[peer.key].append(link.key)
        if link.kind == "macvlan":
            parent = by_key.get(link.parent or "")
            if link.parent is None:
                problems.append((f"{where}.parent", "a macvlan needs a parent link"))
            elif parent is None or parent.kind == "macvlan":
                problems.append((f"{where}.parent", f"{link.parent!r} is not a link that "
                                 "can be a macvlan parent"))
        if link.kind == "vxlan":
            if link.vni is None or not 0 < link.vni < 2**24:
                problems.append((f"{where}.vni", "a vxlan needs a vni between 1 and 16777215"))
            if link.remote is None:
                problems.append((f"{where}.remote", "a vxlan needs the remote underlay address"))
            _same_node_link(f"{where}.dev", link.dev, link.node, by_key, problems)
    for key, found in partners.items():
        if len(found) != 1:
            problems.append((f"links.{key}.peer", "a veth end must pair with exactly one other "
                             f"end (found {len(found)}: {', '.join(found) or 'none'})"))


def _check_chains(chains: tuple[Chain, ...], problems: Problems) -> None:
    seen: set[tuple[str, str, str]] = set()
    for c in chains:
        ident = (c.node, c.table, c.chain)
        if ident in seen:
            problems.append((f"chains.{c.key}", f"{c.table} {c.chain} is declared twice on "
                             f"node {c.node!r}"))
        seen.add(ident)
        if c.builtin and c.policy is None:
            problems.append((f"chains.{c.key}.policy", "a builtin chain entry sets its policy"))
        if not c.builtin and c.policy is not None:
            problems.append((f"chains.{c.key}.policy",
                             f"{c.chain} is a user chain: only builtin chains have a policy"))


def _check_rules(rules: tuple[IptablesRule, ...], chains: tuple[Chain, ...],
                 problems: Problems) -> None:
    user = {(c.node, c.table, c.chain) for c in chains if not c.builtin}
    for r in rules:
        if r.chain not in BUILTIN_CHAINS[r.table] and (r.node, r.table, r.chain) not in user:
            problems.append((f"iptables.{r.key}.chain", f"{r.chain!r} is neither a builtin "
                             f"{r.table} chain nor declared in [chains] on node {r.node!r}"))
        if r.position is not None and r.position < 1:
            problems.append((f"iptables.{r.key}.position", "positions start at 1"))
        if "-j" in r.rule or "-g" in r.rule:
            target = r.rule[(r.rule.index("-j") if "-j" in r.rule else r.rule.index("-g")) + 1:]
            jump = target[0] if target else ""
            if jump and jump.isupper() and jump not in _TARGETS and (
                    r.node, r.table, jump) not in user:
                problems.append((f"iptables.{r.key}.rule", f"jumps to {jump!r}, which is not "
                                 f"declared in [chains] for {r.table} on node {r.node!r}"))


_TARGETS = {"ACCEPT", "DROP", "REJECT", "RETURN", "MASQUERADE", "SNAT", "DNAT", "LOG",
            "MARK", "CONNMARK", "NOTRACK", "CT", "TRACE", "REDIRECT", "TCPMSS", "NFLOG"}


def _nft(key: str, t: dict, problems: Problems) -> NftTable:
    tables = NFT_TABLE_RE.findall(t["ruleset"])
    if len(tables) != 1:
        problems.append((f"nft.{key}.ruleset", "must declare exactly one `table FAMILY NAME {` "
                         f"(found {len(tables)}); netscope deletes that table on undo"))
        return NftTable(key, t["node"], "", "", t["ruleset"])
    family, table = tables[0]
    return NftTable(key, t["node"], family, table, t["ruleset"])


def _check_servers(servers: tuple[Server, ...], problems: Problems) -> None:
    taken: dict[tuple[str, str, int], str] = {}
    shared = {s.key for s in servers if s.reuseport}
    for s in servers:
        for proto, ports in (("tcp", s.tcp), ("udp", s.udp)):
            for port in ports:
                other = taken.setdefault((s.node, proto, port), s.key)
                if other != s.key and not {s.key, other} <= shared:
                    problems.append((f"servers.{s.key}.{proto}", f"{proto} port {port} is "
                                     f"already used on node {s.node!r} by servers.{other}"))


def _check(key: str, t: dict, node_keys: set[str], by_key: dict[str, Link],
           problems: Problems) -> Check:
    where = f"checks.{key}"
    check = Check(key=key, src=t["from"], dst=t["to"], proto=t["proto"], expect=t["expect"],
                  port=t.get("port"), reply=tuple(t.get("reply", ())),
                  reply_all=t.get("reply_all", False), peer=t.get("peer"),
                  payload=t.get("payload"), source=t.get("source"), dev=t.get("dev"),
                  explain=t.get("explain", ""))
    if check.src not in node_keys:
        problems.append((f"{where}.from", f"{check.src!r} is not a node of this lab"))
    if (check.proto in ("tcp", "udp")) != (check.port is not None):
        problems.append((f"{where}.port", "tcp and udp checks need a port; others take none"))
    if check.proto == "arp":
        if check.dev is None:
            problems.append((f"{where}.dev", "an arp check names the link it asks on"))
        _same_node_link(f"{where}.dev", check.dev, check.src, by_key, problems)
    elif check.dev is not None:
        problems.append((f"{where}.dev", "only arp checks name a link"))
    if check.expect == "duplicate" and check.proto != "arp":
        problems.append((f"{where}.expect", "only arp checks can find duplicates"))
    if (check.reply or check.peer) and check.proto not in ("tcp", "udp"):
        problems.append((f"{where}.reply", "only tcp and udp checks read a reply"))
    if check.reply_all and len(check.reply) < 2:
        problems.append((f"{where}.reply_all", "needs at least two names in `reply`"))
    if check.payload and check.proto != {"big": "tcp", "mtu": "icmp"}[check.payload]:
        problems.append((f"{where}.payload", "\"big\" is for tcp checks, \"mtu\" for icmp"))
    if check.source is not None and ipaddress.ip_address(check.source).version != \
            ipaddress.ip_address(check.dst).version:
        problems.append((f"{where}.source", "source and destination families differ"))
    return check


def _variant(key: str, t: dict, node_keys: set[str], problems: Problems) -> Variant:
    variant = Variant(key, t.get("fault", key), t["summary"], t["symptom"].strip(), t["target"])
    node = variant.target.partition(":")[0]
    if node not in node_keys:
        problems.append((f"variants.{key}.target", f"{node!r} is not a node of this lab"))
    return variant


def check_variant_target(topo: Topology, problems: Problems) -> None:
    """A variant's "node:link" target must name a link of the topology it produces."""
    assert topo.variant is not None
    node, _, link = topo.variant.target.partition(":")
    if link:
        by_key = {lk.key: lk for lk in topo.links}
        _same_node_link(f"variants.{topo.variant.key}.target", link, node, by_key, problems)
