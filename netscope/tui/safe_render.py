"""The TUI's side of the output sanitiser: Rich renderables with every text made safe.

Pure (Rich, no Textual). Widgets pass what they show through `safe_renderable` (detail tabs,
trace strip, doctor, status line) or `safe_text` (tree labels, log lines) right where it
reaches Textual, so names, hostnames, comments and DNS files from the host or a snapshot show
their control characters escaped (netscope.model.safe_text) instead of driving the terminal.

Plain strings become `Text` without markup: Rich and Textual parse a `str` as markup, so a
name holding "[/]" would otherwise crash the screen or restyle it. Styles and spans of a
`Text` are kept, moved to where their characters went.
"""

from __future__ import annotations

from rich.console import Group
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Span, Text

from netscope.model.safe_text import is_safe, safe_lines


def safe_text(text: Text | str) -> Text:
    """A Text with its control characters escaped, its styles where they were."""
    if isinstance(text, str):
        return Text(safe_lines(text))
    plain = text.plain
    if is_safe(plain):
        return text
    # where each original character starts in the escaped text
    starts, pieces, at = [], [], 0
    for char in plain:
        piece = safe_lines(char)
        starts.append(at)
        pieces.append(piece)
        at += len(piece)
    starts.append(at)
    out = text.copy()
    out.plain = "".join(pieces)
    out.spans = [Span(starts[s.start], starts[min(s.end, len(plain))], s.style)
                 for s in text.spans]
    return out


def safe_renderable(renderable):
    """The renderable with every text in it made safe (Text, str, Group, Table, Padding,
    Panel, nested); anything else is returned as it is."""
    if isinstance(renderable, Text | str):
        return safe_text(renderable)
    if isinstance(renderable, Group):
        return Group(*(safe_renderable(r) for r in renderable.renderables),
                     fit=renderable.fit)
    if isinstance(renderable, Table):
        for column in renderable.columns:
            column._cells = [safe_renderable(c) for c in column._cells]
            if isinstance(column.header, Text | str):
                column.header = safe_text(column.header)
        for attr in ("title", "caption"):
            value = getattr(renderable, attr)
            if isinstance(value, Text | str):
                setattr(renderable, attr, safe_text(value))
        return renderable
    if isinstance(renderable, Padding | Panel):
        renderable.renderable = safe_renderable(renderable.renderable)
        if isinstance(renderable, Panel) and isinstance(renderable.title, Text | str):
            renderable.title = safe_text(renderable.title)
        return renderable
    return renderable
