"""What the path walk carries and what it returns: a packet, the hops it took, the end."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum


class End(StrEnum):
    DELIVERED = "delivered"      # a local address of the destination namespace accepted it
    DROPPED = "dropped"          # a rule, a disabled switch, a down link, rp_filter ...
    NO_ROUTE = "no_route"        # no route (or an unreachable/prohibit/blackhole one)
    LEFT_HOST = "left_host"      # it leaves through a physical device: beyond is not known
    UNCERTAIN = "uncertain"      # a rule whose matches netscope cannot evaluate decides it
    UNKNOWN = "unknown"          # the snapshot does not say (unresolved peer, loop ...)


@dataclass(frozen=True)
class Packet:
    """The packet as it is at one point of the walk (NAT rewrites change it)."""

    family: str          # "inet" or "inet6"
    src: str
    dst: str
    proto: str           # "icmp", "tcp", "udp"
    sport: int | None = None
    dport: int | None = None
    mark: int = 0
    ct_state: str = "new"  # "new" on the way there, "established" for the reply
    ct_status: tuple[str, ...] = ()  # "dnat"/"snat" once NAT touched the connection

    def replace(self, **changes) -> Packet:
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        ports = f" {self.sport}->{self.dport}" if self.dport is not None else ""
        return f"{self.proto} {self.src} -> {self.dst}{ports}"


@dataclass(frozen=True)
class Hop:
    """One step: where (namespace, device), what kind of step, what was decided and by what.

    `step` is one of: output-route, input-route, forward, netfilter, nat, xmit, veth, bridge,
    receive, deliver, drop, encap, decap. `evidence` holds the ids (route, rule, link) that
    decided it, and `explain` says in a sentence what the kernel did there and why.
    """

    netns: str
    netns_name: str
    device: str | None
    step: str
    decision: str
    explain: str
    evidence: tuple[str, ...] = ()
    packet: str = ""


@dataclass(frozen=True)
class PathResult:
    """A whole walk: the hops in order and how it ended (with the reason in words)."""

    packet: Packet
    hops: tuple[Hop, ...]
    end: End
    reason: str
    end_netns: str | None = None
    reply: PathResult | None = None
