"""How a walk ends, apart from the walk itself: the summary of one that splits at a random
choice, a reply that is not the answer its sender waits for (it comes from another address:
nothing undid the DNAT), and the packet as it reached its destination."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from netscope.graph.host import HostGraph
from netscope.model.journey import Branch, Packet
from netscope.model.journey import Verdict as End

if TYPE_CHECKING:
    from netscope.analysis.path.walk import Walker


def branch_summary(branches: list[Branch]) -> str:
    """The summary of a journey that splits: their common end, else each option's."""
    ends = {b.journey.exchange_verdict for b in branches}
    if len(ends) == 1:
        return f"all {len(branches)} outcomes of the random choice: {ends.pop().words}"
    return "; ".join(f"{b.probability:.0%} ({b.choice}): {b.journey.exchange_verdict.words}"
                     for b in branches)


def unanswered(graph: HostGraph, w: Walker, request: Packet, end: End,
                reason: str) -> tuple[End, str]:
    """A delivered reply whose source is not what the request was sent to: the sender's
    socket does not take it (TCP answers with a reset, the ping is not matched)."""
    got = w.final
    if (got.src, got.sport) == (request.dst, request.dport):
        return end, reason
    untranslated = [ns for ns, kind, _, _ in w.nat if kind in ("dnat", "redirect")]
    why = "nothing translated it back"
    if any(graph.sysctl(ns, "net.bridge.bridge-nf-call-iptables") == "0"
           for ns in untranslated):
        why = ("it was bridged past the netfilter of the namespace that DNATed the request "
               "(bridge-nf-call-iptables = 0 there), so conntrack never undid the DNAT")
    ports = f":{got.sport}" if got.sport is not None else ""
    wanted = f":{request.dport}" if request.dport is not None else ""
    words = (f"the reply comes from {got.src}{ports}, not from {request.dst}{wanted} where the "
             f"request went: {why}")
    last = w.hops[-1]
    w.hops[-1] = dataclasses.replace(last, step="drop", decision=words, explain=(
        f"{words}. The sender's socket waits for an answer from {request.dst}{wanted} and "
        "drops this one (TCP answers it with a reset)."))
    return End.DROPPED, words


def last_packet(w: Walker, original: Packet) -> Packet:
    """The packet as it reached its destination: after the last NAT rewrite, if any."""
    inner = [after for _, _, _, after in w.nat if after.proto == original.proto]
    return inner[-1] if inner else original
