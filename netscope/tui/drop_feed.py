"""Counting drops for the TUI: the in-kernel drop counters (netscope drops' eBPF monitor on
skb:kfree_skb, aggregated per namespace, device, reason and kernel location) read once a
second while the user wants them, turned into counts per device and lines for the event log.

UI-free. `DropFeed.follow` runs in a thread worker: it attaches (the backend's `open()`, which
compiles and loads the probe: ~1 s), publishes a first update, then one update per second in
which something new was dropped, and detaches when stopped, whatever ends it. Nothing is
attached unless the user pressed the key; nothing stays attached after `stop()`.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from netscope.graph.host import HostGraph
from netscope.model import link_id, ns_id

POLL_S = 1.0
# the kernel's "no reason given": mostly benign frees (multicast nobody joined, ...); counted
# and listed, but they do not pull a namespace out of its group nor fill the log line by line
UNSPECIFIED = "NOT_SPECIFIED"
LOG_LINES_PER_POLL = 5


@dataclass(frozen=True)
class DropSample:
    """Packets dropped so far at one (namespace inode, ifindex, reason, kernel function)."""

    netns: int
    ifindex: int
    reason: str
    function: str
    count: int
    last_packet: str | None = None

    @property
    def key(self) -> tuple[int, int, str, str]:
        return (self.netns, self.ifindex, self.reason, self.function)


@dataclass(frozen=True)
class DropUpdate:
    """Every counter so far, and what each grew by since the last update."""

    samples: tuple[DropSample, ...]
    new: tuple[tuple[DropSample, int], ...] = ()
    attach_s: float = 0.0
    not_counted: int = 0     # drops the kernel could not count: its aggregation map was full


class DropCounter(Protocol):
    attach_s: float

    def read(self) -> tuple[list[DropSample], int]: ...

    def close(self) -> None: ...


class DropFeed:
    """The drop counters, attached on follow() and detached when it returns."""

    def __init__(self, open_counter: Callable[[], DropCounter], poll_s: float = POLL_S) -> None:
        self._open = open_counter
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._done = threading.Event()
        self._done.set()

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    def stop(self, wait_s: float = 5.0) -> bool:
        """Detach soon (any thread); wait up to wait_s for it. True when detached."""
        self._stop.set()
        return self._done.wait(wait_s)

    def follow(self, publish: Callable[[DropUpdate], None]) -> None:
        """Attach, publish the counters when they grow, until stop(); always detaches."""
        self._stop.clear()
        self._done.clear()
        try:
            counter = self._open()
            try:
                publish(DropUpdate((), attach_s=counter.attach_s))
                before: dict[tuple, int] = {}
                lost = 0
                while not self._stop.wait(self._poll_s):
                    samples, not_counted = counter.read()
                    new = tuple((s, s.count - before.get(s.key, 0)) for s in samples
                                if s.count > before.get(s.key, 0))
                    before = {s.key: s.count for s in samples}
                    if new or not_counted != lost:
                        lost = not_counted
                        publish(DropUpdate(tuple(samples), new, counter.attach_s, not_counted))
            finally:
                counter.close()
        finally:
            self._done.set()


@dataclass
class DropState:
    """What the app knows of drops: whether it counts, and the counters (for the views)."""

    counting: bool = False
    started_at: float | None = None
    attach_s: float = 0.0
    samples: tuple[DropSample, ...] = ()
    not_counted: int = 0
    # why counting cannot start here (offline snapshot, --read-only), said in the Drops tab
    refused: str | None = None
    _per_id: dict[str, int] = field(default_factory=dict)
    _alerts: frozenset[str] = frozenset()

    def take(self, update: DropUpdate) -> None:
        self.samples, self.not_counted = update.samples, update.not_counted
        self.attach_s = update.attach_s
        per_id: dict[str, int] = defaultdict(int)
        alerts = set()
        for s in self.samples:
            ids = [ns_id(s.netns)] + ([link_id(s.netns, s.ifindex)] if s.ifindex else [])
            for i in ids:
                per_id[i] += s.count
            if s.reason != UNSPECIFIED:
                alerts.update(ids)
        self._per_id, self._alerts = dict(per_id), frozenset(alerts)

    def per_id(self) -> dict[str, int] | None:
        """Drops per link id and per namespace id; None while not counting."""
        return self._per_id if self.counting else None

    def alerts(self) -> frozenset[str]:
        """Links and namespaces with drops the kernel gave a reason for."""
        return self._alerts if self.counting else frozenset()


def place(graph: HostGraph, sample: DropSample) -> tuple[str, str]:
    """(namespace name, device name) of a sample, "netns <inode>"/"if<n>" when unknown."""
    nid = ns_id(sample.netns)
    name = graph.ns_name(nid) if nid in graph.namespaces else f"netns {sample.netns}"
    if not sample.ifindex:
        return name, "-"
    link = graph.links.get(link_id(sample.netns, sample.ifindex))
    return name, link.name if link else f"if{sample.ifindex}"


def log_lines(graph: HostGraph, new: tuple[tuple[DropSample, int], ...],
              visible: frozenset[str] | None) -> tuple[list[str], int]:
    """(event log lines for drops with a reason: one per reason and kernel function, most
    first, naming the place when there is one and the place that dropped most when there are
    several, at most LOG_LINES_PER_POLL with a "+N more" line; the number of unspecified
    drops, which the app says in one line now and then). Drops in namespaces the filter
    hides are left out."""
    by_cause: dict[tuple[str, str], list[tuple[DropSample, int]]] = defaultdict(list)
    unspecified = 0
    for sample, delta in new:
        if visible is not None and ns_id(sample.netns) not in visible:
            continue
        if sample.reason == UNSPECIFIED:
            unspecified += delta
        else:
            by_cause[(sample.reason, sample.function)].append((sample, delta))
    causes = sorted(by_cause.items(), key=lambda kv: -sum(d for _, d in kv[1]))
    lines = []
    for (reason, function), hits in causes:
        worst, most = max(hits, key=lambda h: h[1])
        name, dev = place(graph, worst)
        where = f"{name}:{dev}" if dev != "-" else name
        last = f" (last: {worst.last_packet})" if worst.last_packet else ""
        if len(hits) == 1:
            lines.append(f"{where}: {most} dropped, {reason} in {function}{last}")
        else:
            total = sum(d for _, d in hits)
            lines.append(f"{total} dropped in {len(hits)} places, {reason} in {function}; "
                         f"most at {where} ({most}){last}")
    if len(lines) > LOG_LINES_PER_POLL:
        more = len(lines) - LOG_LINES_PER_POLL + 1
        lines = [*lines[:LOG_LINES_PER_POLL - 1],
                 f"+{more} more kinds of drops: the Drops tab lists them"]
    return lines, unspecified
