"""`l`: the labs, which are up, and bring one up or tear it down (Enter)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from netscope.model.safe_text import safe


class LabsScreen(ModalScreen[tuple[str, str] | None]):
    """Dismisses with ("up" | "down", lab name), or None."""

    DEFAULT_CSS = """
    LabsScreen { align: center middle; }
    LabsScreen > Vertical { width: 90; height: 70%; border: thick $accent;
                            background: $surface; }
    LabsScreen OptionList { height: 1fr; }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "cancel")]

    def __init__(self, labs: list[tuple[str, str]], running: set[str]) -> None:
        super().__init__()
        self._labs, self._up_labs = labs, running

    def compose(self) -> ComposeResult:
        options = []
        for name, summary in self._labs:
            state = "UP  " if name in self._up_labs else "    "
            options.append(Option(Text(safe(f"{state} {name:<16} {summary}")), id=name))
        with Vertical():
            yield Static("[b]labs[/b]: Enter brings the lab up, or tears it down if it is up")
            yield OptionList(*options)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        name = event.option.id or ""
        self.dismiss(("down" if name in self._up_labs else "up", name))
