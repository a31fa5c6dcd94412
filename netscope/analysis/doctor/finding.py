"""What a doctor check is and what it reports."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netscope.graph.host import HostGraph
    from netscope.model import Address

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One problem found in a snapshot.

    `id` is stable and typed by users (`netscope repair ID`): "<check>@<where>".
    `repair` is the plan as data: operations in the form `netscope.actions` reads
    (`{"op": "sysctl", "netns": ..., "key": ..., "value": ...}`), empty when netscope cannot
    repair it safely (the explanation then says what a person should do).
    """

    id: str
    check: str
    severity: str
    title: str
    summary: str
    explain: str
    evidence: tuple[str, ...] = ()
    subject: str | None = None
    repair: tuple[dict[str, Any], ...] = field(default=())


@dataclass(frozen=True)
class Check:
    """A doctor check: metadata plus a pure function of the host graph (HostGraph)."""

    id: str
    severity: str
    title: str
    explain: str
    run: Callable[[Any], Iterable[Finding]]
    # a symptom check (FAILED neighbours ...) stays quiet where a cause check already reports
    # something on the same L2 segment: one fault, one finding
    symptom: bool = False

    def finding(self, where: str, summary: str, evidence: Iterable[str] = (),
                subject: str | None = None, repair: Iterable[dict] = (),
                severity: str | None = None, explain: str | None = None) -> Finding:
        return Finding(id=f"{self.id}@{where}", check=self.id,
                       severity=severity or self.severity, title=self.title, summary=summary,
                       explain=explain or self.explain, evidence=tuple(evidence),
                       subject=subject, repair=tuple(repair))


def where(graph: HostGraph, netns: str, device: str | None = None) -> str:
    """The "<namespace>[/<device>]" part of a finding id."""
    name = graph.ns_name(netns)
    return f"{name}/{device}" if device else name


def network(address: Address) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """The subnet an address is on (its prefix)."""
    return ipaddress.ip_network(f"{address.address}/{address.prefixlen}", strict=False)


def op(kind: str, netns: str, **fields) -> dict:
    """A repair operation as data (see netscope.actions.ops); netns "" is the host's own."""
    return {"op": kind, "netns": netns or None, **fields}
