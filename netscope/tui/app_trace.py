"""The app's trace keys: `t` traces a packet from the selected namespace to a target the user
picks or types, `[` / `]` step through its hops (each explained), Escape closes it.

A mixin of NetscopeApp (kept apart so app.py stays small); the tracer runs in a thread worker
and hands its journey back through call_from_thread.
"""

from __future__ import annotations

from netscope.tui.detail_common import selection_of
from netscope.tui.journey import Journey, hop_title
from netscope.tui.screens.trace_target import TraceTargetScreen
from netscope.tui.widgets.event_log import EventLog


class TraceKeys:
    """Needs from the app: notice, _backends, _feed and the reactives graph, selected,
    journey, hop; Textual's run_worker, call_from_thread, push_screen, query_one."""

    def show_journey(self, journey: Journey) -> None:
        """Draw a journey (traced now or recorded) over the topology, at its first hop."""
        log = self.query_one(EventLog)
        log.add("trace", journey.packet)
        for i, hop in enumerate(journey.hops):
            log.add("drop" if hop.dropped else "trace",
                    f"  {i + 1} {hop_title(self.graph, hop)}" if self.graph else hop.hook)
        self.journey, self.hop = journey, 0
        self._follow_hop()

    def action_step(self, delta: int) -> None:
        if self.journey is None:
            self.notice("no trace to step through: press t to trace")
            return
        self.hop = max(0, min(len(self.journey.hops) - 1, self.hop + delta))
        self._follow_hop()

    def _follow_hop(self) -> None:
        """The selection follows the current hop (its device, or its namespace)."""
        hop = self.journey.hops[self.hop] if self.journey else None
        graph = self.graph
        if hop is not None and graph is not None:
            target = hop.link if hop.link in graph.links else hop.netns
            if target in graph.links or target in graph.namespaces:
                self.selected = target

    def action_close_trace(self) -> None:
        self.journey = None

    def action_trace(self) -> None:
        if self._feed is None:
            self.notice("trace needs the live host: this is a saved snapshot")
            return
        tracer = self._backends.get("trace")
        if tracer is None:
            self.notice(self._backends.unavailable("trace"))
            return
        graph = self.graph
        sel = selection_of(graph, self.selected) if graph else None
        if sel is None or sel.netns is None:
            self.notice("select the namespace or container to trace from first")
            return
        targets = [(ns.name, ns.name) for ns in graph.namespaces.values()
                   if ns.id != sel.netns]

        def traced(target: str | None) -> None:
            if target:
                source = graph.ns_name(sel.netns)
                self.notice(f"tracing {source} -> {target}: send a packet now "
                            "(e.g. a ping); waiting up to 15 s")
                self._run_trace(tracer, source, target)
        self.push_screen(TraceTargetScreen(graph.ns_name(sel.netns), targets), traced)

    def _run_trace(self, tracer, source: str, target: str) -> None:
        snapshot = self.graph.snapshot

        def trace() -> None:
            try:
                journey = tracer.trace_once(snapshot, source, target)
            except (LookupError, OSError) as e:
                self.call_from_thread(self.notice, f"trace {source} -> {target}: {e}")
                return
            if journey is None:
                self.call_from_thread(self.notice,
                                      f"no packet from {source} to {target} was seen")
                return
            self.call_from_thread(self.show_journey, journey)

        self.run_worker(trace, thread=True, exclusive=True, exit_on_error=False, group="trace",
                        name="trace")
