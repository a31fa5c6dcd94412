"""The static path walk: what the kernel would do with one packet, hop by hop.

Starting in the source namespace, it follows policy rules and route lookups, the netfilter
hooks in order (evaluated against the structured rules), NAT, forwarding switches and
rp_filter, neighbours, veth crossings into peer namespaces, bridge forwarding (with
br_netfilter's FORWARD pass when bridge-nf-call-iptables is on) and VXLAN encapsulation,
until the packet is delivered, dropped, leaves the host, or the snapshot cannot say.
Then it walks the reply the same way, with conntrack undoing the NAT.
"""

from __future__ import annotations

from netscope.analysis.path import netfilter as nf
from netscope.analysis.path.delivery import deliver
from netscope.graph.host import HostGraph
from netscope.graph.routing import Lookup
from netscope.model import Link, Snapshot
from netscope.model.journey import Hop, Journey, Packet
from netscope.model.journey import Verdict as End

MAX_HOPS = 200
VXLAN_OVERHEAD = 50


class _Stop(Exception):
    def __init__(self, end: End, reason: str, netns: str | None) -> None:
        super().__init__(reason)
        self.end, self.reason, self.netns = end, reason, netns


class Walker:
    """One walk (and its reply) over one snapshot."""

    def __init__(self, graph: HostGraph) -> None:
        self.g = graph
        self.hops: list[Hop] = []
        self.nat: list[tuple[str, str, Packet, Packet]] = []  # (netns, kind, before, after)
        self.seen: set[tuple] = set()
        self.refusal: Packet | None = None  # what the kernel answered a refused packet with

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
        raise _Stop(end, reason, netns)

    # ------------------------------------------------------------------ netfilter

    def _nf_context(self, pkt: Packet, netns: str, iif: str | None, oif: str | None,
                    physdev_in: str | None = None, physdev_out: str | None = None
                    ) -> nf.PacketContext:
        icmp = None
        if pkt.proto == "icmp":  # echo reply, port unreachable, echo request
            icmp = {"established": 0, "related": 3}.get(pkt.ct_state, 8)
        return nf.PacketContext(pkt.family, pkt.src, pkt.dst, pkt.proto, pkt.sport, pkt.dport,
                                iif, oif, pkt.ct_state, pkt.mark, physdev_in, physdev_out,
                                self.g.local_addresses(netns), icmp,
                                pkt.ct_status)

    def netfilter(self, pkt: Packet, netns: str, hook: str, iif: str | None, oif: str | None,
                  device: str | None, physdev: tuple[str | None, str | None] = (None, None)
                  ) -> Packet:
        """Run one hook; stop on drop/uncertain; apply NAT; return the (rewritten) packet."""
        tables = self.g.tables_in(netns)
        if not tables:
            return pkt
        ctx = self._nf_context(pkt, netns, iif, oif, *physdev)
        v = nf.evaluate_hook(tables, netns, hook, ctx)
        if not v.traversed:
            return pkt
        where = f"{v.chain.table} {v.chain.name}" if v.chain else hook.upper()
        decided_by = v.rule.text if v.rule else (
            f"policy {v.chain.policy}" if v.chain and v.chain.policy else "no rule matched")
        evidence = (v.rule.id if v.rule else "", v.chain.id if v.chain else "")
        if v.verdict in ("drop", "reject"):
            self.stop(netns, device, End.DROPPED, f"{v.verdict} in {where}: {decided_by}", pkt,
                      f"At the {hook.upper()} hook the packet reached {where}, where "
                      f"'{decided_by}' {v.verdict}s it.", evidence)
        if v.verdict in ("uncertain", "choice"):
            self.stop(netns, device, End.UNCERTAIN, f"uncertain at {where}: {decided_by}", pkt,
                      f"At the {hook.upper()} hook, {where} has a rule netscope cannot evaluate "
                      f"('{decided_by}'): whether it matches decides the packet's fate.",
                      evidence)
        self.hop(netns, device, "netfilter", f"{hook.upper()}: accepted",
                 f"The {hook.upper()} hook let it through ({where}: {decided_by}).", pkt, evidence)
        if v.mark != pkt.mark:  # MARK rules: later hooks (KUBE-POSTROUTING) test it
            pkt = pkt.replace(mark=v.mark)
        if v.nat:
            pkt = self.apply_nat(pkt, netns, v.nat, oif, iif, device)
        return pkt

    def apply_nat(self, pkt: Packet, netns: str, nat: tuple, oif: str | None, iif: str | None,
                  device: str | None) -> Packet:
        kind, rule = nat
        before = pkt
        if kind == "masquerade":
            link = self.g.link_named(netns, oif)
            src = self.g.source_address(netns, link, None, pkt.family)
            pkt = pkt.replace(src=src or pkt.src)
        else:
            addr, port = _split_nat_to(rule.nat_to or "")
            if kind == "redirect":
                addr = self.g.source_address(netns, self.g.link_named(netns, iif), None,
                                               pkt.family)
            if kind in ("dnat", "redirect"):
                pkt = pkt.replace(dst=addr or pkt.dst, dport=port or pkt.dport)
            else:
                pkt = pkt.replace(src=addr or pkt.src, sport=port or pkt.sport)
        status = "dnat" if kind in ("dnat", "redirect") else "snat"
        if status not in pkt.ct_status:
            pkt = pkt.replace(ct_status=(*pkt.ct_status, status))
        self.nat.append((netns, kind, before, pkt))
        self.hop(netns, device, "nat", f"{kind.upper()} {before.describe()} => {pkt.describe()}",
                 f"'{rule.text}' rewrites the packet ({kind}); conntrack remembers the mapping "
                 "so the reply is translated back.", pkt, (rule.id,))
        return pkt

    def undo_nat(self, pkt: Packet, netns: str, where: str) -> Packet:
        """Conntrack's reverse translation of a reply: de-SNAT before routing, de-DNAT after."""
        for ns, kind, before, after in self.nat:
            if ns != netns:
                continue
            # an ICMP error has no ports of its own: conntrack rewrites its addresses only
            ports = pkt.proto != "icmp"
            if where == "pre" and kind in ("snat", "masquerade") and pkt.dst == after.src:
                pkt = pkt.replace(dst=before.src, dport=before.sport if ports else None)
            elif where == "post" and kind in ("dnat", "redirect") and pkt.src == after.dst:
                pkt = pkt.replace(src=before.dst, sport=before.dport if ports else None)
            else:
                continue
            self.hop(netns, None, "nat", f"conntrack reverses {kind.upper()}",
                     f"The reply belongs to a translated connection: conntrack rewrites it "
                     f"back ({pkt.describe()}).", pkt)
        return pkt

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
        neigh = self.g.neighbour(link, nexthop)
        if neigh is not None and set(neigh.state) & {"FAILED", "INCOMPLETE"}:
            self.hop(netns, link.name, "xmit", f"neighbour {nexthop} is {'/'.join(neigh.state)}",
                     f"The last ARP/ND attempt for {nexthop} on {link.name} got no answer.",
                     pkt, (neigh.id,))
        if link.kind == "veth":
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
        master = self.g.bridge_of(link)
        if master is not None:
            self.bridge_in(pkt, master, link, nexthop)
            return
        if not self.g.is_local(link.netns, nexthop):
            self.stop(link.netns, link.name, End.DROPPED, f"nobody answers ARP for {nexthop}",
                      pkt, f"{self.g.ns_name(link.netns)} does not own {nexthop}, so the "
                      "sender's ARP/ND request for it is never answered.", (link.id,))
        self.ip_receive(pkt, link)

    # ------------------------------------------------------------------ bridges

    def _bridge_owner(self, bridge: Link, nexthop: str, in_port: Link | None):
        """(kind, link): who on this bridge answers for `nexthop`: "self" (the bridge's own
        stack), "port" (a port whose far side owns it), "vxlan" (a tunnel port), or None."""
        if any(a.address == nexthop for a in self.g.addresses_on(bridge.id)):
            return "self", bridge
        ports = [p for p in self.g.bridge_ports(bridge) if p is not in_port]
        for port in ports:
            far = self.g.veth_peer(port)
            if far is not None and self.g.is_local(far.netns, nexthop):
                return "port", port
        if self.g.is_local(bridge.netns, nexthop):
            return "self", bridge
        tunnels = [p for p in ports if p.kind == "vxlan"]
        if tunnels:
            return "vxlan", tunnels[0]
        return None, None

    def bridge_in(self, pkt: Packet, bridge: Link, port: Link, nexthop: str) -> None:
        netns = bridge.netns
        state = port.bridge_port.state if port.bridge_port else "forwarding"
        if state not in ("forwarding", "learning"):
            self.stop(netns, port.name, End.DROPPED, f"bridge port {port.name} is {state}", pkt,
                      f"{port.name} is a port of {bridge.name} in state {state}: the bridge "
                      "does not forward frames that arrive on it.", (port.id,))
        kind, target = self._bridge_owner(bridge, nexthop, port)
        if kind is None:
            self.stop(netns, bridge.name, End.DROPPED, f"no host on {bridge.name} answers ARP "
                      f"for {nexthop}", pkt, f"Nothing attached to {bridge.name} owns "
                      f"{nexthop}: the ARP request is flooded and never answered.", (bridge.id,))
        if kind == "self":
            self.hop(netns, bridge.name, "bridge", f"{bridge.name} delivers to its own stack",
                     f"The frame is addressed to {bridge.name}'s own MAC ({nexthop} is the "
                     "bridge's address), so the bridge passes it up to IP in "
                     f"{self.g.ns_name(netns)}.", pkt, (bridge.id,))
            self.ip_receive(pkt, bridge)
            return
        self.hop(netns, bridge.name, "bridge", f"{bridge.name} forwards {port.name} -> "
                 f"{target.name}", f"{bridge.name} looks up the destination MAC in its "
                 f"forwarding database and switches the frame from {port.name} to {target.name}.",
                 pkt, (bridge.id, port.id, target.id))
        if self.g.sysctl(netns, "net.bridge.bridge-nf-call-iptables") == "1" \
                and pkt.family == "inet":
            phys = (port.name, target.name)
            pkt = self.netfilter(pkt, netns, "prerouting", bridge.name, None, bridge.name, phys)
            pkt = self.netfilter(pkt, netns, "forward", bridge.name, bridge.name, bridge.name,
                                 phys)
            pkt = self.netfilter(pkt, netns, "postrouting", None, bridge.name, bridge.name, phys)
        self.bridge_send(pkt, bridge, target, nexthop)

    def bridge_out(self, pkt: Packet, bridge: Link, nexthop: str) -> None:
        """The bridge's own IP stack sends: out of the port behind which `nexthop` lives."""
        kind, target = self._bridge_owner(bridge, nexthop, None)
        if kind in (None, "self"):
            self.stop(bridge.netns, bridge.name, End.DROPPED, f"no host on {bridge.name} "
                      f"answers ARP for {nexthop}", pkt, f"Nothing attached to {bridge.name} "
                      f"owns {nexthop}.", (bridge.id,))
        self.hop(bridge.netns, bridge.name, "bridge", f"{bridge.name} sends out of "
                 f"{target.name}", f"{bridge.name} sends the frame out of the port behind "
                 f"which {nexthop} lives: {target.name}.", pkt, (bridge.id, target.id))
        self.bridge_send(pkt, bridge, target, nexthop)

    def bridge_send(self, pkt: Packet, bridge: Link, port: Link, nexthop: str) -> None:
        state = port.bridge_port.state if port.bridge_port else "forwarding"
        if not port.up or state != "forwarding":
            self.stop(bridge.netns, port.name, End.DROPPED, f"bridge port {port.name} is "
                      f"{'down' if not port.up else state}", pkt,
                      f"{bridge.name} cannot send out of {port.name}.", (port.id,))
        if pkt.size > port.mtu:
            self.too_big(pkt, port, "bridged", bridge)
        if port.kind == "vxlan":
            self.vxlan(pkt, port, nexthop)
        else:
            self.cross_veth(pkt, port, nexthop)

    # ------------------------------------------------------------------ overlay

    def vxlan(self, pkt: Packet, link: Link, nexthop: str) -> None:
        remote, how = self.g.vxlan_remote(link, nexthop)
        local = link.details.get("local")
        if not remote:
            neigh = self.g.neighbour(link, nexthop)
            self.stop(link.netns, link.name, End.DROPPED, f"{link.name} cannot encapsulate: "
                      f"{how}", pkt, f"{link.name} has the frame for {nexthop} but no VTEP "
                      f"to send it to ({how}): the kernel drops it. On a flannel node, "
                      "flanneld writes one FDB entry per remote node.",
                      (link.id, neigh.id if neigh else ""))
        vni = link.details.get("vni")
        self.hop(link.netns, link.name, "encap", f"VXLAN {vni} to {remote}",
                 f"{link.name} wraps the frame in UDP (port {link.details.get('dstport')}) "
                 f"towards the remote VTEP {remote} ({how}): {VXLAN_OVERHEAD} bytes more per "
                 "packet.", pkt, (link.id,))
        outer = Packet(pkt.family, str(local or self.g.source_address(
            link.netns, None, None, pkt.family)), str(remote), "udp", 4789,
            int(link.details.get("dstport") or 4789))  # no size: VXLAN's outer packets
        # may be fragmented (no DF unless the device says df set): its own MTU is the limit
        try:
            self.output(outer, link.netns)
        except _Stop as stop:
            if stop.end != End.DELIVERED or stop.netns is None:
                raise
            self.hops.pop()  # the underlay "delivered" hop: the walk continues inside
            far = self.g.vxlan_twin(link, stop.netns)
            if far is None:
                self.stop(stop.netns, None, End.DROPPED, f"no VXLAN {vni} device at {remote}",
                          pkt)
            self.hop(far.netns, far.name, "decap", f"VXLAN {vni} decapsulated",
                     f"{far.name} unwraps the inner frame.", pkt, (far.id,))
            self.receive_frame(pkt, far, nexthop)

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


def _split_nat_to(text: str) -> tuple[str | None, int | None]:
    if not text:
        return None, None
    if text.startswith("["):
        addr, _, port = text[1:].partition("]:")
    elif text.count(":") == 1:
        addr, _, port = text.partition(":")
    else:
        addr, port = text, ""
    port = port.split("-")[0]
    return addr or None, int(port) if port.isdigit() else None


def walk(graph: HostGraph | Snapshot, pkt: Packet, netns: str,
         with_reply: bool = True) -> Journey:
    """The expected journey of `pkt` sent from `netns`, with its reply's when it was
    delivered."""
    if not isinstance(graph, HostGraph):
        graph = HostGraph.of(graph)
    return _walk(graph, pkt, netns, with_reply)


def _walk(graph: HostGraph, pkt: Packet, netns: str, with_reply: bool,
          walker: Walker | None = None) -> Journey:
    w = walker or Walker(graph)
    w.hops = []
    w.seen = set()
    w.refusal = None
    try:
        w.output(pkt, netns)
        end, reason, end_ns = End.UNKNOWN, "the walk ended without a verdict", None
    except _Stop as stop:
        end, reason, end_ns = stop.end, stop.reason, stop.netns
    hops = tuple(w.hops)
    reply = None
    if with_reply and end == End.DELIVERED and end_ns is not None:
        seen_at_dst = _last_packet(w, pkt)
        back = Packet(pkt.family, seen_at_dst.dst, seen_at_dst.src, pkt.proto,
                      seen_at_dst.dport, seen_at_dst.sport, 0, "established",
                      seen_at_dst.ct_status,
                      size=pkt.size if pkt.proto == "icmp" else 0)  # an echo answers in kind
        reply = _walk(graph, back, end_ns, False, w)
    elif with_reply and end == End.REFUSED and end_ns is not None and w.refusal is not None:
        reply = _walk(graph, w.refusal, end_ns, False, w)  # the RST / port unreachable
    return Journey(pkt.describe(), hops, end, reason, end_ns, reply, flow=pkt)


def _last_packet(w: Walker, original: Packet) -> Packet:
    """The packet as it reached its destination: after the last NAT rewrite, if any."""
    inner = [after for _, _, _, after in w.nat if after.proto == original.proto]
    return inner[-1] if inner else original
