"""The one hop explainer: a sentence saying what the kernel did to a packet at a hop, and why.

Expected hops (the static walk) carry the explanation the walk wrote; observed hops (the
tracer) are explained here from the host graph: veth peers, bridges, the route the kernel's
lookup (policy rules honoured) picks. `path`, `trace`, `check` and the TUI all show these.
"""

from __future__ import annotations

from netscope.graph.host import HostGraph
from netscope.model.journey import Hop
from netscope.model.labels import route_text

TABLE_NAMES = {255: "local", 254: "main", 253: "default"}

# what a drop reason means, for someone learning (the names come from the kernel)
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


def _route_words(graph: HostGraph, hop: Hop) -> str:
    """What the graph's route lookup (the kernel's, policy rules included) picks for the
    hop's packet, when it agrees with the table the kernel reported."""
    if not hop.dst or not hop.netns:
        return ""
    family = "inet6" if ":" in hop.dst else "inet"
    src = hop.src or ("0.0.0.0" if family == "inet" else "::")
    try:
        lk = graph.route_lookup(hop.netns, family, src, hop.dst)
    except ValueError:
        return ""
    if lk.route is None:
        return ""
    table = TABLE_NAMES.get(lk.route.table, str(lk.route.table))
    if hop.decision and f"table {table}" not in hop.decision:
        return ""  # the kernel used another table (a rule on a mark or iif): say only that
    rule = (f" (policy rule {lk.rule.priority} -> table {table})"
            if lk.rule is not None and lk.rule.priority not in (0, 32766) else "")
    return f": the longest matching prefix is '{route_text(lk.route, graph)}'{rule}"


def explain_hop(graph: HostGraph, hop: Hop) -> str:
    """One sentence: what the kernel did to the packet at this hop, and why."""
    if hop.explain:
        return hop.explain
    ns, dev = hop.netns_name, hop.device or "-"
    link = graph.links.get(hop.link) if hop.link else None
    peer = graph.veth_peer(link) if link is not None else None
    bridge = graph.bridge_of(link) if link is not None else None
    if hop.dropped:
        why = DROP_REASON_WORDS.get(hop.drop_reason or "", "")
        text = f"Dropped at {dev} in {ns}: {hop.drop_reason or 'no reason given'}"
        text += f", {why}" if why else ""
        return text + (f" (in {hop.location})." if hop.location else ".")
    if hop.step == "bridge":
        return (f"Bridge {dev} in {ns} looks the destination MAC up in its forwarding "
                "database and sends the frame out of the port that leads to it"
                + (f" ({hop.decision})." if hop.decision else "."))
    if hop.step == "route":
        if hop.verdict == "no route":
            return f"Route lookup in {ns}: {hop.decision}: the kernel has nowhere to send it."
        what = hop.decision or "the kernel chose where the packet goes next"
        return f"Route lookup in {ns}: {what}{_route_words(graph, hop)}."
    if hop.step == "netfilter":
        verdict = (hop.verdict or "?").upper()
        return (f"Netfilter in {ns}: {hop.rule or 'a chain'} decided {verdict}"
                f"{' (the packet goes on)' if verdict == 'ACCEPT' else ''}.")
    if hop.step == "nat":
        return (f"NAT in {ns} rewrote the packet: {hop.nat or hop.decision or 'addresses'}; "
                "conntrack remembers it and translates the replies back.")
    if hop.step == "connect":
        return (f"A socket in {ns} connects ({hop.decision}); its packets are followed from "
                "here, through any rewrite of their destination.")
    if hop.step == "consume":
        return (f"This copy of the packet was freed normally in {ns}"
                f"{f' ({hop.decision})' if hop.decision else ''}: not a drop; the kernel "
                "lets go of clones and of packets handed on elsewhere (e.g. queued for ARP).")
    if hop.step == "deliver":
        return f"Delivered to a socket in {ns}: the destination address is local there."
    if hop.step in ("xmit", "queue"):
        if peer is not None:
            return (f"{dev} in {ns} sends it into the veth pair; it comes out of "
                    f"{graph.link_label(peer.id)}.")
        if link is not None and link.kind == "bridge":
            return f"Bridge {dev} in {ns} sends it out of the port its FDB names for the MAC."
        return f"{dev} in {ns} transmits the packet" + (
            f" ({hop.verdict})." if hop.verdict and hop.verdict != "ok" else ".")
    if bridge is not None:
        return (f"{dev} is a port of bridge {bridge.name}: the bridge looks the destination "
                "MAC up in its forwarding database and picks the port to send it out of.")
    if peer is not None:
        return f"{dev} in {ns} receives it from its veth peer {graph.link_label(peer.id)}."
    return f"{dev} in {ns} receives the packet."


def hop_title(hop: Hop) -> str:
    """A short line: "web eth0 xmit", "host docker0 route", "host veth1 drop NETFILTER_DROP"."""
    text = f"{hop.netns_name} {hop.device or '-'} {hop.step}"
    if hop.dropped and hop.drop_reason:
        text += f" {hop.drop_reason}"
    elif hop.step == "netfilter" and hop.verdict:
        text += f" {hop.verdict}"
    return text
