"""The app's trace keys: `t` walks a packet from the selected namespace to a target the user
picks or types (the expected path, from the snapshot alone: offline, read-only or without
eBPF that is the answer) and, on a live host with eBPF, then traces a real one and draws it
over the walk, the first hop where they part marked; `[` / `]` step through the hops (each
explained), Escape closes it.

A mixin of NetscopeApp (kept apart so app.py stays small); the walk and the tracer run in a
thread worker and hand their journeys back through call_from_thread.
"""

from __future__ import annotations

from netscope.analysis.hop_explain import hop_title
from netscope.graph.host import HostGraph
from netscope.model.journey import Journey
from netscope.tui.detail_common import selection_of
from netscope.tui.journey import (
    JourneyView,
    branch_note,
    expected_view,
    observed_view,
    parse_target,
    recorded_view,
)
from netscope.tui.screens.trace_target import TraceTargetScreen
from netscope.tui.widgets.event_log import EventLog


class TraceKeys:
    """Needs from the app: notice, _backends, _feed, _read_only and the reactives graph,
    selected, journey, hop; Textual's run_worker, call_from_thread, push_screen, query_one."""

    def show_journey(self, journey: Journey | JourneyView) -> None:
        """Draw a journey (a JourneyView, or a recorded Journey) over the topology, at its
        first hop, and list its hops in the log."""
        view = journey if isinstance(journey, JourneyView) else recorded_view(journey)
        log = self.query_one(EventLog)
        log.add("trace", f"{view.kind}: {view.journey.packet}: {view.journey.verdict.words}"
                         f" ({view.journey.summary})")
        if view.comparison is not None and not view.comparison.agrees:
            log.add("trace", f"expected vs observed: {view.comparison.difference}")
        for i, hop in enumerate(view.journey.hops):
            log.add("drop" if hop.dropped else "trace", f"  {i + 1} {hop_title(hop)}")
        self.journey, self.hop = view, 0
        self._follow_hop()

    def action_step(self, delta: int) -> None:
        if self.journey is None:
            self.notice("no journey to step through: press t to walk or trace one")
            return
        self.hop = max(0, min(len(self.journey.journey.hops) - 1, self.hop + delta))
        self._follow_hop()

    def _follow_hop(self) -> None:
        """The selection follows the current hop (its device, or its namespace)."""
        hops = self.journey.journey.hops if self.journey else ()
        graph = self.graph
        if hops and graph is not None:
            hop = hops[self.hop]
            target = hop.link if hop.link in graph.links else hop.netns
            if target in graph.links or target in graph.namespaces:
                self.selected = target

    def action_close_trace(self) -> None:
        self.journey = None

    def action_trace(self) -> None:
        graph = self.graph
        sel = selection_of(graph, self.selected) if graph else None
        if sel is None or sel.netns is None:
            self.notice("select the namespace or container to trace from first")
            return
        targets = [(ns_id, graph.ns_name(ns_id)) for ns_id in graph.ns_order()
                   if ns_id != sel.netns]

        def chosen(text: str | None) -> None:
            if not text:
                return
            try:
                target, proto, port = parse_target(text)
            except ValueError as e:
                self.notice(str(e))
                return
            self._walk_and_trace(graph, sel.netns, target, proto, port)
        self.push_screen(TraceTargetScreen(graph.ns_name(sel.netns), targets), chosen)

    def _no_trace(self) -> str | None:
        """Why only the expected path is shown (None: a real packet can be traced).
        Called in the worker: asking the kernel what eBPF allows takes a moment."""
        if self._feed is None:
            return "this is a saved snapshot"
        if self._read_only:
            return f"read-only ({self._read_only}): no probe is attached"
        tracer = self._backends.get("trace")
        if tracer is None:
            return self._backends.unavailable("trace")
        return tracer.unavailable()

    def _walk_and_trace(self, graph: HostGraph, source: str, target: str, proto: str,
                        port: int | None) -> None:
        from netscope.analysis.path import EndpointError, path

        if not self.whole_host(lambda: self._walk_and_trace(self.graph, source, target, proto,
                                                            port), "the walk starts"):
            return
        name = graph.ns_name(source)
        what = f"{name} -> {target}" + (f" {proto} {port}" if port else "")

        def work() -> None:
            try:
                walk = path(graph, source, target, proto, port)
            except EndpointError as e:
                self.call_from_thread(self.notice, f"walk {what}: {e}")
                return
            self.call_from_thread(self.show_journey, expected_view(walk))
            note = branch_note(walk)
            why = self._no_trace()
            if why:
                self.call_from_thread(self.notice, f"expected path only: {why}"
                                      + (f"; {note}" if note else ""))
                return
            if note:
                self.call_from_thread(self.notice, note)
            tracer = self._backends.get("trace")
            self.call_from_thread(self.notice, f"tracing {what}: send a packet now (e.g. a "
                                               "ping); waiting up to 15 s")
            try:
                observed = tracer.trace_once(graph.snapshot, walk.flow)
            except (tracer.error, LookupError, OSError) as e:
                self.call_from_thread(self.notice, f"trace {what}: {e}")
                return
            if observed is None:
                self.call_from_thread(self.notice, f"no packet {what} was seen: the "
                                                   "expected path stays on screen")
                return
            self.call_from_thread(self.show_journey, observed_view(observed, walk, graph))

        self.run_worker(work, thread=True, exclusive=True, exit_on_error=False, group="trace",
                        name="trace")
