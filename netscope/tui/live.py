"""Following the live host: collect once, then again each time the kernel reports a change.

UI-free: the TUI runs `LiveFeed.follow` in a thread worker and hands it a `publish` callback
that posts a message. A notification burst is coalesced for COALESCE_S, and collections are
at least MIN_INTERVAL_S apart, so a storm costs a few collections per second at most. While
nothing changes the thread sleeps in poll(): no periodic re-collection.

A change re-reads as little as it can: only what its kind of notification can change in
the namespaces that reported it (a link going down re-reads that namespace's links), else
those whole namespaces, else the whole host. Once the host has been quiet for QUIET_S, the
namespaces partially re-read since are read once more, whole (a whole-host read only when
too many were touched): at 1,000 namespaces a whole-host read is a core for ~0.7 s, and a
burst must not cost one. On a host whose namespaces churn without pause, collections are
spaced by twice their own duration.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from netscope.host.watch import HostChanges, NetworkWatcher
from netscope.model import Snapshot

Refresh = Callable[[Snapshot, set[int]], "Snapshot | None"]
# (previous, inodes, kinds[, links=inode -> ifindexes notified]) -> snapshot or None
RefreshKinds = Callable[..., "Snapshot | None"]
# notifications that arrive this soon after the first are read with it: a link going down
# and its peer's carrier, routes and addresses in the other namespace came within 10 ms
# (measured at 1,000 namespaces: the burst still one re-read at 10 ms, as at 30)
COALESCE_S = 0.01
# at most this many namespaces are re-read on their own; more, and the whole host is
PARTIAL_MAX = 16
# after partial refreshes, one full collection once nothing changed for this long
QUIET_S = 5.0
MIN_INTERVAL_S = 0.25
# kinds of notification whose re-read resolves no pairing (veth peers): no settling read
UNPAIRED = frozenset({"neighbour", "fdb"})
# collections are at least this many times their own duration apart, so that a host whose
# namespaces churn all the time (CI, other tools) costs at most about a third of a core
BUSY_FACTOR = 2.0


@dataclass(frozen=True)
class Update:
    """A fresh snapshot, why it was taken, and how long the collection took.

    `refreshed`: the ids of the namespaces read again (the others are the previous snapshot's
    objects, unchanged), or None after a whole-host read. `rest`: the collectors the first
    screen's snapshot was taken without, read next (the update after it `completes` it:
    nothing on the host changed between them, the snapshot has more in it)."""

    snapshot: Snapshot
    changes: HostChanges | None
    collect_ms: float
    refreshed: frozenset[str] | None = None
    rest: tuple[str, ...] = ()
    completes: bool = False


class LiveFeed:
    """Snapshots of the live host, one per burst of changes."""

    def __init__(self, collect: Callable[[], Snapshot],
                 watcher_factory: Callable[[], NetworkWatcher] = NetworkWatcher,
                 refresh: Refresh | None = None,
                 refresh_neighbours: Refresh | None = None,
                 refresh_kinds: RefreshKinds | None = None,
                 first_screen: Callable[[], Snapshot] | None = None,
                 complete: Callable[[Snapshot], Snapshot | None] | None = None,
                 still_to_read: Callable[[Snapshot], tuple[str, ...]] | None = None) -> None:
        """`refresh` re-reads whole namespaces (netscope.tui.refresh.refresh_namespaces),
        `refresh_neighbours` only their neighbour tables (refresh_neighbours),
        `refresh_kinds` only what the kinds of notification can change (refresh_kinds).
        With `first_screen`, `complete` and `still_to_read` (first_screen_snapshot,
        complete_snapshot, still_to_read), the first snapshot is taken by the collectors
        the first screen needs, published, then completed by the others and published
        again (a whole-host read if completing fails)."""
        self._collect = collect
        self._first_screen, self._complete, self._still_to_read = (first_screen, complete,
                                                                   still_to_read)
        self._refresh = refresh
        self._refresh_neighbours = refresh_neighbours
        self._refresh_kinds = refresh_kinds
        # namespaces read partially since the last whole read of them
        self._touched: set[int] = set()
        self._last: Snapshot | None = None
        # a partial refresh was published: collect fully once the host is quiet
        self._full_due = False
        # when: QUIET_S after the last change that needs it (neighbour and FDB churn, which
        # needs none, does not put it off: on a host of 1,000 busy namespaces it never stops,
        # and the settling read came whenever it paused)
        self._settle_at = 0.0
        self._watcher_factory = watcher_factory
        self._watcher: NetworkWatcher | None = None
        self._stopped = False
        self.paused = False
        self._early: threading.Thread | None = None
        self._first: Update | None = None
        self._first_error: BaseException | None = None
        self._last_collect_s = 0.0
        self._last_full_s = 0.0
        # set by an app in a real terminal: see _settle_heap
        self.settle_heap = False
        # waiting for the host to change: nothing being read or published
        self.waiting = False

    def stop(self) -> None:
        """Make follow() return soon; safe from any thread."""
        self._stopped = True
        if self._watcher is not None:
            self._watcher.wake()

    def refresh_now(self) -> None:
        """Collect the whole host soon (after netscope itself changed it); any thread."""
        self._settle_at = 0.0
        self._full_due = True
        if self._watcher is not None:
            self._watcher.wake()

    def set_paused(self, paused: bool) -> None:
        """While paused, changes are remembered but not collected; resuming collects once."""
        self.paused = paused
        if self._watcher is not None:
            self._watcher.wake()

    def _take(self, changes: HostChanges | None, publish: Callable[[Update], None]) -> None:
        started = time.perf_counter()
        snapshot, refreshed = self._partial(changes)
        partial = snapshot is not None
        if snapshot is None:
            snapshot = self._collect()
        settled = changes is not None and changes.kinds == {"settle"}
        # neighbour and forwarding entries pair nothing: after them alone no settling read
        # is needed (a host with traffic flips them REACHABLE/STALE, learns and ages MACs,
        # all the time)
        if partial and not settled and changes is not None:
            paired = (refreshed if changes.namespaces_changed else
                      {i for i in refreshed if changes.kinds_in(i) - UNPAIRED})
            if paired:
                self._touched |= paired
                self._settle_at = time.monotonic() + QUIET_S
        if not partial:
            self._touched.clear()
        elif settled:
            self._touched -= refreshed
        self._full_due = bool(self._touched)
        self._last = snapshot
        self._last_collect_s = time.perf_counter() - started
        if not partial:
            self._last_full_s = self._last_collect_s
        ids = frozenset(f"ns:{i}" for i in refreshed) if partial else None
        publish(Update(snapshot, changes, self._last_collect_s * 1000, ids))
        # namespaces only a process holds show up in a collection, not in a directory
        if self._watcher is not None and {
                ns.inode for ns in snapshot.namespaces} != self._watcher.watched:
            self._watcher.sync()

    def _partial(self, changes: HostChanges | None) -> tuple[Snapshot | None, set[int]]:
        """(the last snapshot with what `changes` can have changed read again, the inodes
        read), or (None, ...) when only a whole-host read answers."""
        last = self._last
        if last is None or changes is None or changes.overflow:
            return None, set()
        inodes = set(changes.namespaces)
        if changes.kinds == {"settle"}:  # the quiet-time read of what was read partially
            return (self._refresh(last, inodes) if self._refresh is not None else None), inodes
        if not changes.namespaces_changed and changes.kinds == {"neighbour"} and \
                self._refresh_neighbours is not None:
            # neighbour entries age in every namespace with traffic, dozens at a time
            snapshot = self._refresh_neighbours(last, inodes)
            if snapshot is not None:
                return snapshot, inodes
        if not changes.namespaces_changed and self._refresh_neighbours is not None and \
                self._refresh_kinds is not None:
            # a link change among neighbour churn (on a busy host, dozens of namespaces
            # age entries at any moment): neighbour tables there, the rest where it is
            neighbours = {i for i in inodes if changes.kinds_in(i) <= {"neighbour"}}
            rest = inodes - neighbours
            if neighbours and len(rest) <= PARTIAL_MAX:
                snapshot = self._refresh_neighbours(last, neighbours)
                if snapshot is not None and rest:
                    snapshot = self._refresh_kinds(
                        snapshot, rest, set().union(*(changes.kinds_in(i) for i in rest)),
                        **_told_links(changes, rest))
                if snapshot is not None:
                    return snapshot, inodes
        if len(inodes) > PARTIAL_MAX:
            return None, set()
        if not changes.namespaces_changed and self._refresh_kinds is not None:
            snapshot = self._refresh_kinds(last, inodes, set(changes.kinds),
                                           **_told_links(changes, inodes))
            if snapshot is not None:
                return snapshot, inodes
        if self._refresh is not None:
            return self._refresh(last, inodes), inodes
        return None, set()

    def _settling(self) -> HostChanges:
        """What the quiet-time read re-reads: the namespaces read partially since their last
        whole read, whole; the whole host when there are too many of them."""
        touched = set(self._touched)
        if self._refresh is None or not touched or len(touched) > PARTIAL_MAX:
            return HostChanges(overflow=True)  # refresh_now() asks for the whole host
        return HostChanges(namespaces=touched, kinds={"settle"})

    def prefetch(self) -> None:
        """Subscribe and take the first snapshot now, in a thread, while the UI starts."""
        self._early = threading.Thread(target=self._subscribe_and_collect, daemon=True,
                                       name="netscope-first-collection")
        self._early.start()

    def _subscribe_and_collect(self) -> None:
        try:
            watcher = self._watcher_factory()
            self._watcher = watcher
            watcher.sync()  # subscribed before reading: no change falls in between
            if self._first_screen is not None:
                self._take_first_screen()
            else:
                self._take(None, self._keep_first)
        except BaseException as e:  # re-raised in follow(), in the worker
            self._first_error = e

    def _keep_first(self, update: Update) -> None:
        self._first = update

    def _take_first_screen(self) -> None:
        started = time.perf_counter()
        snapshot = self._first_screen()
        self._last = snapshot
        self._last_collect_s = time.perf_counter() - started
        self._first = Update(snapshot, None, self._last_collect_s * 1000,
                             rest=self._still_to_read(snapshot))

    def _take_rest(self, first: Snapshot, publish: Callable[[Update], None]) -> None:
        """Publish `first` completed by the collectors it was taken without."""
        started = time.perf_counter()
        try:
            snapshot = self._complete(first)
        except Exception:  # a bug here must not stop the following: read the whole host
            snapshot = None
        if snapshot is None:
            snapshot = self._collect()
        self._last = snapshot
        self._last_collect_s = self._last_full_s = time.perf_counter() - started
        self._settle_heap()
        publish(Update(snapshot, None, self._last_collect_s * 1000, frozenset(),
                       completes=True))

    def _settle_heap(self) -> None:
        """Once the whole host is read (hundreds of thousands of objects at 1,000
        namespaces, alive until the next whole read): one full cyclic collection, then
        everything alive out of later ones (gc.freeze), so that the full collections the
        app runs when idle (netscope/tui/heap.py) do not walk it again each time. The
        collection first, so that no garbage cycle is frozen (Textual's render strips make
        some every frame)."""
        if self.settle_heap:
            gc.collect()
            gc.freeze()

    def follow(self, publish: Callable[[Update], None]) -> None:
        """Publish a first snapshot, then one per change, until stop()."""
        if self._early is None:
            self._subscribe_and_collect()
        else:
            self._early.join()
        if self._first_error is not None:
            watcher, self._watcher = self._watcher, None  # stop() must not wake a closed one
            if watcher is not None:
                watcher.close()
            raise self._first_error
        watcher = self._watcher
        try:
            publish(self._first)
            if self._first.rest and not self._stopped:
                self._take_rest(self._first.snapshot, publish)
            last = time.monotonic()
            pending = HostChanges()
            while not self._stopped:
                self.waiting = True
                got = watcher.wait(max(0.0, self._settle_at - time.monotonic())
                                   if self._full_due else None)
                self.waiting = False
                _merge(pending, got)
                if self._stopped:
                    break
                if self._full_due and not pending and not self.paused and \
                        time.monotonic() >= self._settle_at:
                    self._take(self._settling(), publish)
                    last = time.monotonic()
                    continue
                if self.paused or not pending:
                    continue
                gap = max(MIN_INTERVAL_S, BUSY_FACTOR * self._last_collect_s)
                if self._refresh is not None and not pending.overflow:
                    gap = MIN_INTERVAL_S  # a partial refresh costs what changed, not the host
                time.sleep(max(COALESCE_S, gap - (time.monotonic() - last)))
                _merge(pending, watcher.wait(0))
                if pending.namespaces_changed or pending.overflow:
                    watcher.sync()
                self._take(pending, publish)
                last = time.monotonic()
                pending = HostChanges()
        finally:
            self._watcher = None
            watcher.close()


def _told_links(changes: HostChanges, inodes: set[int]) -> dict:
    """refresh_kinds' `links` for `inodes`, where the notifications named them (none: not
    passed, and a refresh_kinds without the argument is called as before)."""
    told = {i: changes.links_by_ns[i] for i in inodes if i in changes.links_by_ns}
    return {"links": told} if told else {}


def _merge(into: HostChanges, more: HostChanges) -> None:
    # which links: known for a namespace only if every link notification there said
    links: dict[int, set[int] | None] = {}
    for changes in (into, more):
        for inode in changes.namespaces:
            if "link" not in changes.kinds_in(inode):
                continue
            told = None if inode in changes.lost else changes.links_by_ns.get(inode)
            if told is None or links.get(inode, set()) is None:
                links[inode] = None
            else:
                links.setdefault(inode, set()).update(told)
    by_ns = {inode: set(into.kinds_in(inode)) for inode in into.namespaces}
    for inode in more.namespaces:
        by_ns.setdefault(inode, set()).update(more.kinds_in(inode))
    into.kinds_by_ns = by_ns
    into.links_by_ns = {inode: told for inode, told in links.items() if told is not None}
    into.namespaces |= more.namespaces
    into.kinds |= more.kinds
    into.namespaces_changed |= more.namespaces_changed
    into.overflow |= more.overflow
    into.lost |= more.lost
