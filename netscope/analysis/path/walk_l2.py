"""The path walk's layer-2 stages: Linux bridges (with br_netfilter's pass through the IP
hooks when bridge-nf-call-iptables is on), VXLAN encapsulation to a remote VTEP, and macvlan
(children of one parent: from the wire, between siblings, and the parent that cannot reach
them)."""

from __future__ import annotations

from netscope.analysis.path.stops import Stop as _Stop
from netscope.model import Link
from netscope.model.journey import Packet
from netscope.model.journey import Verdict as End

VXLAN_OVERHEAD = 50
MACVLAN_KINDS = ("macvlan", "macvtap")


class L2Stages:
    """Mixin of the Walker (netscope.analysis.path.walk): what bridges, tunnels and macvlans
    do."""

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
            if pkt.ct_state != "new":  # conntrack sees bridged replies too
                pkt = self.undo_nat(pkt, netns, "pre")
            pkt = self.netfilter(pkt, netns, "forward", bridge.name, bridge.name, bridge.name,
                                 phys)
            pkt = self.netfilter(pkt, netns, "postrouting", None, bridge.name, bridge.name, phys)
            if pkt.ct_state != "new":
                pkt = self.undo_nat(pkt, netns, "post")
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
        self.bpf_decides(pkt, port, ingress=False)
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

    # ------------------------------------------------------------------ macvlan

    def macvlan_child(self, parent: Link, nexthop: str, but: Link | None = None
                      ) -> Link | None:
        """The macvlan child of `parent` (other than `but`) whose namespace owns `nexthop`."""
        for child in self.g.uppers(parent):
            if child.kind in MACVLAN_KINDS and child is not but and \
                    self.g.is_local(child.netns, nexthop):
                return child
        return None

    def macvlan_from_wire(self, pkt: Packet, parent: Link, child: Link) -> None:
        """A frame that arrived on `parent` for the MAC of one of its macvlan children."""
        if not child.up:
            self.stop(child.netns, child.name, End.DROPPED, f"{child.name} is down", pkt,
                      f"The frame is for {self.g.link_label(child.id)}, a macvlan of "
                      f"{parent.name}, which is down.", (child.id,))
        self.hop(child.netns, child.name, "macvlan", f"handed to macvlan {child.name}",
                 f"The frame arrives on {parent.name} for the MAC address of "
                 f"{self.g.link_label(child.id)}, one of its macvlan children: the parent "
                 "hands it straight up, with no bridge and no routing on the way.", pkt,
                 (parent.id, child.id))
        self.ip_receive(pkt, child)

    def parent_to_macvlan(self, pkt: Packet, parent: Link, nexthop: str) -> None:
        """The parent itself sends to one of its children: that never arrives."""
        child = self.macvlan_child(parent, nexthop)
        if child is not None:
            self.stop(parent.netns, parent.name, End.DROPPED,
                      f"{parent.name} cannot reach its macvlan {self.g.link_label(child.id)}",
                      pkt, f"{nexthop} belongs to {self.g.link_label(child.id)}, a macvlan "
                      f"child of {parent.name}. A macvlan parent passes frames from the wire "
                      "up to its children, but what the parent itself sends goes to the wire "
                      "only and never comes back up: the host cannot reach its own macvlan "
                      "containers through the parent (give the host a macvlan of its own).",
                      (parent.id, child.id))

    def macvlan_out(self, pkt: Packet, link: Link, nexthop: str) -> None:
        """Sent on a macvlan: to a sibling (switched inside the parent in bridge mode) or out
        of the parent's wire."""
        parent = self.g.lower(link)
        if parent is None:
            self.stop(link.netns, link.name, End.LEFT_HOST, f"leaves the host by {link.name} "
                      f"towards {nexthop}", pkt, f"{link.name} is a macvlan whose parent is "
                      "not in the snapshot: the packet leaves what netscope sees.", (link.id,))
        sibling = self.macvlan_child(parent, nexthop, but=link)
        if sibling is not None:
            modes = {link.details.get("mode", "vepa"), sibling.details.get("mode", "vepa")}
            if modes != {"bridge"}:
                named = "/".join(sorted(str(m) for m in modes))
                self.stop(link.netns, link.name, End.DROPPED, f"macvlan mode {named} does "
                          "not switch between siblings", pkt,
                          f"{nexthop} is {self.g.link_label(sibling.id)}, another macvlan "
                          f"of {parent.name}; only bridge mode switches frames between "
                          "children inside the kernel (vepa needs a hairpinning switch, "
                          "private never).", (link.id, sibling.id))
            self.hop(link.netns, link.name, "xmit", f"sent on {link.name} to {nexthop}",
                     f"{link.name} is a macvlan of {self.g.link_label(parent.id)} in bridge "
                     f"mode: {nexthop} is a sibling's, so the parent switches the frame to it "
                     "without putting it on the wire.", pkt, (link.id, parent.id))
            self.macvlan_from_wire(pkt, parent, sibling)
            return
        self.hop(link.netns, link.name, "xmit", f"sent on {link.name} out of {parent.name}",
                 f"{link.name} is a macvlan: its frames leave by its parent, "
                 f"{self.g.link_label(parent.id)}, with the macvlan's own MAC address.", pkt,
                 (link.id, parent.id))
        if parent.kind == "veth":
            self.cross_veth(pkt, parent, nexthop)
            return
        self.stop(parent.netns, parent.name, End.LEFT_HOST, f"leaves the host by "
                  f"{parent.name} towards {nexthop}", pkt, f"{parent.name} is a "
                  f"{parent.kind} device: the frame leaves this host.", (parent.id,))
