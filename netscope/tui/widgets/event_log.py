"""The event log at the bottom: link/route changes, drops, trace hops, notices."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.widgets import RichLog

from netscope.tui.safe_render import safe_text

KIND_STYLES = {"link": "yellow", "address": "cyan", "route": "magenta", "neighbour": "blue",
               "namespace": "green", "drop": "bold red", "trace": "bold", "notice": "dim",
               "filtered": "dim italic"}


class EventLog(RichLog):
    DEFAULT_CSS = """
    EventLog { height: 8; border-top: solid $primary-darken-2; }
    """

    def __init__(self, clock: Callable[[], float] = time.time, **kwargs) -> None:
        super().__init__(max_lines=1000, wrap=False, markup=False, highlight=False, **kwargs)
        self._clock = clock

    def add(self, kind: str, text: str) -> None:
        """One line: time, kind, text."""
        line = Text(time.strftime("%H:%M:%S ", time.localtime(self._clock())), style="dim")
        line.append(f"{kind:<9} ", style=KIND_STYLES.get(kind, ""))
        line.append_text(safe_text(text))
        self.write(line)
