"""`?`: every key, what it does, and whether this session allows it."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

# (key, what it does, disabled by --read-only: changes the host or attaches probes)
KEYS = (
    ("/", "filter namespaces, containers, devices and addresses (the event log follows it)",
     False),
    ("t", "the expected path from the selected namespace to a target you pick or type "
          "(DST, DST tcp PORT, DST udp PORT); live with eBPF, the real packet traced over it",
     False),
    ("[ ]", "step through the path hop by hop, each hop explained; Esc closes it", False),
    ("d", "doctor: findings; Enter shows the explanation and the evidence", False),
    ("r", "repair the selected finding (shows the exact commands, asks first)", True),
    ("u", "undo the last repair", True),
    ("l", "labs: bring one up or tear it down", True),
    ("s", "save a snapshot of what is on screen to a file", False),
    ("p", "pause or resume live updates", False),
    ("D", "count drops: attach the eBPF drop monitor (D again detaches it); drops per "
          "device on the topology, in the Drops tab and the log", True),
    ("L", "lessons: container networking step by step; in a lesson x runs the step's "
          "commands and checks it, c checks again, n / b next and previous step, E ends the "
          "lesson; in the drills x brings a puzzle up, h hint, a answer", True),
    ("e", "expand or collapse groups of quiet namespaces in the topology", False),
    ("tab", "move between tree, topology, details and log", False),
    ("ctrl+p", "command palette: every action by name", False),
    ("?", "this help", False),
    ("q", "quit", False),
)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; height: auto; max-height: 80%;
                                  border: thick $accent; background: $surface; padding: 1 2; }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close")]

    def __init__(self, read_only_reason: str | None) -> None:
        super().__init__()
        self._read_only = read_only_reason

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, what, mutates in KEYS:
            if mutates and self._read_only:
                what += "  (disabled: read-only)"
            table.add_row(key, what)
        with VerticalScroll():
            yield Static("[b]netscope keys[/b]  (Esc closes)")
            if self._read_only:
                yield Static(f"read-only ({self._read_only}): keys that change the host or "
                             "attach probes are disabled", markup=False)
            yield Static("")
            yield Static(table)
