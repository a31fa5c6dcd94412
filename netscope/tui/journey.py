"""A packet's journey as the TUI shows it: hops placed on the snapshot, each explained.

Pure (no Textual). A journey comes from the tracer (`journey_from_events` takes its probe
events: hook, netns inode, ifindex, drop reason ...) or from a recorded hop list
(`load_journey`, the JSON described in `journey_document`). Each hop is explained in one
sentence of what the kernel did there and why, from the snapshot (routes, veth peers, bridges).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from netscope.graph.host import HostGraph
from netscope.model import link_id, ns_id
from netscope.model.labels import route_text

JOURNEY_FORMAT = "netscope-journey"

# what a drop reason means, for someone learning (names come from the kernel's tracefs)
DROP_REASON_WORDS = {
    "NETFILTER_DROP": "a netfilter rule or chain policy (iptables/nft) said DROP",
    "NO_SOCKET": "no socket was listening for it",
    "IP_NOPROTO": "no handler for its IP protocol",
    "IP_INADDRERRORS": "its destination address is not valid here",
    "IP_INNOROUTES": "there is no route to its destination",
    "IP_RPFILTER": "reverse-path filtering: the reply would not leave by this interface",
    "NEIGH_FAILED": "the next hop's MAC address could not be resolved (ARP/NDP failed)",
    "NEIGH_QUEUEFULL": "too many packets waited for ARP/NDP resolution",
    "PKT_TOO_BIG": "it is bigger than the MTU and must not be fragmented",
    "OTHERHOST": "it was addressed to another host's MAC address",
    "DEV_READY": "the device is down",
    "TC_INGRESS": "a tc ingress filter dropped it",
    "TC_EGRESS": "a tc egress filter dropped it",
    "XDP": "an XDP program dropped it",
}


@dataclass(frozen=True)
class Hop:
    """One place a packet was seen: namespace and device ids, the hook, the verdict.

    hook: receive, queue, xmit, bridge, route (or fib), netfilter, nat, drop, deliver,
    consume (the tracer's names). `detail` is what the
    tracer knows beyond that: the rule text of a netfilter verdict, the NAT rewrite, the
    chosen route. `src` and `dst` are the packet's addresses at this hop.
    """

    netns: str
    link: str | None
    hook: str
    verdict: str = "pass"
    reason: str | None = None
    detail: str | None = None
    dst: str | None = None
    ts_ns: int = 0
    src: str | None = None
    # the device's name as the tracer reported it, for hops it could not place (link None)
    device: str | None = None

    @property
    def dropped(self) -> bool:
        return self.verdict == "drop" or self.hook == "drop"


@dataclass(frozen=True)
class Journey:
    """The packet (described in a line) and its hops in order."""

    packet: str
    hops: tuple[Hop, ...]

    @property
    def drop_index(self) -> int | None:
        return next((i for i, h in enumerate(self.hops) if h.dropped), None)


def _where(graph: HostGraph, hop: Hop) -> tuple[str, str]:
    ns = graph.ns_name(hop.netns)
    link = graph.links.get(hop.link) if hop.link else None
    return ns, (link.name if link else (hop.device or hop.link or "-"))


def explain_hop(graph: HostGraph, hop: Hop) -> str:
    """One sentence: what the kernel did to the packet at this hop, and why."""
    ns, dev = _where(graph, hop)
    link = graph.links.get(hop.link) if hop.link else None
    peer = graph.veth_peer(link) if link is not None else None
    bridge = graph.master(link) if link is not None else None
    if hop.dropped:
        why = DROP_REASON_WORDS.get(hop.reason or "", "")
        text = f"Dropped at {dev} in {ns}: {hop.reason or 'no reason given'}"
        text += f", {why}" if why else ""
        return text + (f" ({hop.detail})." if hop.detail else ".")
    if hop.hook == "bridge":
        return (f"Bridge {dev} in {ns} looks the destination MAC up in its forwarding "
                "database and sends the frame out of the port that leads to it"
                + (f" ({hop.detail})." if hop.detail else "."))
    if hop.hook in ("fib", "route"):
        if hop.detail:
            return f"Route lookup in {ns}: {hop.detail}."
        if hop.dst is None:
            return f"Route lookup in {ns}: the kernel chose where the packet goes next."
        family = "inet6" if ":" in hop.dst else "inet"
        src = hop.src or ("0.0.0.0" if family == "inet" else "::")
        lk = graph.route_lookup(hop.netns, family, src, hop.dst)
        if lk.route is None:
            return f"Route lookup in {ns} for {hop.dst}: no route matches."
        rule = (f" (policy rule {lk.rule.priority}: table {lk.table})"
                if lk.rule is not None and lk.rule.priority not in (0, 32766) else "")
        return (f"Route lookup in {ns} for {hop.dst}: the longest matching prefix is "
                f"'{route_text(lk.route, graph)}'{rule}, so the packet leaves by that device.")
    if hop.hook == "netfilter":
        return (f"Netfilter in {ns}: {hop.detail or 'a chain'} decided {hop.verdict.upper()}"
                f"{' (the packet goes on)' if hop.verdict == 'accept' else ''}.")
    if hop.hook == "nat":
        return f"NAT in {ns} rewrote the packet: {hop.detail or 'addresses changed'}."
    if hop.hook == "consume":
        return (f"This copy of the packet was freed normally in {ns}"
                f"{f' ({hop.detail})' if hop.detail else ''}: not a drop; the kernel lets go "
                "of clones and of packets handed on elsewhere (e.g. queued for ARP).")
    if hop.hook == "deliver":
        return f"Delivered to a socket in {ns}: the destination address is local there."
    if hop.hook in ("xmit", "queue"):
        if peer is not None:
            return (f"{dev} in {ns} sends it into the veth pair; it comes out of "
                    f"{graph.link_label(peer.id)}.")
        if link is not None and link.kind == "bridge":
            return f"Bridge {dev} in {ns} forwards it out of the port its FDB names for the MAC."
        return f"{dev} in {ns} transmits the packet."
    if bridge is not None:
        return (f"{dev} is a port of bridge {bridge.name}: the bridge looks the destination MAC "
                "up in its forwarding database and picks the port to send it out of.")
    if peer is not None:
        return f"{dev} in {ns} receives it from its veth peer {graph.link_label(peer.id)}."
    return f"{dev} in {ns} receives the packet."


def hop_title(graph: HostGraph, hop: Hop) -> str:
    """A short line: "web eth0 xmit", "host docker0 fib", "host veth1 drop NETFILTER_DROP"."""
    ns, dev = _where(graph, hop)
    text = f"{ns} {dev} {hop.hook}"
    if hop.dropped and hop.reason:
        text += f" {hop.reason}"
    elif hop.hook == "netfilter":
        text += f" {hop.verdict}"
    return text


def journey_from_events(events, packet: str, reason_names: dict[int, str]) -> Journey:
    """A journey from the tracer's probe events (objects with hook, netns inode, ifindex,
    reason, tuple ...), in the order given."""
    hops = []
    for e in events:
        dst = e.tuple.dst if getattr(e, "tuple", None) else None
        hops.append(Hop(netns=ns_id(e.netns), link=link_id(e.netns, e.ifindex) if e.ifindex
                        else None, hook=e.hook, verdict="drop" if e.hook == "drop" else "pass",
                        reason=reason_names.get(e.reason) if e.hook == "drop" else None,
                        dst=dst, ts_ns=e.ts_ns,
                        src=e.tuple.src if getattr(e, "tuple", None) else None))
    return Journey(packet=packet, hops=tuple(hops))


def load_journey(text: str) -> Journey:
    """A recorded journey (JSON, see `journey_document`). Raises ValueError when malformed."""
    doc = json.loads(text)
    if doc.get("format") != JOURNEY_FORMAT:
        raise ValueError(f"not a {JOURNEY_FORMAT} document")
    fields = set(Hop.__dataclass_fields__)
    hops = []
    for raw in doc["hops"]:
        unknown = set(raw) - fields
        if unknown:
            raise ValueError(f"unknown hop field(s): {', '.join(sorted(unknown))}")
        hops.append(Hop(**raw))
    return Journey(packet=doc["packet"], hops=tuple(hops))


def journey_document(journey: Journey) -> dict:
    """{"format": "netscope-journey", "packet": ..., "hops": [{netns, link, hook, ...}]}"""
    return {"format": JOURNEY_FORMAT, "version": 1, "packet": journey.packet,
            "hops": [h.__dict__ for h in journey.hops]}
