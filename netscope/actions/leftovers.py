"""Each start cleans up after killed netscopes: the nft trace tables whose owner is gone (found
by the leftovers collector in the snapshot the command reads anyway) and the conntrack
accounting switches a killed `flows --enable-accounting` left on (its journal names them).

Called by the commands that attach or change something (trace, check, drops, repair, flows
--enable-accounting), before they do.
"""

from __future__ import annotations

from collections.abc import Callable

from netscope.actions import accounting
from netscope.actions.execute import ActionFailed, apply_one
from netscope.actions.ops import Nft
from netscope.graph.host import HostGraph
from netscope.model import Snapshot

Say = Callable[[str], None]


def sweep(snapshot: Snapshot, say: Say | None = None) -> list[str]:
    """Remove what killed netscopes left behind; returns what was removed, one line each.
    Errors are reported through `say` and do not stop the command (the doctor still shows
    what could not be removed)."""
    removed = []
    lefts = [x for x in getattr(snapshot, "leftovers", ()) if x.kind == "nft_table"]
    graph = HostGraph.of(snapshot) if lefts else None
    for left in lefts:
        ns = graph.namespaces.get(left.netns)
        ref = graph.ns_ref(left.netns) if ns is not None else ""
        if ns is None or (not ref and not ns.is_self):
            continue  # no way into that namespace any more
        try:
            apply_one(Nft(ref or None, f"delete table {left.name}\n"))
        except ActionFailed as e:
            if not e.already_gone and say:
                say(f"could not remove the leftover table {left.name}: {e}")
            continue
        removed.append(f"table {left.name} of netscope pid {left.owner_pid}")
    try:
        if accounting.restore_orphans():
            removed.append("conntrack accounting a killed netscope had turned on")
    except accounting.AccountingError as e:
        if say:
            say(str(e))
    if removed and say:
        say("removed what killed netscopes left behind: " + "; ".join(removed))
    return removed
