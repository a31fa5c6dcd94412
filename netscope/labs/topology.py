"""A validated lab topology: frozen dataclasses, every reference already checked.

Objects are keyed by the id they have in the topology file (`[links.vethc1]` has key
"vethc1"); references between them use those keys. See topology/README.md for the format.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NODE_ROLES = ("host", "container", "pod", "internet", "lan", "router")
LINK_KINDS = ("veth", "bridge", "vxlan", "macvlan")
MACVLAN_MODES = ("bridge", "private", "vepa", "passthru")
IPTABLES_TABLES = ("filter", "nat", "mangle", "raw")
BUILTIN_CHAINS = {
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "raw": ("PREROUTING", "OUTPUT"),
}
CHECK_PROTOS = ("icmp", "tcp", "udp", "arp")
# What a reachability check can observe; `duplicate` only for arp.
CHECK_OUTCOMES = ("ok", "timeout", "refused", "unreachable", "duplicate")
# every namespace a lab instance (or a lesson) creates is called nsl-<instance>-<node>
PREFIX = "nsl-"


def ns_name(instance: str, node: str) -> str:
    """The namespace of `node` in lab instance `instance`."""
    return f"{PREFIX}{instance}-{node}"


@dataclass(frozen=True)
class Node:
    """A network namespace of the lab ("container", "host", "internet" ...)."""

    key: str
    role: str
    sysctl: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Link:
    """An interface in a node. veth ends name their `peer`; macvlan names its `parent`."""

    key: str
    node: str
    name: str
    kind: str
    addresses: tuple[str, ...] = ()
    mtu: int | None = None
    up: bool = True
    master: str | None = None
    peer: str | None = None
    parent: str | None = None
    mode: str | None = None
    vni: int | None = None
    local: str | None = None
    remote: str | None = None
    dev: str | None = None
    port: int | None = None


@dataclass(frozen=True)
class Route:
    key: str
    node: str
    to: str
    via: str | None = None
    dev: str | None = None
    src: str | None = None
    metric: int | None = None
    table: int | None = None


@dataclass(frozen=True)
class IpRule:
    """A policy-routing rule (`ip rule add`)."""

    key: str
    node: str
    priority: int
    table: int
    src: str | None = None
    dst: str | None = None


@dataclass(frozen=True)
class Chain:
    """An iptables chain: a builtin chain's policy, or a user chain to create."""

    key: str
    node: str
    table: str
    chain: str
    policy: str | None = None

    @property
    def builtin(self) -> bool:
        return self.chain in BUILTIN_CHAINS[self.table]


@dataclass(frozen=True)
class IptablesRule:
    key: str
    node: str
    table: str
    chain: str
    rule: tuple[str, ...]
    position: int | None = None


@dataclass(frozen=True)
class NftTable:
    """A native nftables table, loaded with `nft -f`."""

    key: str
    node: str
    family: str
    table: str
    ruleset: str


@dataclass(frozen=True)
class Server:
    """A small responder (netscope/labs/serve.py) started in a node, stopped at teardown.

    It answers every TCP connection and UDP datagram with "<key> <peer address>\\n".
    A server without ports just holds its place (a pod's "pause" process). `bind` is the
    address it listens on (every address of its namespace by default); `reuseport` sets
    SO_REUSEPORT, so that another server may listen on the same port.
    """

    key: str
    node: str
    tcp: tuple[int, ...] = ()
    udp: tuple[int, ...] = ()
    bind: str = "0.0.0.0"
    reuseport: bool = False


@dataclass(frozen=True)
class Check:
    """Real traffic that proves (or disproves) a reachability claim of the lab."""

    key: str
    src: str
    dst: str
    proto: str
    expect: str
    port: int | None = None
    reply: tuple[str, ...] = ()
    reply_all: bool = False
    peer: str | None = None
    payload: str | None = None
    source: str | None = None
    dev: str | None = None
    explain: str = ""


@dataclass(frozen=True)
class Variant:
    """A broken variant: the fault it plants (a netscope.labs.faults id) and its symptom."""

    key: str
    fault: str
    summary: str
    symptom: str
    target: str


@dataclass(frozen=True)
class Scale:
    """How `--containers N` replaces the lab's containers with N generated ones."""

    host: str
    bridge: str
    subnet: str
    gateway: str
    node_prefix: str = "c"
    veth_prefix: str = "veth"


@dataclass(frozen=True)
class Topology:
    """A whole lab, with one variant (or none) already applied."""

    name: str
    summary: str
    explain: str
    path: str
    nodes: tuple[Node, ...]
    links: tuple[Link, ...] = ()
    routes: tuple[Route, ...] = ()
    ip_rules: tuple[IpRule, ...] = ()
    chains: tuple[Chain, ...] = ()
    iptables: tuple[IptablesRule, ...] = ()
    nft: tuple[NftTable, ...] = ()
    servers: tuple[Server, ...] = ()
    checks: tuple[Check, ...] = ()
    variants: tuple[Variant, ...] = ()
    scale: Scale | None = None
    variant: Variant | None = None
    scaled: int | None = None

    @property
    def ref(self) -> str:
        """"lab" or "lab/variant": how `netscope lab up` names this topology."""
        return f"{self.name}/{self.variant.key}" if self.variant else self.name

    def link(self, key: str) -> Link:
        return next(link for link in self.links if link.key == key)

    def node(self, key: str) -> Node:
        return next(node for node in self.nodes if node.key == key)
