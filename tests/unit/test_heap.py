"""The live TUI's keeper of the cyclic collector (netscope/tui/heap.py): full collections
only when the UI is idle and one is due, everything given back at the end. On this process's
real collector (the keeper is stopped in a finally)."""

from __future__ import annotations

import gc

from netscope.tui import heap


def test_full_collections_wait_for_idle_and_everything_is_given_back(monkeypatch):
    before = gc.get_threshold()
    keeper = heap.HeapKeeper()
    ran: list[int] = []
    gc.callbacks.append(cb := lambda phase, info: phase == "start" and ran.append(
        info["generation"]))
    try:
        keeper.start()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (before[0], before[1], heap.NEVER)
        gc.collect(0)  # make the middle generation's pass count what CPython waits for
        for _ in range(before[2]):
            gc.collect(1)
        assert gc.get_count()[2] >= before[2]
        ran.clear()
        keeper.busy()
        assert not keeper.tick(), "an update just arrived: not now"
        assert 2 not in ran
        monkeypatch.setattr(heap.time, "monotonic", lambda: keeper._last_busy + heap.IDLE_S)
        assert keeper.tick(), "idle and due: collect"
        assert 2 in ran
        assert not keeper.tick(), "just collected: not due"
        for _ in range(before[2]):
            gc.collect(1)
        assert not keeper.tick(), "due again, but the last one is not EVERY_S old"
        later = keeper._last_busy + heap.IDLE_S + heap.EVERY_S
        monkeypatch.setattr(heap.time, "monotonic", lambda: later)
        assert keeper.tick()
    finally:
        gc.callbacks.remove(cb)
        keeper.stop()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
