"""The static path walk: what the kernel would do with one packet, hop by hop.

Starting in the source namespace, it follows policy rules and route lookups, the netfilter
hooks in order (evaluated against the structured rules), NAT, forwarding switches and
rp_filter, neighbours, veth crossings into peer namespaces, bridge forwarding (with
br_netfilter's FORWARD pass when bridge-nf-call-iptables is on) and VXLAN encapsulation,
until the packet is delivered, dropped, leaves the host, or the snapshot cannot say.
Then it walks the reply the same way, with conntrack undoing the NAT.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from netscope.analysis.path.delivery import deliver
from netscope.analysis.path.stops import Fork
from netscope.analysis.path.stops import Stop as _Stop
from netscope.analysis.path.walk_dp import DatapathStages
from netscope.analysis.path.walk_end import branch_summary, last_packet, unanswered
from netscope.analysis.path.walk_l2 import MACVLAN_KINDS, L2Stages
from netscope.analysis.path.walk_nf import NetfilterStages
from netscope.graph.host import HostGraph
from netscope.graph.routing import Lookup
from netscope.model import Link, Snapshot
from netscope.model.journey import Branch, Hop, Journey, Packet, branches_verdict
from netscope.model.journey import Verdict as End

MAX_HOPS = 200


class Walker(NetfilterStages, L2Stages, DatapathStages):
    """One walk (and its reply) over one snapshot, with the random choices in `decisions`
    taken (rule id -> option; see netscope.analysis.path.netfilter.Choice)."""

    def __init__(self, graph: HostGraph, decisions: Mapping[str, str] | None = None) -> None:
        self.g = graph
        self.decisions = dict(decisions or {})
        self.hops: list[Hop] = []
        self.nat: list[tuple[str, str, Packet, Packet]] = []  # (netns, kind, before, after)
        self.seen: set[tuple] = set()
        self.refusal: Packet | None = None  # what the kernel answered a refused packet with
        self.final: Packet | None = None  # the packet as it was where the walk stopped

    # ------------------------------------------------------------------ recording

    def hop(self, netns: str, device: str | None, step: str, decision: str, explain: str,
            pkt: Packet, evidence: tuple[str, ...] = ()) -> None:
        if len(self.hops) >= MAX_HOPS:
            raise _Stop(End.UNKNOWN, "the walk is too long (a loop?)", netns)
        link = self.g.link_named(netns, device)
        self.hops.append(Hop(netns, self.g.ns_name(netns), device, step, decision, explain,
                             tuple(e for e in evidence if e), pkt.describe(),
                             link.id if link is not None else None, pkt.src, pkt.dst))

    def stop(self, netns: str, device: str | None, end: End, reason: str, pkt: Packet,
             explain: str = "", evidence: tuple[str, ...] = ()) -> None:
        step = {End.DELIVERED: "deliver", End.LEFT_HOST: "xmit", End.REFUSED: "refuse"
                }.get(end, "drop")
        self.hop(netns, device, step, reason, explain or reason, pkt, evidence)
        self.final = pkt
        raise _Stop(end, reason, netns)

    # ------------------------------------------------------------------ routing

    def lookup(self, pkt: Packet, netns: str, iif: str | None) -> Lookup:
        return self.g.route_lookup(netns, pkt.family, pkt.src, pkt.dst, iif=iif, mark=pkt.mark)

    def _route_words(self, lk: Lookup) -> tuple[str, tuple[str, ...]]:
        r = lk.route
        if r is None:
            return "no route", ()
        hop = r.nexthops[0] if r.nexthops else None
        dev = self.g.links[hop.link].name if hop and hop.link in self.g.links else "?"
        via = f" via {hop.gateway}" if hop and hop.gateway else ""
        table = {254: "main", 255: "local"}.get(r.table, str(r.table))
        rule = f", rule {lk.rule.priority}" if lk.rule and lk.rule.priority not in (0, 32766) \
            else ""
        return f"{r.dst}{via} dev {dev} (table {table}{rule})", (r.id, lk.rule.id if lk.rule
                                                                else "")

    # ------------------------------------------------------------------ stages

    def output(self, pkt: Packet, netns: str) -> None:
        """A packet the namespace itself sends."""
        lk = self.lookup(pkt, netns, "lo")
        words, ev = self._route_words(lk)
        if lk.kind == "local":
            before = pkt
            pkt = self.netfilter(pkt, netns, "output", None, "lo", "lo")
            if pkt.dst != before.dst:  # DNAT in OUTPUT (a published port used locally)
                lk = self.lookup(pkt, netns, "lo")
                words, ev = self._route_words(lk)
        if lk.kind == "local":
            self.deliver(pkt, netns, self.g.link_named(netns, "lo"), ev,
                         f"{pkt.dst} is local to this namespace",
                         "The destination is one of this namespace's own addresses: the "
                         "packet loops back to it.")
        if lk.kind != "unicast" or lk.route is None:
            self.stop(netns, None, End.NO_ROUTE, f"no route to {pkt.dst}" if lk.kind == "none"
                      else f"route type {lk.kind} for {pkt.dst}", pkt,
                      f"The routing tables of {self.g.ns_name(netns)} have no usable route to "
                      f"{pkt.dst}, so the kernel answers 'network unreachable'.", ev)
        oif, gateway = self._nexthop(lk)
        self.hop(netns, oif.name, "output-route", f"route {words}",
                 f"Route lookup picks {words}: the longest matching prefix wins.", pkt, ev)
        before = pkt
        if "dnat" not in pkt.ct_status:  # already through OUTPUT's NAT above
            pkt = self.netfilter(pkt, netns, "output", None, oif.name, oif.name)
        if pkt.dst != before.dst:  # DNAT on output: route again
            lk = self.lookup(pkt, netns, "lo")
            oif, gateway = self._nexthop(lk)
        self.post_and_xmit(pkt, netns, None, oif, gateway)

    def _nexthop(self, lk: Lookup) -> tuple[Link, str | None]:
        hop = lk.route.nexthops[0] if lk.route and lk.route.nexthops else None
        if hop is None or hop.link not in self.g.links:
            raise _Stop(End.UNKNOWN, "the route has no output device netscope knows", None)
        return self.g.links[hop.link], hop.gateway

    def post_and_xmit(self, pkt: Packet, netns: str, iif: str | None, oif: Link,
                      gateway: str | None) -> None:
        pkt = self.netfilter(pkt, netns, "postrouting", iif, oif.name, oif.name)
        if pkt.ct_state != "new":
            pkt = self.undo_nat(pkt, netns, "post")
        if pkt.size > oif.mtu:
            self.too_big(pkt, oif, "forwarded" if iif is not None else "sent")
        self.xmit(pkt, oif, gateway or pkt.dst)

    def too_big(self, pkt: Packet, link: Link, how: str, bridge: Link | None = None) -> None:
        """Stop: a `pkt.size`-byte packet (don't-fragment) does not fit `link`'s MTU. `how`:
        "sent" (this namespace's own packet: the sender's call fails), "forwarded" (the
        router answers ICMP fragmentation needed), "bridged" (`bridge` drops the frame
        silently), "received" (a veth peer with a smaller MTU drops it silently)."""
        size, mtu, dev = pkt.size, link.mtu, link.name
        reason = f"{size}-byte packet too big for {dev} (MTU {mtu})"
        explain = {
            "sent": f"The packet is larger than {dev}'s MTU ({mtu}) and may not be "
                    "fragmented: the kernel refuses to send it ('message too long').",
            "forwarded": f"The packet must leave by {dev}, whose MTU is {mtu}, and may not be "
                         "fragmented (DF): it is dropped and the router answers ICMP "
                         f"'fragmentation needed' (MTU {mtu}), so the sender can shrink.",
            "bridged": f"{bridge.name if bridge else 'The bridge'} would send the frame out "
                       f"of {dev}, whose MTU is {mtu}: a bridge does not fragment or answer "
                       "with ICMP, it drops the frame silently (an MTU black hole).",
            "received": f"{dev} takes frames up to its MTU ({mtu}): the larger frame from "
                        "its peer is dropped silently.",
        }[how]
        self.stop(link.netns, dev, End.DROPPED, reason, pkt, explain, (link.id,))

    def xmit(self, pkt: Packet, link: Link, nexthop: str) -> None:
        netns = link.netns
        if not link.up:
            self.stop(netns, link.name, End.DROPPED, f"{link.name} is down", pkt,
                      f"The route leaves by {link.name}, but that interface is down: the "
                      "kernel cannot send on it.", (link.id,))
        self.bpf_decides(pkt, link, ingress=False)
        neigh = self.g.neighbour(link, nexthop)
        if neigh is not None and set(neigh.state) & {"FAILED", "INCOMPLETE"}:
            self.hop(netns, link.name, "xmit", f"neighbour {nexthop} is {'/'.join(neigh.state)}",
                     f"The last ARP/ND attempt for {nexthop} on {link.name} got no answer.",
                     pkt, (neigh.id,))
        self.parent_to_macvlan(pkt, link, nexthop)
        if link.kind in MACVLAN_KINDS:
            self.macvlan_out(pkt, link, nexthop)
        elif link.kind == "veth":
            self.hop(netns, link.name, "xmit", f"sent on {link.name} to {nexthop}",
                     f"The packet leaves {self.g.ns_name(netns)} by {link.name}, a veth: "
                     "whatever enters one end comes out of the other.", pkt, (link.id,))
            self.cross_veth(pkt, link, nexthop)
        elif link.kind == "bridge":
            self.bridge_out(pkt, link, nexthop)
        elif link.kind == "vxlan":
            self.vxlan(pkt, link, nexthop)
        elif link.kind == "loopback":
            self.ip_receive(pkt, link)
        elif self.g.underlay_next(link, nexthop) is not None:
            self.hop(netns, link.name, "xmit", f"sent on {link.name} to {nexthop}",
                     f"The packet leaves {self.g.ns_name(netns)} by {link.name}, its "
                     "interface to the network between nodes.", pkt, (link.id,))
            self.cross_nodes(pkt, link, nexthop)
        else:
            self.stop(netns, link.name, End.LEFT_HOST, f"leaves the host by {link.name} "
                      f"towards {nexthop}", pkt,
                      f"{link.name} is a {link.kind} device: the packet leaves this host; "
                      "what happens next is outside what netscope sees.", (link.id,))

    def cross_nodes(self, pkt: Packet, link: Link, nexthop: str) -> None:
        """Across the network between nodes (cluster documents): `nexthop` is an address of
        another node on a subnet `link` is on, so the frame arrives on that node's interface."""
        far = self.g.underlay_next(link, nexthop)
        self.hop(far.netns, far.name, "underlay", f"arrives on {far.name} of node "
                 f"{self.g.node_of(far.netns)}",
                 f"{nexthop} is {self.g.link_label(far.id)}'s address on the network "
                 f"{link.name} is on: the frame crosses to node {self.g.node_of(far.netns)}.",
                 pkt, (link.id, far.id))
        self.receive_frame(pkt, far, nexthop)

    def cross_veth(self, pkt: Packet, link: Link, nexthop: str) -> None:
        peer = self.g.veth_peer(link)
        if peer is None and self.g.underlay_next(link, nexthop) is not None:
            # a node's uplink veth, whose peer is beyond the node (cluster documents)
            self.cross_nodes(pkt, link, nexthop)
            return
        if peer is None:
            why = (link.peer.unresolved if link.peer and link.peer.unresolved
                   else "no peer recorded")
            self.stop(link.netns, link.name, End.UNKNOWN, f"peer of {link.name} unknown: {why}",
                      pkt, evidence=(link.id,))
        if pkt.size > peer.mtu:
            self.too_big(pkt, peer, "received")
        mtu = "" if peer.mtu == link.mtu else (
            f" MTU differs: {link.mtu} here, {peer.mtu} on the peer; larger packets are lost.")
        if peer.netns != link.netns and pkt.mark:
            pkt = pkt.replace(mark=0)  # crossing namespaces scrubs the mark (skb_scrub_packet)
        self.hop(peer.netns, peer.name, "veth", f"arrives on {peer.name}",
                 f"It comes out of the peer end, {self.g.link_label(peer.id)}.{mtu}", pkt,
                 (peer.id,))
        self.receive_frame(pkt, peer, nexthop)

    def receive_frame(self, pkt: Packet, link: Link, nexthop: str) -> None:
        key = ("frame", link.id, pkt.src, pkt.dst, pkt.ct_state)
        if key in self.seen:
            self.stop(link.netns, link.name, End.UNKNOWN, "routing loop", pkt)
        self.seen.add(key)
        if not link.up:
            self.stop(link.netns, link.name, End.DROPPED, f"{link.name} is down", pkt,
                      f"{self.g.link_label(link.id)} is administratively down: frames that "
                      "reach it are dropped.", (link.id,))
        self.bpf_decides(pkt, link, ingress=True)
        master = self.g.bridge_of(link)
        if master is not None:
            self.bridge_in(pkt, master, link, nexthop)
            return
        child = None if self.g.is_local(link.netns, nexthop) else \
            self.macvlan_child(link, nexthop)
        if child is not None:
            self.macvlan_from_wire(pkt, link, child)
            return
        if not self.g.is_local(link.netns, nexthop) and self.proxy_arp(pkt, link, nexthop):
            self.ip_receive(pkt, link)
            return
        if not self.g.is_local(link.netns, nexthop):
            self.stop(link.netns, link.name, End.DROPPED, f"nobody answers ARP for {nexthop}",
                      pkt, f"{self.g.ns_name(link.netns)} does not own {nexthop}, so the "
                      "sender's ARP/ND request for it is never answered.", (link.id,))
        self.ip_receive(pkt, link)

    # ------------------------------------------------------------------ IP input

    def ip_receive(self, pkt: Packet, link: Link) -> None:
        netns = link.netns
        self.hop(netns, link.name, "receive", f"IP input on {link.name}",
                 f"{self.g.ns_name(netns)} receives the packet on {link.name}.", pkt, (link.id,))
        pkt = self.netfilter(pkt, netns, "prerouting", link.name, None, link.name)
        if pkt.ct_state != "new":
            pkt = self.undo_nat(pkt, netns, "pre")
        lk = self.lookup(pkt, netns, link.name)
        words, ev = self._route_words(lk)
        if lk.kind == "local":
            pkt = self.netfilter(pkt, netns, "input", link.name, None, link.name)
            if pkt.ct_state != "new":  # a local reply's DNAT is undone at INPUT
                pkt = self.undo_nat(pkt, netns, "post")
            self.deliver(pkt, netns, link, ev, f"delivered to {pkt.dst} in "
                         f"{self.g.ns_name(netns)}", f"{pkt.dst} is an address of "
                         f"{self.g.ns_name(netns)}: the packet goes up to the socket layer.")
        if lk.kind != "unicast" or lk.route is None:
            self.stop(netns, link.name, End.NO_ROUTE, f"no route to {pkt.dst}", pkt,
                      f"{self.g.ns_name(netns)} would forward it but has no route to "
                      f"{pkt.dst}.", ev)
        self.forward(pkt, link, lk, words, ev)

    def deliver(self, pkt: Packet, netns: str, link: Link | None, ev: tuple[str, ...],
                reason: str, explain: str) -> None:
        """The packet is for this namespace: it ends at the socket that takes it, or is
        refused; `reason`/`explain` say "delivered" when the sockets are not known (or not
        asked: ICMP, replies)."""
        device = link.name if link is not None else None
        tunnel = pkt.proto == "udp" and any(
            lk.kind == "vxlan" and int(lk.details.get("dstport") or 4789) == pkt.dport
            for lk in self.g.links_in(netns))
        # a VXLAN device's own (kernel) socket takes its encapsulated packets
        got = None if tunnel else deliver(self.g, netns, pkt, link.id if link else None)
        if got is None:
            if pkt.ct_state == "new" and pkt.proto != "icmp" and \
                    self.g.sockets_in(netns) is None:
                explain += (" Whether a socket takes it is not known: this snapshot has no "
                            f"sockets for {self.g.ns_name(netns)}.")
            self.stop(netns, device, End.DELIVERED, reason, pkt, explain, ev)
        ev = (*ev, *(s.id for s in got.sockets))
        self.refusal = got.reply
        self.stop(netns, device, got.end, got.reason, pkt, got.explain, ev)

    def forward(self, pkt: Packet, link: Link, lk: Lookup, words: str,
                ev: tuple[str, ...]) -> None:
        netns = link.netns
        if pkt.family == "inet":
            on = link.sysctls.get("ipv4.forwarding",
                                  self.g.sysctl(netns, "net.ipv4.ip_forward"))
            switch = f"net.ipv4.conf.{link.name}.forwarding"
        else:
            on = self.g.sysctl(netns, "net.ipv6.conf.all.forwarding")
            switch = "net.ipv6.conf.all.forwarding"
        if on == "0":
            self.stop(netns, link.name, End.DROPPED, f"forwarding is off ({switch}=0)", pkt,
                      f"The packet is not for {self.g.ns_name(netns)}, which would have to "
                      "route it on, but IP forwarding is disabled there: it is dropped.",
                      (link.id,))
        self.rp_filter(pkt, link)
        oif, gateway = self._nexthop(lk)
        self.hop(netns, oif.name, "forward", f"forward via {words}",
                 f"Forwarding: route lookup picks {words}.", pkt, ev)
        pkt = self.netfilter(pkt, netns, "forward", link.name, oif.name, oif.name)
        self.post_and_xmit(pkt, netns, link.name, oif, gateway)

    def rp_filter(self, pkt: Packet, link: Link) -> None:
        if pkt.family != "inet":
            return
        netns = link.netns
        modes = [link.sysctls.get("ipv4.rp_filter"),
                 self.g.sysctl(netns, "net.ipv4.conf.all.rp_filter")]
        mode = max(int(m) for m in modes if m is not None and m.isdigit()) if any(
            m is not None for m in modes) else 0
        if mode == 0:
            return
        back = self.g.route_lookup(netns, pkt.family, pkt.dst, pkt.src)
        ok = back.route is not None and (mode == 2 or any(
            h.link == link.id for h in back.route.nexthops))
        if not ok:
            strictness = "strict" if mode == 1 else "loose"
            self.stop(netns, link.name, End.DROPPED, f"rp_filter ({strictness}) drops it on "
                      f"{link.name}", pkt,
                      f"Reverse-path filtering: the route back to {pkt.src} does not leave by "
                      f"{link.name}, so the kernel treats the source as spoofed.", (link.id,))


def walk(graph: HostGraph | Snapshot, pkt: Packet, netns: str,
         with_reply: bool = True) -> Journey:
    """The expected journey of `pkt` sent from `netns`, with its reply's when it was
    delivered."""
    if not isinstance(graph, HostGraph):
        graph = HostGraph.of(graph)
    return _walk(graph, pkt, netns, with_reply)


def _walk(graph: HostGraph, pkt: Packet, netns: str, with_reply: bool,
          walker: Walker | None = None, decisions: Mapping[str, str] | None = None,
          answers: Packet | None = None) -> Journey:
    """Walk `pkt` from `netns`, forking into branches at random choices. A reply walk gets
    the request's `walker` (its NAT memory translates the reply back) and the request as
    sent (`answers`): a reply that arrives from another address than the one the request
    went to is not the answer its sender waits for."""
    w = Walker(graph, decisions if walker is None else walker.decisions)
    if walker is not None:
        w.nat = list(walker.nat)
    try:
        w.output(pkt, netns)
        end, reason, end_ns = End.UNKNOWN, "the walk ended without a verdict", None
    except _Stop as stop:
        end, reason, end_ns = stop.end, stop.reason, stop.netns
    except Fork as fork:
        return _branches(graph, pkt, netns, with_reply, w, walker, fork, answers)
    if answers is not None and end == End.DELIVERED and w.final is not None:
        end, reason = unanswered(graph, w, answers, end, reason)
    hops = tuple(w.hops)
    reply = None
    if with_reply and end == End.DELIVERED and end_ns is not None:
        seen_at_dst = last_packet(w, pkt)
        back = Packet(pkt.family, seen_at_dst.dst, seen_at_dst.src, pkt.proto,
                      seen_at_dst.dport, seen_at_dst.sport, 0, "established",
                      seen_at_dst.ct_status,
                      size=pkt.size if pkt.proto == "icmp" else 0)  # an echo answers in kind
        reply = _walk(graph, back, end_ns, False, w, answers=pkt)
    elif with_reply and end == End.REFUSED and end_ns is not None and w.refusal is not None:
        reply = _walk(graph, w.refusal, end_ns, False, w)  # the RST / port unreachable
    return Journey(pkt.describe(), hops, end, reason, end_ns, reply, flow=pkt)


def _branches(graph: HostGraph, pkt: Packet, netns: str, with_reply: bool, w: Walker,
              request: Walker | None, fork: Fork, answers: Packet | None) -> Journey:
    """The journey up to a random choice, then one branch per outcome: each walked again
    from the start with its decisions taken (the same hops up to the choice, by
    construction), keeping what follows the choice."""
    prefix = tuple(w.hops)
    branches = []
    for outcome, words in zip(fork.outcomes, fork.choices, strict=True):
        taken = {**w.decisions, **outcome.decisions}
        if request is None:
            whole = _walk(graph, pkt, netns, with_reply, None, taken)
        else:
            again = Walker(graph, taken)
            again.nat = request.nat
            whole = _walk(graph, pkt, netns, False, again, answers=answers)
        tail = dataclasses.replace(whole, hops=whole.hops[len(prefix) - 1:])
        branches.append(Branch(outcome.probability, words, tail))
    verdict = branches_verdict(tuple(branches))
    return Journey(pkt.describe(), prefix, verdict, branch_summary(branches), None, None,
                   flow=pkt, branches=tuple(branches))
