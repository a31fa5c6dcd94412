"""The cyclic garbage collector in the live TUI, at a size where its full passes show.

At 1,000 namespaces the app holds hundreds of thousands of objects, and every live update
makes tens of thousands more (the new snapshot's tuples, the graph's indexes, the topology,
the tree's labels) that live until the next one. CPython's full collections walk all of
them; left to themselves they came every update or two, in the UI's thread, in the middle of
handling that update (40-130 ms each, measured with gc callbacks). So, in a real terminal:

- what exists at the first screen is frozen out of the collector (gc.freeze): Textual, the
  modules, the first snapshot;
- full collections are not started by allocation counts any more but when the UI is idle:
  only when one is due by CPython's own count (threshold2 passes of the middle generation),
  nothing arrived for IDLE_S, and the last one is EVERY_S old. The young generations are
  collected as before: Textual's render strips form reference cycles every frame, and
  those die young.
- when the app ends, the thresholds and the frozen objects are given back (left frozen,
  the process sometimes lingered after exiting: 11 of 25 quits in tmux).

Tests run many apps in one process: the app does none of this when headless.
"""

from __future__ import annotations

import gc
import time

IDLE_S = 1.0
# and at most one every this many seconds: CPython would also wait for the objects promoted
# since the last one to be a quarter of those it kept, a count Python cannot read; at
# 1,000 namespaces each full collection is 70-230 ms, and with one every few seconds an
# idle TUI spent ~1% of a core on them (the garbage waiting meanwhile is Textual's render
# strips: a few MB)
EVERY_S = 30.0
# a full collection is never started by counts while kept (CPython's gen-2 threshold)
NEVER = 1 << 30


class HeapKeeper:
    """Freeze at the first screen, full collections when idle, all undone at stop()."""

    def __init__(self) -> None:
        self._thresholds: tuple[int, int, int] | None = None
        self._last_busy = time.monotonic()
        self._last_full = float("-inf")

    @property
    def kept(self) -> bool:
        return self._thresholds is not None

    def start(self) -> None:
        if self.kept:
            return
        gc.freeze()
        self._thresholds = gc.get_threshold()
        gc.set_threshold(self._thresholds[0], self._thresholds[1], NEVER)

    def busy(self) -> None:
        """Something arrived: the UI is working on it now."""
        self._last_busy = time.monotonic()

    def tick(self) -> bool:
        """Run a full collection if one is due and the UI is idle; whether it ran."""
        now = time.monotonic()
        if not self.kept or now - self._last_busy < IDLE_S or now - self._last_full < EVERY_S:
            return False
        # gc.get_count()[2]: passes of the middle generation since the last full one
        if gc.get_count()[2] < self._thresholds[2]:
            return False
        gc.collect()
        self._last_full = time.monotonic()
        return True

    def stop(self) -> None:
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None
        gc.unfreeze()
