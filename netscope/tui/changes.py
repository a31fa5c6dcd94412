"""What changed between two snapshots, in words for the event log, with the ids to highlight.

Pure (no Textual): the words of the one snapshot diff (netscope.report.diff), which matches
objects by name and gives the ids to highlight in the newer snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass

from netscope.model import Snapshot
from netscope.report.diff import Change as SnapshotChange
from netscope.report.diff import diff_snapshots as snapshot_diff


@dataclass(frozen=True)
class Change:
    """One change: a sentence, its kind (namespace, link, address, route, neighbour ...), the
    ids of the objects to highlight (links and namespaces), and the namespace it happened in
    (what the filter judges it by)."""

    kind: str
    text: str
    ids: tuple[str, ...]
    netns: str = ""


def sentence(c: SnapshotChange) -> str:
    """A snapshot diff's change as one line of the event log."""
    if c.what == "namespace":
        return f"{c.subject} {'appeared' if c.change == 'added' else 'is gone'}"
    if c.what == "link":
        if c.change == "changed":  # the log says "UP -> DOWN" for the state
            return f"{c.netns}:{c.subject}: " + ", ".join(
                part.removeprefix("state ") for part in c.detail.split(", "))
        return f"{c.netns}:{c.subject} {c.change}" + (f" ({c.detail})" if c.detail else "")
    if c.what == "neighbour":
        return f"{c.netns}: neighbour {c.subject} {c.detail}"
    text = f"{c.netns}: {c.what} {c.subject}"
    if c.change == "changed":
        return f"{text}: {c.detail}" if c.detail else f"{text} changed"
    return f"{text} {c.change}" + (f" ({c.detail})" if c.detail else "")


def diff_snapshots(old: Snapshot, new: Snapshot,
                   touched: frozenset[str] | None = None) -> list[Change]:
    """Every change a person would want to see, namespaces first: the one snapshot diff
    (netscope.report.diff, what `netscope diff` prints), with neighbours that newly FAILED.
    `touched`: the namespaces a partial re-read read again (the only ones that can differ)."""
    ids = {ns.name: ns.id for ns in old.namespaces}
    ids.update({ns.name: ns.id for ns in new.namespaces})
    return [Change(c.what, sentence(c), c.ids, ids.get(c.netns, ""))
            for c in snapshot_diff(old, new, live=True, touched=touched).changes]


class HiddenChanges:
    """Changes in namespaces the filter hides: not logged one by one but counted, and said in
    one line ("N changes in filtered-out namespaces") when the app asks: before the next line
    it shows, and on a timer."""

    def __init__(self) -> None:
        self.pending = 0

    def split(self, changes: list[Change], visible: frozenset[str] | None) -> list[Change]:
        """The changes to log; the others are counted."""
        if visible is None:
            return changes
        shown = [c for c in changes if c.netns in visible]
        self.pending += len(changes) - len(shown)
        return shown

    def line(self) -> str | None:
        """The summary line of what was counted since the last one (None: nothing was)."""
        if not self.pending:
            return None
        text = (f"{self.pending} change{'s' if self.pending > 1 else ''} in filtered-out "
                "namespaces")
        self.pending = 0
        return text
