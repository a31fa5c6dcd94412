"""A small modal that shows a few lines and asks yes/no (repair confirmation) or just OK."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from netscope.model.safe_text import safe, safe_lines


class ConfirmScreen(ModalScreen[bool]):
    """Shows `body`; `y` answers True, `n`/Esc False."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 90; height: auto; border: thick $warning;
                               background: $surface; padding: 1 2; }
    """
    BINDINGS = [Binding("y", "answer(True)", "yes, apply"),
                Binding("n,escape", "answer(False)", "no")]

    def __init__(self, title: str, body: str) -> None:
        super().__init__()
        self._title, self._body = title, body

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(safe(self._title) + "\n", style="bold"))
            yield Static(Text(safe_lines(self._body)))
            yield Static("\n[b]y[/b] apply   [b]n[/b] cancel")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
