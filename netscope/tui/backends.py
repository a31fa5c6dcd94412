"""The features other parts of netscope provide to the TUI, found when they exist.

UI-free. Each backend is looked up by import; a missing one is None and its key shows the
one-line notice in NOT_YET instead of a result. What each backend must offer:

- doctor: `netscope.analysis.doctor.run_checks(snapshot) -> list[finding]`, a finding having
  `id`, `severity`, `title`, `explanation` and `evidence` (a sequence of strings).
- repair/undo: `netscope.actions.repair.plan(finding) -> plan` with `commands` (shell lines
  shown before confirming) and `apply()`; `netscope.actions.repair.undo_last() -> str`.
- tracer: `netscope.trace.journey.trace_once(snapshot, src, dst) -> (packet, events)`, events
  as `netscope.trace.events.ProbeEvent`s; the TUI places them with `journey_from_events`.
- labs: `netscope.actions.labs` with `list_labs()` (objects with `name`, `summary`),
  `lab_up(name)`, `lab_down(name)` and `lab_status() -> set of running lab names`.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

NOT_YET = {
    "doctor": "doctor arrives with the doctor checks",
    "repair": "repair arrives with the doctor checks",
    "undo": "undo arrives with the doctor's repairs",
    "trace": "trace arrives with the packet tracer (netscope trace)",
    "labs": "labs arrive with `netscope lab`",
}


# feature -> (module, the names it must define)
BACKENDS = {
    "doctor": ("netscope.analysis.doctor", ("run_checks",)),
    "repair": ("netscope.actions.repair", ("plan", "undo_last")),
    "trace": ("netscope.trace.journey", ("trace_once",)),
    "labs": ("netscope.actions.labs", ("list_labs", "lab_up", "lab_down", "lab_status")),
}


class Backends:
    """Looks backends up when first asked (so startup never imports bcc or the like)."""

    def __init__(self, available: dict[str, ModuleType | None] | None = None) -> None:
        # given modules (tests) win; None there means "absent"
        self._found: dict[str, ModuleType | None] = dict(available or {})

    @classmethod
    def none(cls) -> Backends:
        """No backend at all: every feature key shows its notice."""
        return cls(dict.fromkeys(BACKENDS))

    def get(self, feature: str) -> ModuleType | None:
        if feature == "undo":
            feature = "repair"
        if feature not in self._found:
            self._found[feature] = _load(*BACKENDS[feature])
        return self._found[feature]


def _load(name: str, needs: tuple[str, ...]) -> ModuleType | None:
    try:
        if importlib.util.find_spec(name) is None:
            return None
        module = importlib.import_module(name)
    except ImportError:
        return None
    return module if all(hasattr(module, n) for n in needs) else None
