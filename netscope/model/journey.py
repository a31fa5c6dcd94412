"""A packet's journey, expected or observed: one model for `path`, `trace`, `check` and the TUI.

The static walk (netscope.analysis.path) produces an *expected* journey from a snapshot; the
tracer (netscope.trace) an *observed* one from eBPF events. Both are a `Journey`: the packet,
its hops in order and how it ended (`Verdict`). A `Hop` is one step at one place (namespace,
device): what kind of step, what was decided there, and a sentence saying what the kernel did
and why (`explain`, filled by netscope.analysis.hop_explain for observed hops).

Pure data: no I/O. The JSON forms `path --json` and `trace --json` write are made in
netscope.cli.journey_text (documented in docs/trace.md and `netscope path --help`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

# IP protocol numbers and the names journeys use for them
PROTOCOLS = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}


class Verdict(StrEnum):
    """How a journey ended."""

    DELIVERED = "delivered"      # a local address of the destination namespace accepted it
    REFUSED = "refused"          # it arrived, but no socket takes it: the kernel answers with
                                 # a TCP RST or an ICMP port unreachable
    DROPPED = "dropped"          # a rule, a disabled switch, a down link, rp_filter ...
    NO_ROUTE = "no_route"        # no route (or an unreachable/prohibit/blackhole one)
    LEFT_HOST = "left_host"      # it leaves through a physical device: beyond is not known
    UNCERTAIN = "uncertain"      # a rule whose matches netscope cannot evaluate decides it
    UNKNOWN = "unknown"          # the snapshot (or the trace) does not say

    @property
    def words(self) -> str:
        """As a person says it: "no route", "left the host"."""
        return {"no_route": "no route", "left_host": "left the host"}.get(self.value,
                                                                          self.value)

    @property
    def fine(self) -> bool:
        """Whether a journey that ends so did what its sender wanted (as far as the host
        shows): delivered, or sent out of the host."""
        return self in (Verdict.DELIVERED, Verdict.LEFT_HOST)


@dataclass(frozen=True)
class Packet:
    """A packet's headers as far as a journey needs them (NAT rewrites make a new one).

    ICMP echo: `sport` and `dport` both hold the echo id when known. `ct_state` and
    `ct_status` are the walk's conntrack view ("new"/"established", "related" for an ICMP
    error answering the connection; "dnat"/"snat")."""

    family: str          # "inet" or "inet6"
    src: str
    dst: str
    proto: str           # "icmp", "tcp", "udp", "icmpv6" (or a number as text)
    sport: int | None = None
    dport: int | None = None
    mark: int = 0
    ct_state: str = "new"
    ct_status: tuple[str, ...] = ()
    tcp_flags: int = 0
    # the IP packet's length when it matters (MTU questions), sent don't-fragment; 0: small
    size: int = 0

    @property
    def proto_number(self) -> int:
        """The IP protocol number (0 when the name is not known)."""
        for number, name in PROTOCOLS.items():
            if name == self.proto:
                return number
        return int(self.proto) if self.proto.isdigit() else 0

    def replace(self, **changes) -> Packet:
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        ports = f" {self.sport}->{self.dport}" if self.dport is not None else ""
        return f"{self.proto} {self.src} -> {self.dst}{ports}"


@dataclass(frozen=True)
class Hop:
    """One step of a journey at one place.

    `step` is one of (expected: the walk's words; observed: the probe's):
      output-route, input-route, route, forward, netfilter, nat, queue, xmit, veth, bridge,
      receive, deliver, refuse, consume, connect, drop, encap, decap, choice (a random
      decision netfilter takes per connection: the journey's `branches` follow each option).
    `decision` says in a few words what was decided there; `explain` in a sentence what the
    kernel did and why. `evidence` holds the snapshot ids (route, rule, link) that decided it.
    `netns` and `link` are snapshot ids ("ns:<inode>", "link:<inode>/<ifindex>"); `device`
    the device's name even when the snapshot does not know the link.

    Observed hops also carry `ts_us` (since the journey's first event), `verdict` (the probe's
    word: routed, no route, arrived, accept, drop, the driver's answer ...), `drop_reason` (the
    kernel's name), `location` (kernel function+offset), `nat` (what a rewrite changed),
    `rule` ("family table chain: rule text") and `inferred` (not seen by a probe: deduced,
    like the bridge between a port's receive and another port's queue).
    """

    netns: str
    netns_name: str
    device: str | None
    step: str
    decision: str = ""
    explain: str = ""
    evidence: tuple[str, ...] = ()
    packet: str = ""
    link: str | None = None
    src: str | None = None
    dst: str | None = None
    ts_us: float | None = None
    verdict: str | None = None
    drop_reason: str | None = None
    location: str | None = None
    nat: str | None = None
    rule: str | None = None
    inferred: bool = False

    @property
    def dropped(self) -> bool:
        return self.step == "drop"

    @property
    def inode(self) -> int:
        """The namespace's nsfs inode (0 when not known)."""
        tail = self.netns.partition(":")[2]
        return int(tail) if tail.isdigit() else 0

    @property
    def ifindex(self) -> int:
        """The device's ifindex (0 when not known)."""
        tail = (self.link or "").rpartition("/")[2]
        return int(tail) if tail.isdigit() else 0


# how bad an ending is, to summarise branches that end differently (worst first)
_WORST_FIRST = (Verdict.DROPPED, Verdict.NO_ROUTE, Verdict.REFUSED, Verdict.UNCERTAIN,
                Verdict.UNKNOWN, Verdict.LEFT_HOST, Verdict.DELIVERED)


@dataclass(frozen=True)
class Branch:
    """One option of a random decision (a service's endpoint picked by `-m statistic` or
    `numgen`): its `probability` (of this option, given the journey reached the choice),
    what was chosen in words (`choice`: "endpoint 10.180.0.4:80 of ns4/svc4:p80"), and the
    rest of the journey from there (`journey`: its hops after the choice, its own verdict,
    its own reply, and any later choice as branches of its own)."""

    probability: float
    choice: str
    journey: Journey


@dataclass(frozen=True)
class Journey:
    """A packet's hops in order and how it ended.

    `packet` describes it in a line; `flow` holds its headers as first sent (None when the
    trace saw none). `summary` says how it ended, with where and why. `end_netns` is where
    it ended. An expected journey that was delivered carries the walk of its `reply`.

    Observed journeys (`observed` True) are numbered (`id`); a reply is its own journey
    (`is_reply`) linked to the request it answers (`reply_to`); `start_ns` is the kernel's
    monotonic time of the first event.

    An expected journey that reaches a random choice (its last hop has step "choice") goes
    on in `branches`, one per option; its own `verdict` is then the branches' common end
    to end one (a branch whose packet is delivered ends as its reply does), or the worst of
    them (dropped before no route before uncertain ...) when they differ, and `summary`
    says how each ends. `outcomes()` lists every complete journey.
    """

    packet: str
    hops: tuple[Hop, ...]
    verdict: Verdict
    summary: str
    end_netns: str | None = None
    reply: Journey | None = None
    flow: Packet | None = None
    observed: bool = False
    id: int = 0
    is_reply: bool = False
    reply_to: int | None = None
    start_ns: int = 0
    branches: tuple[Branch, ...] = ()

    @property
    def drop_index(self) -> int | None:
        """Index of the hop where it was dropped (the last drop: earlier ones may be
        copies), None when it was not."""
        drops = [i for i, h in enumerate(self.hops) if h.dropped]
        return drops[-1] if drops else None

    @property
    def exchange_verdict(self) -> Verdict:
        """How the exchange ended: the verdict, or the reply's when the packet was
        delivered and a reply was walked (a delivered request whose reply dies failed)."""
        if self.branches:
            return branches_verdict(self.branches)
        if self.verdict == Verdict.DELIVERED and self.reply is not None:
            return self.reply.exchange_verdict
        return self.verdict

    def outcomes(self) -> list[tuple[float, Journey]]:
        """Every way the journey can go, as (probability, whole journey from its start):
        itself with probability 1 when it has no branches. Each one's hops run from the
        first hop to its end, and its reply is that option's reply."""
        if not self.branches:
            return [(1.0, self)]
        out = []
        for branch in self.branches:
            for p, tail in branch.journey.outcomes():
                whole = dataclasses.replace(tail, hops=self.hops + tail.hops,
                                            packet=self.packet, flow=self.flow)
                out.append((branch.probability * p, whole))
        return out

    def namespaces(self) -> list[str]:
        """Namespace ids in the order the journey enters them (each run of hops once)."""
        out: list[str] = []
        for h in self.hops:
            if h.netns and (not out or out[-1] != h.netns):
                out.append(h.netns)
        return out


def branches_verdict(branches: tuple[Branch, ...]) -> Verdict:
    """The verdict of a journey that splits into `branches`: their common end to end one
    (Journey.exchange_verdict), else the worst of them."""
    verdicts = {b.journey.exchange_verdict for b in branches}
    return next(v for v in _WORST_FIRST if v in verdicts) if verdicts else Verdict.UNKNOWN
