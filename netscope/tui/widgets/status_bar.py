"""The top line: host, kernel, counts, and the mode (live, paused, read-only, offline)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from netscope.model import Snapshot
from netscope.tui.safe_render import safe_text


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def show(self, snapshot: Snapshot, mode: str, note: str = "") -> None:
        h = snapshot.header
        text = Text("netscope ", style="bold")
        text.append(f"{h.hostname} · kernel {h.kernel} · {len(snapshot.namespaces)} namespaces"
                    f" · {len(snapshot.containers)} containers · {len(snapshot.links)} links · ")
        style = {"LIVE": "bold green", "PAUSED": "bold yellow"}.get(mode.split()[0], "bold cyan")
        text.append(mode, style=style)
        text.append(f" · {note}" if note else "", style="dim")
        self.update(safe_text(text))
