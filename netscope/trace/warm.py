"""Probe programs compiled ahead, in the background, so that the keys that attach them (the
TUI's D and t) do it in milliseconds instead of the ~0.5 s of CPU bcc's compile takes.

One thread prepares each program once (compile + load, not attached: costs nothing until
attached); users take the prepared program, attach it, detach it, and may take it again.
Closing waits for the thread and closes every program. A program that could not be
prepared is absent, with the reason: its user then makes one itself (and fails the same
way, saying why).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from netscope.trace.errors import ProbeError
from netscope.trace.loader import Program


class Warmed:
    """Programs by name, prepared by `start()` on a thread of their own."""

    def __init__(self, prepare: dict[str, Callable[[], Program]]) -> None:
        self._prepare = prepare
        self._programs: dict[str, Program] = {}
        self.failed: dict[str, str] = {}
        self.seconds: dict[str, float] = {}
        self._thread: threading.Thread | None = None
        self._closed = False
        self._lock = threading.Lock()

    def start(self) -> None:
        """Begin preparing (once); returns at once."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="netscope-probes-warm",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        for name, prepare in self._prepare.items():
            with self._lock:
                if self._closed:
                    return
            try:
                program = prepare()
            except ProbeError as e:
                self.failed[name] = str(e)
                continue
            with self._lock:
                if self._closed:
                    program.close()
                    return
                self._programs[name] = program
                self.seconds[name] = program.prepare_seconds

    def get(self, name: str, wait_s: float = 30.0) -> Program | None:
        """The prepared program (waiting for the preparation still running, up to wait_s),
        or None when it was never started, failed, or is not ready in time."""
        if self._thread is None:
            return None
        self._thread.join(wait_s)
        return self._programs.get(name)

    def close(self) -> None:
        """Detach and close every program (waits for a preparation under way)."""
        with self._lock:
            self._closed = True
        if self._thread is not None:
            self._thread.join()
        for program in self._programs.values():
            program.close()
        self._programs.clear()
