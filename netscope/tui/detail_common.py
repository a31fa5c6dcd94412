"""What every detail tab shares: the selection, and the table and "nothing here" helpers.

Pure (Rich renderables, no Textual).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from rich.text import Text

from netscope.model.index import SnapshotIndex


@dataclass(frozen=True)
class Selection:
    """What the user selected: a namespace, optionally one of its links."""

    netns: str | None
    link: str | None = None


def selection_of(index: SnapshotIndex, object_id: str | None) -> Selection:
    """The selection for a tree/topology id (namespace, link or container id)."""
    if not object_id:
        return Selection(None)
    if object_id in index.links:
        return Selection(index.links[object_id].netns, object_id)
    if object_id in index.namespaces:
        return Selection(object_id)
    for c in index.snapshot.containers:
        if c.id == object_id:
            return Selection(c.netns)
    return Selection(None)


def make_table(*columns: str) -> Table:
    out = Table(box=None, expand=True, pad_edge=False, header_style="bold")
    for c in columns:
        out.add_column(c, overflow="fold")
    return out


def nothing(text: str) -> Text:
    """A dim line saying why there is nothing to show (never an empty table)."""
    return Text(text, style="dim")
