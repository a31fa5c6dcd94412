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
      receive, deliver, refuse, consume, connect, drop, encap, decap.
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


@dataclass(frozen=True)
class Journey:
    """A packet's hops in order and how it ended.

    `packet` describes it in a line; `flow` holds its headers as first sent (None when the
    trace saw none). `summary` says how it ended, with where and why. `end_netns` is where
    it ended. An expected journey that was delivered carries the walk of its `reply`.

    Observed journeys (`observed` True) are numbered (`id`); a reply is its own journey
    (`is_reply`) linked to the request it answers (`reply_to`); `start_ns` is the kernel's
    monotonic time of the first event.
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

    @property
    def drop_index(self) -> int | None:
        """Index of the hop where it was dropped (the last drop: earlier ones may be
        copies), None when it was not."""
        drops = [i for i, h in enumerate(self.hops) if h.dropped]
        return drops[-1] if drops else None

    def namespaces(self) -> list[str]:
        """Namespace ids in the order the journey enters them (each run of hops once)."""
        out: list[str] = []
        for h in self.hops:
            if h.netns and (not out or out[-1] != h.netns):
                out.append(h.netns)
        return out
