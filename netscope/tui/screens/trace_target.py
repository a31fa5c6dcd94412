"""`t`: pick where to walk (and trace) to from the selected namespace: a namespace picked
below, or a line typed in: an address, a container or a namespace, optionally a protocol and
port ("10.0.0.3 tcp 80"). Dismisses with that text (a picked namespace: its id), or None."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from netscope.model.safe_text import safe


class TraceTargetScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    TraceTargetScreen { align: center middle; }
    TraceTargetScreen > Vertical { width: 70; height: 70%; border: thick $accent;
                                   background: $surface; }
    TraceTargetScreen OptionList { height: 1fr; }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "cancel"),
                Binding("down", "pick", "pick below", show=False)]

    def __init__(self, source: str, targets: list[tuple[str, str]]) -> None:
        """`targets`: (what to walk to: a namespace id, a line describing it)."""
        super().__init__()
        self._source, self._targets = source, targets

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"trace from {safe(self._source)} to:", style="bold"))
            yield Input(placeholder="address or name [tcp PORT | udp PORT], or pick below",
                        id="target")
            yield OptionList(*(Option(Text(safe(line)), id=name) for name, line in self._targets))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_pick(self) -> None:
        """Down from the typed line goes to the namespaces to pick from."""
        options = self.query_one(OptionList)
        if not options.has_focus:
            options.focus()
            options.highlighted = 0 if options.option_count else None
