"""The path walk's stages for datapaths outside the netfilter rules: proxy ARP (Calico's
routed pods: the node answers ARP for the pods' gateway on their veths) and BPF programs on
a device (XDP, tc, tcx: an eBPF datapath such as Cilium's decides there, and the walk says
so instead of guessing)."""

from __future__ import annotations

from netscope.model import Link
from netscope.model.journey import Packet
from netscope.model.journey import Verdict as End


class DatapathStages:
    """Mixin of the Walker (netscope.analysis.path.walk): proxy ARP and eBPF programs."""

    def proxy_arp(self, pkt: Packet, link: Link, nexthop: str) -> bool:
        """Whether `link` answers ARP for an address not its own (proxy_arp = 1: the kernel
        answers when it routes `nexthop` out of another interface), as Calico's workload
        veths do for the pods' gateway 169.254.1.1."""
        if pkt.family != "inet" or link.sysctls.get("ipv4.proxy_arp") != "1":
            return False
        lk = self.g.route_lookup(link.netns, pkt.family, "0.0.0.0", nexthop)
        if lk.route is None or lk.kind != "unicast" or any(
                h.link == link.id for h in lk.route.nexthops):
            return False
        self.hop(link.netns, link.name, "receive", f"proxy ARP: {link.name} answers for "
                 f"{nexthop}", f"{link.name} has proxy_arp = 1: the kernel answers ARP for "
                 f"{nexthop} with {link.name}'s own MAC (it routes {nexthop} elsewhere), so "
                 "the sender's frames come to this namespace, which routes them (a Calico "
                 "node's workload interface).", pkt, (link.id,))
        return True

    def bpf_decides(self, pkt: Packet, link: Link, ingress: bool) -> None:
        """Stop where a BPF program on the datapath (XDP, tc, tcx) takes the packet first:
        it may pass, drop or redirect it past routing and netfilter, and its code is not
        something the walk can evaluate (an eBPF datapath such as Cilium's)."""
        progs = [b for b in self.g.bpf_programs_on(link) if b.ingress == ingress]
        if not progs:
            return
        first = progs[0]
        more = f" (then {', '.join(f'{b.hook} {b.label}' for b in progs[1:])})" \
            if len(progs) > 1 else ""
        where = "arriving on" if ingress else "leaving by"
        self.stop(link.netns, link.name, End.UNCERTAIN,
                  f"decided by eBPF program {first.label} on {link.name} ({first.hook}): "
                  "netfilter does not apply here", pkt,
                  f"A BPF program is attached to {self.g.link_label(link.id)} at {first.hook}"
                  f"{more}: every packet {where} it runs through it first, and its code "
                  "decides whether the packet passes, is dropped or is redirected elsewhere, "
                  "past routing and the netfilter rules. The static walk cannot evaluate "
                  "that code: `netscope trace` shows where real packets go.",
                  tuple(b.id for b in progs))
