"""The journey the TUI shows: a packet's hops (netscope.model.journey, the one model `path`,
`trace` and `check` share), as the static walk expects them, as the tracer observed them (drawn
over the walk, the first hop where the two part marked), or as recorded; and the target line
`t` takes.

Pure (no Textual). Hops are explained by netscope.analysis.hop_explain, as everywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from netscope.analysis.compare import Comparison, compare, taken_outcome
from netscope.graph.host import HostGraph
from netscope.model.journey import Journey
from netscope.snapshot.codec import DecodeError, decode, encode

JOURNEY_FORMAT = "netscope-journey"
JOURNEY_VERSION = 2
EXPECTED, OBSERVED, RECORDED = "expected", "observed", "recorded"
PROTOCOLS = ("icmp", "tcp", "udp")


@dataclass(frozen=True)
class JourneyView:
    """What the trace strip and the topology show: `journey` (stepped through with [ ]),
    whether it is the walk's expectation, an observed trace or a recording; for an observed
    one, the walk drawn under it (`expected`), how the two compare and the index of the
    observed hop where they part (None: they agree)."""

    journey: Journey
    kind: str
    expected: Journey | None = None
    comparison: Comparison | None = None
    parted: int | None = None


def expected_view(walk: Journey) -> JourneyView:
    """The walk as the strip shows it: a walk that splits at a random choice (a service's
    endpoints) shows its first option whole (`branch_note` says which)."""
    return JourneyView(taken_outcome(walk, None), EXPECTED)


def branch_note(walk: Journey) -> str:
    """What the strip leaves out of a walk with random choices ("" when it has none)."""
    if not walk.branches:
        return ""
    outcomes = walk.outcomes()
    first = walk.branches[0]
    return (f"the walk splits at a random choice into {len(outcomes)} outcomes: shown "
            f"{first.choice} (p={outcomes[0][0]:.2f}); `netscope path` lists them all")


def recorded_view(journey: Journey) -> JourneyView:
    return JourneyView(journey, RECORDED)


def observed_view(observed: Journey, walk: Journey | None, graph: HostGraph) -> JourneyView:
    """The observed journey over the walk, compared as `netscope check` compares them."""
    if walk is None:
        return JourneyView(observed, OBSERVED)
    comparison = compare(walk, observed, graph)
    walk = taken_outcome(walk, observed)
    return JourneyView(observed, OBSERVED, walk, comparison, _parting_hop(observed, comparison))


def _parting_hop(observed: Journey, comparison: Comparison) -> int | None:
    """The first observed hop in the namespace where the packet left the walk's way; when
    they took the same way but ended differently, the hop where the observed one ended."""
    if comparison.agrees or not observed.hops:
        return None
    if comparison.parts_at is not None:
        runs, last = -1, None
        for i, hop in enumerate(observed.hops):
            if hop.netns and hop.netns != last:
                runs, last = runs + 1, hop.netns
                if runs == comparison.parts_at:
                    return i
    drop = observed.drop_index
    return drop if drop is not None else len(observed.hops) - 1


def parse_target(text: str) -> tuple[str, str, int | None]:
    """`t`'s target line: "DST [icmp | tcp PORT | udp PORT]" -> (dst, proto, port).
    Raises ValueError with the line to show when it is not that."""
    words = text.split()
    if not words:
        raise ValueError("give a target: an address, a container or a namespace")
    target, rest = words[0], [w.lower() for w in words[1:]]
    proto = rest[0] if rest else "icmp"
    if proto not in PROTOCOLS or len(rest) > (1 if proto == "icmp" else 2):
        raise ValueError(f"trace to {text!r}: write DST, DST tcp PORT or DST udp PORT")
    if proto == "icmp":
        return target, proto, None
    if len(rest) < 2 or not rest[1].isdigit() or not 1 <= int(rest[1]) <= 65535:
        raise ValueError(f"{proto} needs a destination port from 1 to 65535: DST {proto} PORT")
    return target, proto, int(rest[1])


def journey_document(journey: Journey, note: str = "") -> dict:
    """A recorded journey as JSON: {"format": "netscope-journey", "version": 2, "note",
    "journey": the model's fields (netscope.model.journey, encoded as snapshots are)}."""
    return {"format": JOURNEY_FORMAT, "version": JOURNEY_VERSION, "note": note,
            "journey": encode(journey)}


def load_journey(text: str) -> Journey:
    """A recorded journey (see `journey_document`). Raises ValueError when malformed."""
    doc = json.loads(text)
    if not isinstance(doc, dict) or doc.get("format") != JOURNEY_FORMAT:
        raise ValueError(f"not a {JOURNEY_FORMAT} document")
    if doc.get("version") != JOURNEY_VERSION:
        raise ValueError(f"{JOURNEY_FORMAT} version {doc.get('version')!r} is not "
                         f"{JOURNEY_VERSION}: record it again")
    try:
        return decode(Journey, doc.get("journey"), "journey")
    except DecodeError as e:
        raise ValueError(str(e)) from None
