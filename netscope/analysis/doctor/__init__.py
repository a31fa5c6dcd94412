"""The doctor: pure checks over a snapshot, each explaining the mechanism and the repair."""

from __future__ import annotations

from netscope.analysis.doctor.finding import SEVERITIES, Check, Finding
from netscope.analysis.doctor.registry import CHECKS
from netscope.graph.host import HostGraph
from netscope.model import Snapshot

__all__ = ["CHECKS", "Check", "Finding", "run_doctor"]


def run_doctor(snapshot: Snapshot | HostGraph, checks: tuple[Check, ...] = CHECKS) -> list[Finding]:
    """Every finding of every check, most severe first; a check that crashes is reported as a
    finding of its own rather than hiding the others."""
    graph = snapshot if isinstance(snapshot, HostGraph) else HostGraph.of(snapshot)
    findings: list[Finding] = []
    for check in checks:
        try:
            findings.extend(check.run(graph))
        except Exception as e:  # a bug in one check must not hide the others' findings
            findings.append(Finding(
                id=f"doctor_error@{check.id}", check="doctor_error", severity="warning",
                title="a doctor check failed", summary=f"check {check.id} failed: {e!r}",
                explain="This is a bug in netscope; the other checks ran normally."))
    findings = _without_explained_symptoms(graph, findings, {c.id for c in checks if c.symptom})
    order = {s: i for i, s in enumerate(SEVERITIES)}
    unique = {f.id: f for f in findings}
    return sorted(unique.values(), key=lambda f: (order.get(f.severity, 9), f.id))


def _without_explained_symptoms(graph: HostGraph, findings: list[Finding],
                                symptom_checks: set[str]) -> list[Finding]:
    """Drop symptom findings on a segment where a cause finding already points."""
    touched: set[str] = set()
    for f in findings:
        if f.check not in symptom_checks:
            for ev in f.evidence:
                if ev in graph.links:
                    touched |= graph.segment(ev)
    return [f for f in findings if f.check not in symptom_checks or f.subject not in touched]
