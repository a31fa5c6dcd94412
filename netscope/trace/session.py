"""One trace run: attach the journey probes, group events into journeys as they arrive,
name them, stop after `count` packets or `timeout` seconds (or Ctrl-C/SIGTERM), detach."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from netscope.model.journey import Journey, Verdict
from netscope.trace.events import ProbeEvent
from netscope.trace.hops import HopNamer, journey_of
from netscope.trace.journey import JourneyBuilder
from netscope.trace.kernel_names import KernelSymbols, drop_reason_names
from netscope.trace.loader import detach_on_signals
from netscope.trace.nftrace import NfTraceListener, RuleVerdict, nftables_namespaces
from netscope.trace.places import Places
from netscope.trace.tracer import TraceFilter, Tracer

TERMINAL = (Verdict.DELIVERED, Verdict.DROPPED, Verdict.NO_ROUTE, Verdict.LEFT_HOST)
_QUIET_NS = 300_000_000     # a journey with no event for this long is complete
_REPLY_GRACE_S = 0.5        # after the last counted packet, wait this long for its replies
_FORGET_NS = 5_000_000_000  # shown journeys quiet this long leave the builder (replies are in)


@dataclass(frozen=True)
class TraceResult:
    filter: str
    attach_s: float
    duration_s: float
    events: int
    lost_events: int
    journeys: tuple[Journey, ...]
    rule_tracing: tuple[int, ...] = ()  # netns inodes where nftrace tables were added


@dataclass
class RawCapture:
    """Every probe event and rule verdict of a run, for `--record`."""

    events: list[ProbeEvent] = field(default_factory=list)
    verdicts: list[RuleVerdict] = field(default_factory=list)


def run_trace(flt: TraceFilter, places: Places, count: int | None = None,
              timeout: float | None = None,
              on_journey: Callable[[Journey], None] | None = None,
              on_attached: Callable[[float], None] | None = None,
              rules: bool = False,
              rule_targets: dict[int, str] | None = None,
              capture: RawCapture | None = None, program=None) -> TraceResult:
    """Trace until `count` packets (not counting replies) completed, `timeout` passed, or
    Ctrl-C. `on_journey` gets each journey once it is complete; `on_attached` the attach
    time, once probes are live (callers start their test traffic there). `rules` adds
    nftrace tables (a host change, undone on exit) to name the netfilter rules that judged
    each packet, in every namespace with nf_tables rules or only in `rule_targets`
    (netns inode -> nsfs path). `program`: a journey program compiled ahead
    (tracer.prepare_journey) to attach instead of compiling one."""
    namer = HopNamer(places, drop_reason_names(), KernelSymbols.load())
    builder = JourneyBuilder()
    shown: dict[int, Journey] = {}
    verdicts: list[RuleVerdict] = []
    n_events = 0
    with contextlib.ExitStack() as stack:
        stack.enter_context(detach_on_signals())
        tracer = stack.enter_context(Tracer(flt, program))
        targets = {}
        if rules:
            targets = (rule_targets if rule_targets is not None
                       else nftables_namespaces(places.graph.snapshot))
        listener = stack.enter_context(NfTraceListener(targets, flt))
        started = time.monotonic()
        deadline = started + timeout if timeout else None
        stop_at = None
        try:
            # inside the try: a Ctrl-C or SIGTERM right after the attach message (a person
            # who reads it and stops at once) ends the trace as one during it does
            if on_attached:
                on_attached(tracer.attach_seconds)
            while True:
                events = tracer.poll(100)
                n_events += len(events)
                builder.add(events)
                verdicts += listener.poll(0)
                if capture is not None:
                    capture.events += events
                now = time.monotonic()
                now_ns = time.monotonic_ns()
                _settle(builder, namer, verdicts, shown, on_journey, now_ns, final=False)
                builder.forget({g.id for g in builder.groups()
                                if g.id in shown and now_ns - g.last_ts > _FORGET_NS})
                if len(verdicts) > 10000:
                    verdicts = verdicts[-5000:]
                done = [j for j in shown.values() if not j.is_reply and j.verdict in TERMINAL]
                if count and len(done) >= count and stop_at is None:
                    stop_at = now + _REPLY_GRACE_S
                if (stop_at and now >= stop_at) or (deadline and now >= deadline):
                    break
        except KeyboardInterrupt:
            pass
        n_events += len(extra := tracer.drain())
        builder.add(extra)
        verdicts += listener.poll(0.05 if targets else 0)
        if capture is not None:
            capture.events += extra
            capture.verdicts[:] = verdicts
        lost = tracer.counters()["lost"]
        attach_s = tracer.attach_seconds
    duration = time.monotonic() - started
    _settle(builder, namer, verdicts, shown, on_journey, 0, final=True)
    journeys = sorted(shown.values(), key=lambda j: j.start_ns)
    if count:
        journeys = _first_packets(journeys, count)
    return TraceResult(filter=flt.describe(), attach_s=round(attach_s, 3),
                       duration_s=round(duration, 3), events=n_events, lost_events=lost,
                       journeys=tuple(journeys), rule_tracing=tuple(sorted(targets)))


def _settle(builder: JourneyBuilder, namer: HopNamer, verdicts: list[RuleVerdict],
            shown: dict[int, Journey], on_journey, now_ns: int, final: bool) -> None:
    if not final:
        builder.expire(now_ns)
    groups = builder.finish() if final else builder.groups()
    for g in groups:
        if g.id in shown or not g.events:
            continue
        if not final and now_ns - g.last_ts < _QUIET_NS:
            continue
        fibs = [e for e in g.events if e.hook == "fib"]
        if all(e.hook in ("fib", "connect") for e in g.events) and \
                (not fibs or any(e.result == 0 for e in fibs)):
            continue  # a route found for a packet that was never sent: nothing to show
        journey = journey_of(g, namer, verdicts)
        shown[g.id] = journey
        if on_journey:
            on_journey(journey)


def _first_packets(journeys: list[Journey], count: int) -> list[Journey]:
    """The first `count` packets and the replies linked to them."""
    keep = [j.id for j in journeys if not j.is_reply][:count]
    return [j for j in journeys if j.id in keep or (j.is_reply and j.reply_to in keep)]
