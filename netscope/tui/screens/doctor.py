"""`d`: the doctor's findings in a list; the highlighted one explained, with its evidence.

Fed by a list of findings (objects with id, severity, title, summary, explain, evidence); `r` on
a finding asks the app to repair it (the app checks read-only and the repair backend).
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from netscope.model.safe_text import safe
from netscope.tui.safe_render import safe_renderable

SEVERITY_STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan"}


class DoctorScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    DoctorScreen { align: center middle; }
    DoctorScreen > Horizontal { width: 95%; height: 80%; border: thick $accent;
                                background: $surface; }
    DoctorScreen OptionList { width: 2fr; height: 1fr; }
    DoctorScreen VerticalScroll { width: 3fr; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q", "dismiss", "close"),
                Binding("r", "repair", "repair finding")]

    class RepairRequested(Message):
        def __init__(self, finding) -> None:
            super().__init__()
            self.finding = finding

    def __init__(self, findings: list) -> None:
        super().__init__()
        self._findings = findings

    def compose(self) -> ComposeResult:
        options = [Option(Text.assemble((f"{f.severity:<8}", SEVERITY_STYLES.get(f.severity, "")),
                                        f" {safe(f.summary)}"), id=str(i))
                   for i, f in enumerate(self._findings)]
        with Horizontal():
            yield OptionList(*options) if options else Static("no findings: healthy")
            with VerticalScroll():
                yield Static(id="finding")

    def on_mount(self) -> None:
        if self._findings:
            self._explain(0)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._explain(int(event.option.id or 0))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._explain(int(event.option.id or 0))

    def _explain(self, i: int) -> None:
        f = self._findings[i]
        parts = [Text(f.title, style="bold"), Text(f"{f.id} · {f.severity}", style="dim"),
                 Text(""), Text(f.summary), Text(""), Text("why:", style="bold"),
                 Text(f.explain), Text(""), Text("evidence:", style="bold")]
        parts += [Text(f"  {e}") for e in f.evidence]
        self.query_one("#finding", Static).update(safe_renderable(Group(*parts)))

    def action_repair(self) -> None:
        options = self.query(OptionList)
        if not options or options.first().highlighted is None:
            return
        self.post_message(self.RepairRequested(self._findings[options.first().highlighted]))
