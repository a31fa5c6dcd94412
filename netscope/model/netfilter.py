"""Netfilter rulesets (iptables and nftables tables, chains, rules) and conntrack tables.

Rules keep their original text for display and carry a structured form the path walk can
evaluate: a tuple of `NfMatch` (one condition each) plus an action. A match netscope does not
understand is kept with `recognised=False` and its text, never dropped: an evaluator must
treat it as "may or may not match".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from netscope.model.k8s_chains import k8s_chain_label

# NfMatch.field values the path walk can evaluate, and what their values look like
MATCH_FIELDS = {
    "iif": "input interface name; a trailing '+' is a prefix wildcard",
    "oif": "output interface name; a trailing '+' is a prefix wildcard",
    "saddr": "source CIDR, 'a-b' range, or '@set' (a named nft set of the rule's table)",
    "daddr": "destination CIDR, 'a-b' range, or '@set'",
    "proto": "layer-4 protocol name or number (tcp, udp, icmp, 47 ...)",
    "sport": "source port, 'a:b' range",
    "dport": "destination port, 'a:b' range",
    "ct_state": "conntrack state (new, established, related, invalid, untracked)",
    "ct_status": "conntrack status (dnat, snat, confirmed ...)",
    "ct_direction": "original or reply",
    "saddr_type": "address type of the source (local, unicast, broadcast ...)",
    "daddr_type": "address type of the destination",
    "mark": "packet mark 'value' or 'value/mask' (hex)",
    "icmp_type": "ICMP / ICMPv6 type, name or number",
    "physdev_in": "bridge port the packet came in on (br_netfilter)",
    "physdev_out": "bridge port the packet leaves by",
    "physdev_is_bridged": "the packet is being bridged (no value)",
    "ipset": "ipset name and direction flags (contents are not read)",
    "tcp_flags": "'mask comp' as iptables writes them, or nft's flag expression",
    "family": "nfproto of an inet table rule (ipv4, ipv6)",
    "concat": "a concatenation (`ip daddr . meta l4proto . th dport`) looked up in '@set' or "
              "in listed elements 'a . b . c'; NfMatch.key names the component fields",
    "probability": "`-m statistic --mode random --probability p` (or `--mode nth --every n`, "
                   "as 1/n): a random choice per new connection, which the path walk "
                   "follows both ways, with its probability",
}

# Actions that end the walk of the current chain (for the packet, or as a NAT decision)
TERMINAL_ACTIONS = frozenset({
    "accept", "drop", "reject", "return", "queue", "goto", "dnat", "snat", "masquerade",
    "redirect", "notrack", "tproxy",
})

# The netfilter hooks a packet of the inet families crosses, in path order
HOOKS = ("prerouting", "input", "forward", "output", "postrouting")

DOCKER_CHAIN_LABELS = {
    "DOCKER": "Docker: published ports (DNAT in nat, per-container accepts in filter)",
    "DOCKER-USER": "Docker: the administrator's rules, run first in FORWARD",
    "DOCKER-ISOLATION-STAGE-1": "Docker: isolation between networks, stage 1 (leaving a bridge)",
    "DOCKER-ISOLATION-STAGE-2": "Docker: isolation between networks, stage 2 (entering one)",
    "DOCKER-FORWARD": "Docker: forwarding to and from Docker networks",
    "DOCKER-BRIDGE": "Docker: traffic entering each Docker bridge",
    "DOCKER-CT": "Docker: replies of established connections to containers",
    "DOCKER-INTERNAL": "Docker: drops traffic leaving internal networks",
    "DOCKER-INGRESS": "Docker swarm: the ingress routing mesh",
}


# Podman's netavark (iptables backend): fixed chains, and per-network chains named from a hash
NETAVARK_CHAIN_LABELS = {
    "NETAVARK_FORWARD": "Podman (netavark): forwarding to and from Podman networks",
    "NETAVARK-HOSTPORT-DNAT": "Podman (netavark): published ports, one jump per container",
    "NETAVARK-HOSTPORT-SETMARK": "Podman (netavark): marks published-port traffic to masquerade",
    "NETAVARK-HOSTPORT-MASQ": "Podman (netavark): masquerades marked published-port traffic",
    "NETAVARK_ISOLATION_1": "Podman (netavark): isolation between networks, stage 1",
    "NETAVARK_ISOLATION_2": "Podman (netavark): isolation between networks, stage 2",
    "NETAVARK_ISOLATION_3": "Podman (netavark): isolation between networks, stage 3",
    "NETAVARK_INPUT": "Podman (netavark): DNS (aardvark) and other input to the host",
}
# CNI plugins (portmap, bridge with ipMasq, firewall): fixed chains and per-sandbox chains
CNI_CHAIN_LABELS = {
    "CNI-HOSTPORT-DNAT": "CNI portmap: published host ports, one jump per sandbox",
    "CNI-HOSTPORT-SETMARK": "CNI portmap: marks published-port traffic to masquerade",
    "CNI-HOSTPORT-MASQ": "CNI portmap: masquerades marked published-port traffic",
    "CNI-FORWARD": "CNI firewall plugin: forwarding to and from CNI networks",
    "CNI-ADMIN": "CNI firewall plugin: the administrator's rules, run first",
}
PREFIX_LABELS = (
    ("NETAVARK-DN-", "Podman (netavark): DNAT to the containers of one network"),
    ("NETAVARK-", "Podman (netavark): masquerade of one network's outgoing traffic"),
    ("CNI-DN-", "CNI portmap: DNAT to one sandbox's ports"),
    ("CNI-", "CNI bridge (ipMasq): masquerade of one sandbox's outgoing traffic"),
)


def table_key(inode: int, family: str, table: str, backend: str) -> str:
    """"<inode>/<family>/<table>", the family marked "-legacy" for x_tables so that a legacy
    table never shares an id with the nf_tables table of the same name."""
    if backend == "iptables-legacy":
        family += "-legacy"
    return f"{inode}/{family}/{table}"


MARK_BITS = 0xFFFFFFFF


def xmark(xor: int, mask: int) -> str:
    """NfRule.set_mark text for new mark = (mark & ~mask) ^ xor."""
    return f"{xor & MARK_BITS:#x}/{mask & MARK_BITS:#x}"


def mark_after(mark: int, set_mark: str) -> int:
    """The packet mark after a "mark" action whose NfRule.set_mark is `set_mark`."""
    xor, _, mask = set_mark.partition("/")
    return ((mark & ~int(mask or "0", 16)) ^ int(xor, 16)) & MARK_BITS


def runtime_chain_label(chain: str) -> str | None:
    """What a chain Podman's netavark or a CNI plugin (portmap, bridge, firewall) made is
    for, or None."""
    label = NETAVARK_CHAIN_LABELS.get(chain) or CNI_CHAIN_LABELS.get(chain)
    if label is None:
        label = next((text for prefix, text in PREFIX_LABELS if chain.startswith(prefix)),
                     None)
    return label


def chain_label(table: str, chain: str, rules: Sequence[NfRule]) -> str | None:
    """NfChain.label: what a chain Docker, Podman (netavark), a CNI plugin, kube-proxy or a
    NetworkPolicy implementation made is for (kube-proxy's per-service chains name their
    service, from the chain's name or its rules' comments). Every reader of rulesets sets
    labels with this."""
    return (DOCKER_CHAIN_LABELS.get(chain) or k8s_chain_label(table, chain, rules)
            or runtime_chain_label(chain))


@dataclass(frozen=True)
class NfMatch:
    """One condition of a rule: `field` (see MATCH_FIELDS) compared with any of `values`.

    `recognised=False` marks a match netscope cannot evaluate (field is then the module or
    expression name, e.g. "limit", "xt:addrtype"); `text` is always the source fragment.
    `key` is only set for field "concat": the MATCH_FIELDS names of the concatenated
    components, in order (("daddr", "proto", "dport")).
    """

    field: str
    values: tuple[str, ...] = ()
    negated: bool = False
    recognised: bool = True
    text: str = ""
    key: tuple[str, ...] = ()


@dataclass(frozen=True)
class NfElement:
    """One element of a named set or map, or of an anonymous map written in a rule.

    `key` holds one item per component of the set's type (one for `ipv4_addr`, three for
    `ipv4_addr . inet_proto . inet_service`), each as nft writes it: an address, a CIDR
    prefix, an 'a-b' range, a protocol name, a port or a number. `value` is a map element's
    data: a verdict ("accept", "drop", "return", "jump CHAIN", "goto CHAIN") in a verdict
    map, an address, port or mark in a data map, None in a plain set. `comment` is the
    element's own comment (kube-proxy names the service there: "ns6/svc6:p80").
    """

    key: tuple[str, ...]
    value: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class NfSet:
    """A named nftables set or map of one table (`nfset:<inode>/<family>/<table>/<name>`).

    `key_type` is the set's type, one item per concatenated component (`ipv4_addr`,
    `inet_proto`, `inet_service`, `ifname`, `mark` ...). `data_type` is None for a set,
    "verdict" for a verdict map (`vmap`), another type (`ipv4_addr`, `inet_service` ...) for
    a data map. `flags` as nft lists them (interval, timeout, dynamic, constant). A `dynamic`
    set is filled by the packet path itself (kube-proxy's session-affinity sets): its
    `elements` are what it held when it was read, and change with traffic.
    """

    id: str
    netns: str
    family: str
    table: str
    name: str
    key_type: tuple[str, ...]
    data_type: str | None = None
    flags: tuple[str, ...] = ()
    elements: tuple[NfElement, ...] = ()
    comment: str | None = None
    handle: int | None = None

    @property
    def kind(self) -> str:
        """"set", "vmap" (a verdict map) or "map" (a data map)."""
        if self.data_type is None:
            return "set"
        return "vmap" if self.data_type == "verdict" else "map"


@dataclass(frozen=True)
class NfLookup:
    """A map a rule looks a key up in: the verdict map of a `vmap` rule, or the map a NAT
    rule takes its address from (`dnat to numgen inc mod 2 map { 0 : a, 1 : b }`).

    `key` names what is looked up: MATCH_FIELDS names, one per concatenated component
    (("daddr", "proto", "dport") for `ip daddr . meta l4proto . th dport`), or ("numgen",)
    for a number generator, then described by `numgen` (`random` or `inc`), `modulus` and
    `offset`: it yields offset .. offset+modulus-1, each with probability 1/modulus for
    `random` (the walk follows every value as a choice). The map is the named map `map`
    ("@name", a set of the rule's table) or the anonymous `elements` written in the rule.
    """

    key: tuple[str, ...]
    map: str | None = None
    elements: tuple[NfElement, ...] = ()
    numgen: str | None = None
    modulus: int | None = None
    offset: int = 0


@dataclass(frozen=True)
class NfRule:
    """A rule: its conditions, what it does, and its counters.

    `action` is lower-case: accept, drop, reject, return, queue, jump, goto, dnat, snat,
    masquerade, redirect, log, mark, vmap, notrack ... or "none" for a rule that only counts.
    `jump` is the chain of a jump/goto; `nat_to` the address[:port] (or ports) a NAT action
    translates to (":port" alone when the address comes from `lookup`); `action_args` every
    option of the action as written.
    `set_mark` is what a "mark" action does to the packet mark, in the kernel's own form
    "xor/mask" (hex): new mark = (mark & ~mask) ^ xor. Every way of writing it reduces to
    that: iptables' --set-xmark as is, --set-mark v/m = v/(m|v), --or-mark b = b/b,
    --xor-mark b = b/0, --and-mark b = 0/~b; nft's `meta mark set mark or 0x4000` likewise.
    `lookup` is the map a "vmap" rule (or a NAT rule taking its address from a map) reads.
    """

    id: str
    netns: str
    family: str
    table: str
    chain: str
    position: int
    text: str
    action: str
    matches: tuple[NfMatch, ...] = ()
    jump: str | None = None
    nat_to: str | None = None
    action_args: dict[str, str] = field(default_factory=dict)
    packets: int | None = None
    bytes: int | None = None
    comment: str | None = None
    handle: int | None = None
    set_mark: str | None = None
    lookup: NfLookup | None = None

    @property
    def terminal(self) -> bool:
        return self.action in TERMINAL_ACTIONS

    @property
    def unrecognised(self) -> tuple[NfMatch, ...]:
        return tuple(m for m in self.matches if not m.recognised)


@dataclass(frozen=True)
class NfChain:
    """A chain. Base chains have a `hook` (prerouting ... postrouting, or ingress/egress),
    a `priority` and a `policy`; user chains have none of them and are entered by jumps.

    `packets`/`bytes` are the policy counters iptables keeps per base chain (None for nft).
    `label` says what a chain Docker, kube-proxy or a NetworkPolicy implementation made is
    for (see chain_label).
    """

    id: str
    netns: str
    family: str
    table: str
    name: str
    rules: tuple[NfRule, ...] = ()
    hook: str | None = None
    type: str | None = None
    priority: int | None = None
    policy: str | None = None
    packets: int | None = None
    bytes: int | None = None
    handle: int | None = None
    label: str | None = None

    @property
    def is_base(self) -> bool:
        return self.hook is not None


@dataclass(frozen=True)
class NfTable:
    """A table in one namespace. `backend` is how it was read:

    "iptables-nft" (iptables-save of an nf_tables table iptables manages), "iptables-legacy"
    (x_tables, iptables-legacy-save) or "nft" (a native nftables table, nft -j).
    `family` is ip, ip6, inet, arp, bridge or netdev. `sets` are its named sets and maps
    (nft only: iptables has none), with their elements.
    """

    id: str
    netns: str
    family: str
    name: str
    backend: str
    chains: tuple[NfChain, ...] = ()
    handle: int | None = None
    sets: tuple[NfSet, ...] = ()


@dataclass(frozen=True)
class CtTuple:
    """One direction of a connection. ICMP has no ports: type/code/id instead."""

    src: str
    dst: str
    sport: int | None = None
    dport: int | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    icmp_id: int | None = None


@dataclass(frozen=True)
class ConntrackEntry:
    """A tracked connection. NAT shows as `reply` not mirroring `orig`.

    `state` is the TCP (or SCTP/DCCP) state; `status` the IPS_* flags (ASSURED, SEEN_REPLY,
    SRC_NAT, DST_NAT ...). Counters are None unless accounting (nf_conntrack_acct) is on.
    """

    id: str
    family: str
    proto: str
    orig: CtTuple
    reply: CtTuple
    status: tuple[str, ...] = ()
    state: str | None = None
    timeout: int | None = None
    mark: int = 0
    zone: int = 0
    orig_packets: int | None = None
    orig_bytes: int | None = None
    reply_packets: int | None = None
    reply_bytes: int | None = None

    @property
    def dnat(self) -> bool:
        return (self.reply.src, self.reply.sport) != (self.orig.dst, self.orig.dport)

    @property
    def snat(self) -> bool:
        return (self.reply.dst, self.reply.dport) != (self.orig.src, self.orig.sport)


@dataclass(frozen=True)
class ConntrackTable:
    """The conntrack table of one namespace (`conntrack:<inode>`).

    `active` is False when conntrack does not run there (module not loaded, or nothing in
    the namespace uses it); `reason` then says why, and `entries` is empty because there is
    nothing to read, not because the table is empty. `count` is nf_conntrack_count (the
    total); at most a cap of entries is kept, and `truncated` says when some were left out.
    """

    id: str
    netns: str
    active: bool
    reason: str | None = None
    count: int | None = None
    max: int | None = None
    accounting: bool = False
    truncated: bool = False
    entries: tuple[ConntrackEntry, ...] = ()


# xt extensions (as iptables-save names them, or nft -j's "xt:<name>") that need conntrack
_CT_MODULES = {"conntrack", "state", "connmark", "connbytes", "connlabel", "connlimit",
               "helper", "cluster", "ct"}
_CT_FIELDS = {"ct_state", "ct_status", "ct_direction", *_CT_MODULES}
_CT_ACTIONS = {"dnat", "snat", "masquerade", "redirect", "netmap", "ct", "connmark"}


def conntrack_users(tables: tuple[NfTable, ...] | list[NfTable]) -> list[str]:
    """What in these rulesets makes the kernel track connections (empty: nothing does).

    NAT (a nat table or nat-type chain, a NAT action) and any conntrack match or ct
    expression do; each item says what and where ("nat chain ip nat/POSTROUTING").
    """
    out = []
    for t in tables:
        for c in t.chains:
            where = f"{t.family} {t.name}/{c.name}"
            if c.hook and (c.type == "nat" or (t.name == "nat" and t.backend != "nft")):
                out.append(f"nat chain {where}")
            for r in c.rules:
                fields = {m.field.removeprefix("xt:") for m in r.matches}
                if fields & _CT_FIELDS:
                    out.append(f"a conntrack match in {where}")
                elif r.action.removeprefix("xt:") in _CT_ACTIONS or \
                        r.action_args.get("set", "").startswith("ct "):
                    out.append(f"a {r.action} rule in {where}")
    return out
