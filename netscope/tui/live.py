"""Following the live host: collect once, then again each time the kernel reports a change.

UI-free: the TUI runs `LiveFeed.follow` in a thread worker and hands it a `publish` callback
that posts a message. A notification burst is coalesced for COALESCE_S, and collections are
at least MIN_INTERVAL_S apart, so a storm costs a few collections per second at most. While
nothing changes the thread sleeps in poll(): no periodic re-collection.

A whole-host collection is ~120 ms at 200 namespaces (BENCHMARKS.md), fast enough to redo on
each change inside the 500 ms budget, so changes are not merged piecemeal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from netscope.host.watch import HostChanges, NetworkWatcher
from netscope.model import Snapshot

COALESCE_S = 0.03
MIN_INTERVAL_S = 0.25


@dataclass(frozen=True)
class Update:
    """A fresh snapshot, why it was taken, and how long the collection took."""

    snapshot: Snapshot
    changes: HostChanges | None
    collect_ms: float


class LiveFeed:
    """Snapshots of the live host, one per burst of changes."""

    def __init__(self, collect: Callable[[], Snapshot],
                 watcher_factory: Callable[[], NetworkWatcher] = NetworkWatcher) -> None:
        self._collect = collect
        self._watcher_factory = watcher_factory
        self._watcher: NetworkWatcher | None = None
        self._stopped = False
        self.paused = False

    def stop(self) -> None:
        """Make follow() return soon; safe from any thread."""
        self._stopped = True
        if self._watcher is not None:
            self._watcher.wake()

    def set_paused(self, paused: bool) -> None:
        """While paused, changes are remembered but not collected; resuming collects once."""
        self.paused = paused
        if self._watcher is not None:
            self._watcher.wake()

    def _take(self, changes: HostChanges | None, publish: Callable[[Update], None]) -> None:
        started = time.perf_counter()
        snapshot = self._collect()
        publish(Update(snapshot, changes, (time.perf_counter() - started) * 1000))
        # namespaces only a process holds show up in a collection, not in a directory
        if self._watcher is not None and {
                ns.inode for ns in snapshot.namespaces} != self._watcher.watched:
            self._watcher.sync()

    def follow(self, publish: Callable[[Update], None]) -> None:
        """Publish a first snapshot, then one per change, until stop()."""
        with self._watcher_factory() as watcher:
            self._watcher = watcher
            watcher.sync()
            self._take(None, publish)
            last = time.monotonic()
            pending = HostChanges()
            while not self._stopped:
                got = watcher.wait(None)
                _merge(pending, got)
                if self._stopped:
                    break
                if self.paused or not pending:
                    continue
                time.sleep(max(COALESCE_S, MIN_INTERVAL_S - (time.monotonic() - last)))
                _merge(pending, watcher.wait(0))
                if pending.namespaces_changed or pending.overflow:
                    watcher.sync()
                self._take(pending, publish)
                last = time.monotonic()
                pending = HostChanges()
        self._watcher = None


def _merge(into: HostChanges, more: HostChanges) -> None:
    into.namespaces |= more.namespaces
    into.kinds |= more.kinds
    into.namespaces_changed |= more.namespaces_changed
    into.overflow |= more.overflow
