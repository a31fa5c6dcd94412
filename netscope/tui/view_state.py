"""What the views show, derived from the app's state: the filter, the journey's marks.

Pure (no Textual), so the rules are tested without an app.
"""

from __future__ import annotations

from netscope.graph.host import HostGraph
from netscope.model.journey import Hop
from netscope.tui.journey import JourneyView
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


def hop_ids(hop: Hop) -> frozenset[str]:
    """What a hop lights up on the topology: its device, else its namespace."""
    return frozenset({hop.link}) if hop.link else frozenset({hop.netns})


def marks_for(view: JourneyView | None, current: int, *, selected: str | None,
              changed: frozenset[str], visible: frozenset[str] | None, expanded: bool,
              drops: dict[str, int] | None, alerts: frozenset[str] = frozenset()) -> Marks:
    """The topology's highlights: the journey's path, its current hop and drop, the walk
    under an observed journey and where the two part; the selection, changes, drops."""
    on_path = now = dropped = expected = parted = frozenset()
    if view is not None and view.journey.hops:
        hops = view.journey.hops
        on_path = frozenset().union(*(hop_ids(h) for h in hops))
        now = hop_ids(hops[max(0, min(current, len(hops) - 1))])
        drop = view.journey.drop_index
        dropped = hop_ids(hops[drop]) if drop is not None else frozenset()
        if view.expected is not None:
            expected = frozenset().union(*(hop_ids(h) for h in view.expected.hops)) - on_path
        if view.parted is not None:
            parted = hop_ids(hops[view.parted])
    return Marks(changed=changed, on_path=on_path, current=now, dropped=dropped,
                 selected=selected, drops=drops, visible=visible, expanded=expanded,
                 alerts=alerts, expected=expected, parted=parted)
