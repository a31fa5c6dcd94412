"""The path walk's netfilter stages: each hook evaluated against the rules (with the random
choices kube-proxy makes handed to the walk's driver as a Fork), NAT, and conntrack's reverse
translation of replies; drops named in Kubernetes' words where its chains decided them."""

from __future__ import annotations

from netscope.analysis.path import k8s_words
from netscope.analysis.path import netfilter as nf
from netscope.analysis.path.nf_sets import index_of
from netscope.analysis.path.stops import Fork, Stop
from netscope.model.journey import Packet
from netscope.model.journey import Verdict as End


class NetfilterStages:
    """Mixin of the Walker (netscope.analysis.path.walk): what netfilter does to a packet.

    `decisions` are the random choices already taken (rule id -> option)."""

    decisions: dict[str, str]

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
        """Run one hook; stop on drop/uncertain; fork on a random choice not taken yet;
        apply the mark and NAT; return the (rewritten) packet."""
        tables = self.g.tables_in(netns)
        if not tables:
            return pkt
        ctx = self._nf_context(pkt, netns, iif, oif, *physdev)
        v = nf.evaluate_hook(tables, netns, hook, ctx, self.decisions)
        index = index_of(tables)
        if v.verdict == "choice":
            self._fork(tables, netns, hook, ctx, v, index, device, pkt)
        if not v.traversed:
            return pkt
        where = f"{v.chain.table} {v.chain.name}" if v.chain else hook.upper()
        decided_by = v.rule.text if v.rule else (
            f"policy {v.chain.policy}" if v.chain and v.chain.policy else "no rule matched")
        evidence = (v.rule.id if v.rule else "", v.chain.id if v.chain else "")
        if v.verdict in ("drop", "reject"):
            why = k8s_words.drop_words(v, index, self.g)
            self.stop(netns, device, End.DROPPED, f"{v.verdict} in {where}: {decided_by}"
                      + (f" ({why})" if why else ""), pkt,
                      f"At the {hook.upper()} hook the packet reached {where}, where "
                      f"'{decided_by}' {v.verdict}s it" + (f": {why}." if why else "."),
                      evidence)
        if v.verdict == "uncertain":
            self.stop(netns, device, End.UNCERTAIN, f"uncertain at {where}: {decided_by}", pkt,
                      f"At the {hook.upper()} hook, {where} has a rule netscope cannot evaluate "
                      f"('{decided_by}'): whether it matches decides the packet's fate.",
                      evidence)
        marked = mark = ""
        if v.mark != pkt.mark:  # MARK rules: later hooks (KUBE-POSTROUTING) test it
            marked = f", mark {pkt.mark:#x} -> {v.mark:#x}"
            mark = (f" A MARK rule set the packet mark to {v.mark:#x}: later rules test it "
                    "(kube-proxy's 0x4000 bit asks KUBE-POSTROUTING to masquerade)."
                    if v.mark & ~pkt.mark else
                    f" A MARK rule cleared mark bits ({pkt.mark:#x} -> {v.mark:#x}), as "
                    "kube-proxy does once it has decided to masquerade.")
        self.hop(netns, device, "netfilter", f"{hook.upper()}: accepted{marked}",
                 f"The {hook.upper()} hook let it through ({where}: {decided_by}).{mark}",
                 pkt, evidence)
        before = pkt.mark
        if v.mark != pkt.mark:
            pkt = pkt.replace(mark=v.mark)
        if v.nat:
            pkt = self.apply_nat(pkt, netns, v.nat, oif, iif, device,
                                 k8s_words.service_of(v, index), before)
        return pkt

    def _fork(self, tables: list, netns: str, hook: str, ctx: nf.PacketContext,
              v: nf.Verdict, index, device: str | None, pkt: Packet) -> None:
        """Record the choice hop and hand every outcome of the hook to the walk's driver."""
        outcomes = nf.evaluate_all(tables, netns, hook, ctx, self.decisions)
        if any(o.verdict.verdict == "choice" for o in outcomes):
            outcomes = []  # more choices than MAX_OUTCOMES: say so rather than walk some
        svc = k8s_words.service_of(v, index)
        who = f"service {svc}" if svc else f"{v.chain.table} {v.chain.name}"
        words = f"{who} picks at random among {len(outcomes)} outcomes" if outcomes else \
            f"{who}: too many random choices to follow"
        explain = (f"'{v.rule.text}' is a random choice netfilter makes once per new "
                   "connection (kube-proxy spreads a service's connections over its endpoints "
                   "so): the walk follows every outcome, each with its probability.")
        self.hop(netns, device, "choice", words, explain, pkt, (v.rule.id, v.chain.id))
        if not outcomes:
            raise Stop(End.UNCERTAIN, words, netns)
        raise Fork(outcomes, [k8s_words.choice_words(o.verdict, index) for o in outcomes])

    def apply_nat(self, pkt: Packet, netns: str, nat: tuple, oif: str | None, iif: str | None,
                  device: str | None, service: str | None = None, mark: int = 0) -> Packet:
        kind, rule = nat
        before = pkt
        if kind == "masquerade":
            link = self.g.link_named(netns, oif)
            src = self.g.source_address(netns, link, None, pkt.family)
            pkt = pkt.replace(src=src or pkt.src)
        else:
            addr, port = nf.split_nat_to(rule.nat_to or "")
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
        via = f" (service {service})" if service else ""
        why = ""
        if kind in ("masquerade", "snat") and mark:
            why = (f" It happens because the connection carries mark {mark:#x}: the chain "
                   "returns early for unmarked packets (kube-proxy's KUBE-POSTROUTING).")
        self.hop(netns, device, "nat", f"{kind.upper()} {before.describe()} => {pkt.describe()}"
                 f"{via}", f"'{rule.text}' rewrites the packet ({kind}){via}; conntrack "
                 f"remembers the mapping so the reply is translated back.{why}", pkt,
                 (rule.id,))
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
