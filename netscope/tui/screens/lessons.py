"""`L`: the lessons and the learner's progress; Enter opens one (its steps, or the drills'
puzzles, in the Lessons panel). `a`: the drills' answer, typed in (AnswerScreen)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from netscope.model.safe_text import safe

CLOSE = "close"


class LessonsScreen(ModalScreen[str | None]):
    """Dismisses with a lesson's number (as text), "close" (close the open lesson), or
    None (Esc)."""

    DEFAULT_CSS = """
    LessonsScreen { align: center middle; }
    LessonsScreen > Vertical { width: 100; height: 80%; border: thick $accent;
                               background: $surface; }
    LessonsScreen OptionList { height: 1fr; }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "cancel")]

    def __init__(self, rows: list[tuple[int, str, str, str]], open_lesson: int | None) -> None:
        """`rows`: (number, title, summary, progress words) per lesson."""
        super().__init__()
        self._rows, self._open = rows, open_lesson

    def compose(self) -> ComposeResult:
        options = []
        for number, title, summary, progress in self._rows:
            line = Text(f"{number:>2}  ", style="bold")
            line.append(safe(title), style="bold cyan" if number == self._open else "bold")
            line.append(f"  {safe(progress)}\n    {safe(summary)}", style="")
            options.append(Option(line, id=str(number)))
        if self._open is not None:
            options.append(Option(Text(f"    close lesson {self._open} (everything this "
                                       "session made for it is removed)", style="yellow"),
                                  id=CLOSE))
        with Vertical():
            yield Static("[b]lessons[/b]: Enter opens one; each step runs a few commands in "
                         "the lesson's own namespaces and checks them live")
            yield OptionList(*options)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class AnswerScreen(ModalScreen[str | None]):
    """The drills' answer: a fault id, typed (the known ones listed). Dismisses with it."""

    DEFAULT_CSS = """
    AnswerScreen { align: center middle; }
    AnswerScreen > Vertical { width: 90; height: auto; max-height: 80%; border: thick $accent;
                              background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "cancel")]

    def __init__(self, puzzle: int, faults: list[str]) -> None:
        super().__init__()
        self._puzzle, self._faults = puzzle, faults

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"puzzle {self._puzzle}: which fault is it?", style="bold"))
            yield Input(placeholder="a fault id, e.g. ip_forward_off", id="answer")
            yield Static(Text("fault ids: " + ", ".join(self._faults), style="dim"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)
