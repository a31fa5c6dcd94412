"""Expected against observed: where the static walk and a traced journey agree or part.

`check` prints it; the TUI marks the first place they differ over the expected path.
"""

from __future__ import annotations

from dataclasses import dataclass

from netscope.graph.host import HostGraph
from netscope.model.journey import Journey, Verdict


@dataclass(frozen=True)
class Comparison:
    """`namespaces`: the expected journey's namespaces by name, in order; `parts_at` the
    index into them where the observed packet went elsewhere (None: it did not);
    `difference` says in a line where and how they differ (None when they agree)."""

    end: Verdict
    reason: str
    namespaces: tuple[str, ...]
    agrees: bool
    difference: str | None
    parts_at: int | None = None

    def document(self) -> dict:
        """The `expected` object of `check --json` (docs/trace.md)."""
        return {"end": str(self.end), "reason": self.reason,
                "namespaces": list(self.namespaces), "agrees": self.agrees,
                "difference": self.difference}


def taken_outcome(expected: Journey, observed: Journey | None) -> Journey:
    """The outcome of a walk with random choices (Journey.outcomes) the observed packet
    took: the one sharing the longest run of namespaces with it (the first outcome when
    nothing was seen). A walk without choices is its own outcome."""
    if not expected.branches:
        return expected
    seen = observed.namespaces() if observed is not None else []
    return max((j for _, j in expected.outcomes()),
               key=lambda j: _common_prefix(j.namespaces(), seen))


def compare(expected: Journey, observed: Journey | None, graph: HostGraph,
            observed_end: Verdict | None = None) -> Comparison:
    """Compare an expected journey with the observed one (None: nothing was seen).
    `observed_end` overrides how the observed journey ended (a refused TCP connection
    was delivered, though its SYN died in the stack)."""
    seen = observed.namespaces() if observed is not None else []
    expected = taken_outcome(expected, observed)
    want = expected.namespaces()
    if observed_end is None:
        observed_end = observed.verdict if observed is not None else Verdict.UNKNOWN
    difference, parts_at = None, None
    for i, (w, s) in enumerate(zip(want, seen, strict=False)):
        if w != s:
            difference = (f"at step {i + 1} the walk expected {graph.ns_name(w)}, the packet "
                          f"went to {graph.ns_name(s)}")
            parts_at = i
            break
    if difference is None and expected.verdict != observed_end:
        where = graph.ns_name(expected.end_netns) if expected.end_netns else "?"
        difference = (f"the walk expected {expected.verdict} in {where} ({expected.summary}); "
                      f"observed: {observed_end.words}")
    return Comparison(expected.verdict, expected.summary,
                      tuple(graph.ns_name(n) for n in want), difference is None, difference,
                      parts_at)


def _common_prefix(a: list[str], b: list[str]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
