"""What the views show, derived from the app's state: the filter, the journey's marks.

Pure (no Textual), so the rules are tested without an app.
"""

from __future__ import annotations

from netscope.graph.host import HostGraph
from netscope.tui.journey import Journey
from netscope.tui.topology_layout import Marks


def visible_namespaces(graph: HostGraph, text: str) -> frozenset[str] | None:
    """Namespaces whose name, container, device name or address holds `text` (case
    ignored); None when there is no filter."""
    needle = text.strip().lower()
    if not needle:
        return None
    hits = set()
    for ns_id, ns in graph.namespaces.items():
        words = [ns.name, ns.id]
        words += [c.name for c in graph.containers_in(ns_id)]
        for link in graph.links_in(ns_id):
            words.append(link.name)
            words += [a.cidr for a in graph.addresses_on(link.id)]
        if any(needle in w.lower() for w in words):
            hits.add(ns_id)
    return frozenset(hits)


def journey_marks(journey: Journey | None, current: int
                  ) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(ids on the path, ids of the current hop, ids of the dropping hop)."""
    if journey is None:
        return frozenset(), frozenset(), frozenset()

    def ids(i: int) -> frozenset[str]:
        hop = journey.hops[i]
        return frozenset(x for x in (hop.link,) if x) or frozenset({hop.netns})

    on_path = frozenset().union(*(ids(i) for i in range(len(journey.hops))))
    drop = journey.drop_index
    return on_path, ids(current), ids(drop) if drop is not None else frozenset()


def marks_for(journey: Journey | None, current: int, *, selected: str | None,
              changed: frozenset[str], visible: frozenset[str] | None, expanded: bool,
              drops: dict[str, int] | None, alerts: frozenset[str] = frozenset()) -> Marks:
    on_path, now, dropped = journey_marks(journey, current)
    return Marks(changed=changed, on_path=on_path, current=now, dropped=dropped,
                 selected=selected, drops=drops, visible=visible, expanded=expanded,
                 alerts=alerts)
