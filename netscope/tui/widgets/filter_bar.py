"""The filter line above the tree (`/`): namespaces, containers, devices, addresses."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class FilterBar(Input):
    """Hidden until `/`; every keystroke posts `Applied`; Escape clears and hides it."""

    DEFAULT_CSS = """
    FilterBar { display: none; }
    FilterBar.-shown { display: block; }
    """
    BINDINGS = [Binding("escape", "dismiss", "clear filter", show=False)]

    class Applied(Message):
        """The filter text changed ("" = no filter)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, **kwargs) -> None:
        super().__init__(placeholder="filter: name, device, IP", **kwargs)

    def open(self) -> None:
        self.add_class("-shown")
        self.focus()

    def show_text(self, text: str) -> None:
        """Show a filter set from outside (`netscope demo`), without taking the focus."""
        self.value = text
        self.add_class("-shown")

    def action_dismiss(self) -> None:
        self.value = ""
        self.remove_class("-shown")
        self.post_message(self.Applied(""))
        self.screen.focus_next()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Applied(event.value.strip()))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.value:
            self.remove_class("-shown")
        self.screen.focus_next()
