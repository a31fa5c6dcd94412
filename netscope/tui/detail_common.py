"""What every detail tab shares: the selection, and the table and "nothing here" helpers.

Pure (Rich renderables, no Textual).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from rich.text import Text

from netscope.graph.host import HostGraph


@dataclass(frozen=True)
class Selection:
    """What the user selected: a namespace, optionally one of its links."""

    netns: str | None
    link: str | None = None


def selection_of(graph: HostGraph, object_id: str | None) -> Selection:
    """The selection for a tree/topology id (namespace, link or container id)."""
    if not object_id:
        return Selection(None)
    if object_id in graph.links:
        return Selection(graph.links[object_id].netns, object_id)
    if object_id in graph.namespaces:
        return Selection(object_id)
    container = graph.containers.get(object_id)
    return Selection(container.netns if container is not None else None)


def make_table(*columns: str) -> Table:
    out = Table(box=None, expand=True, pad_edge=False, header_style="bold")
    for c in columns:
        out.add_column(c, overflow="fold")
    return out


def nothing(text: str) -> Text:
    """A dim line saying why there is nothing to show (never an empty table)."""
    return Text(text, style="dim")
