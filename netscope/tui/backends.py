"""The features other parts of netscope provide to the TUI, behind one small interface each.

UI-free. A backend is imported when its key is first pressed (startup never imports bcc);
when it cannot be imported here (a dependency missing from this installation), `Backends.get`
returns None and the key answers with `Backends.unavailable(feature)`, one line saying why,
instead of a result. What the TUI calls:

- doctor: `run_checks(snapshot) -> list[Finding]` (netscope.analysis.doctor)
- trace: `unavailable() -> reason | None` (bcc, BTF, headers, privileges),
  `trace_once(snapshot, flow) -> Journey | None` (the first packet matching the expected
  path's flow, observed), `error` (netscope.trace.session)
- labs: `list_labs() -> [(name, summary)]`, `lab_status() -> set of names up`,
  `lab_up(name)`, `lab_down(name)` (netscope.actions.labs)
- repair: `plan(finding) -> (shell lines, apply callable)`, `undo_last() -> str`, `error`
  (the exception class they raise) (netscope.actions.repair)
- lessons: `catalogue()`, `done(id)`, `ran(lesson)`, `words(lesson, step) -> (text, shell
  commands, after)` (the lesson's directory filled in), `do_step(lesson, n)`,
  `check(lesson, n, snapshot=None)`,
  `end(lesson)`, `started(lesson)`, `puzzles()`, `current_puzzle(lesson)`,
  `start_puzzle(lesson, n)`, `symptoms(lesson, puzzle)`, `take_hint(lesson, puzzle)`,
  `judge(lesson, puzzle, answer)`, `error` (a tuple of exception classes)
  (netscope.actions.lessons, lesson_check, drills, lesson_progress)
- drops: `unavailable() -> reason | None` (bcc, BTF, headers, privileges), `open() ->` a
  DropCounter attached to skb:kfree_skb, `error` (netscope.trace.drops)

`Backends.warm()` (the app calls it once its first screen is drawn, on a live host it may
change) compiles the drop monitor and the journey tracer in the background
(netscope.trace.warm): D and t then attach them in milliseconds. Closing the Backends
closes them.
"""

from __future__ import annotations

from types import SimpleNamespace

from netscope.model import Snapshot
from netscope.model.journey import Journey, Packet

TRACE_TIMEOUT_S = 15.0


def _doctor(_backends: Backends):
    from netscope.analysis.doctor import run_doctor

    return SimpleNamespace(run_checks=run_doctor)


def _trace_once(backends: Backends, snapshot: Snapshot, flow: Packet) -> Journey | None:
    """Wait (up to TRACE_TIMEOUT_S) for one packet with `flow`'s addresses, protocol and
    port (the expected path's packet, so the two compare) and follow it."""
    from netscope.trace.places import Places
    from netscope.trace.session import run_trace
    from netscope.trace.tracer import TraceFilter

    flt = TraceFilter(src=flow.src, dst=flow.dst, proto=flow.proto,
                      port=flow.dport if flow.proto in ("tcp", "udp") else None)
    result = run_trace(flt, Places(snapshot), count=1, timeout=TRACE_TIMEOUT_S,
                       program=backends.warmed_program("journey"))
    forward = [j for j in result.journeys if not j.is_reply]
    return forward[0] if forward else None


def _ebpf_unavailable() -> str | None:
    """Why eBPF probes cannot be attached here (bcc, BTF, headers, privileges), or None."""
    from netscope.trace.errors import ProbeError
    from netscope.trace.preflight import require_ebpf

    try:
        require_ebpf()
    except ProbeError as e:
        return str(e)
    return None


def _trace(backends: Backends):
    from netscope.trace.errors import ProbeError

    return SimpleNamespace(unavailable=_ebpf_unavailable, error=ProbeError,
                           trace_once=lambda snapshot, flow: _trace_once(backends, snapshot,
                                                                         flow))


def _labs(_backends: Backends):
    from netscope.actions import labs
    from netscope.labs import catalog

    return SimpleNamespace(
        list_labs=lambda: [(f.name, f.base.summary) for f in catalog.load_all()],
        lab_status=lambda: {s.instance for s in labs.status()[0]},
        lab_up=lambda name: labs.up(labs.resolve(name)),
        lab_down=labs.down,
    )


def _repair(_backends: Backends):
    from netscope.actions import repair
    from netscope.actions.plan import preview

    def plan(finding):
        """(shell commands, apply) for a finding; RepairError when it has no repair."""
        ops = repair.plan_of(finding)
        return preview(ops), lambda: repair.apply_repair(finding)

    def undo_last() -> str:
        journal, errors = repair.undo_last()
        if errors:
            raise repair.RepairError(f"undo incomplete: {errors[0]}")
        return str(journal.meta.get("finding", journal.title))

    return SimpleNamespace(plan=plan, undo_last=undo_last, error=repair.RepairError)


def _drops(backends: Backends):
    from netscope.trace import drops
    from netscope.trace.errors import ProbeError
    from netscope.trace.events import COUNTER_SLOTS
    from netscope.trace.kernel_names import KernelSymbols, drop_reason_names, reason_name
    from netscope.trace.loader import Program
    from netscope.tui.drop_feed import DropSample

    class Counter:
        """netscope drops' in-kernel counters, attached on creation, read by the TUI."""

        def __init__(self) -> None:
            warmed = backends.warmed_program("drops")
            self._owned = warmed is None
            if warmed is None:  # not compiled ahead (or it failed): compile it now
                self._program = Program(drops.DROP_FILES, drops.drop_settings())
            else:
                self._program = warmed
                drops.attach_drops(warmed)
            self.attach_s = self._program.attach_seconds
            # the names of drop reasons and kernel functions are read on the first read,
            # not here: the probe counts from now on, and /proc/kallsyms alone takes
            # ~150 ms, which `D` -> "counting drops" waited for
            self._reasons = self._symbols = None
            # read once a second: counters that did not change are not decoded or named
            # again (2,000 of them on a 1,000-namespace host, most of them still)
            self._counts = drops.CountReader(self._program)
            self._samples: dict[tuple, tuple[object, DropSample]] = {}

        def read(self) -> tuple[list[DropSample], int]:
            if self._symbols is None:
                self._reasons, self._symbols = drop_reason_names(), KernelSymbols.load()
            merged: dict[tuple, DropSample] = {}
            samples: dict[tuple, tuple[object, DropSample]] = {}
            for c in self._counts.read():
                at = (c.netns, c.ifindex, c.reason, c.location)
                made = self._samples.get(at)
                if made is None or made[0] is not c:  # new, or counted since
                    made = (c, DropSample(
                        c.netns, c.ifindex, reason_name(self._reasons, c.reason),
                        self._symbols.function(c.location), c.count,
                        c.last.describe() if c.last else None))
                samples[at] = made
                s = made[1]
                if s.key in merged:  # two places in one function: one line
                    s = DropSample(*s.key, merged[s.key].count + s.count, s.last_packet)
                merged[s.key] = s
            self._samples = samples
            counters = dict(zip(COUNTER_SLOTS, self._program.counters(), strict=True))
            return list(merged.values()), counters["drop_keys_full"]

        def close(self) -> None:
            if self._owned:
                self._program.close()
            else:
                self._program.detach()  # kept compiled for the next D

    return SimpleNamespace(unavailable=_ebpf_unavailable, open=Counter, error=ProbeError)


def _lessons(_backends):
    from netscope.actions import drills, labs, lesson_progress, lessons
    from netscope.actions.lesson_check import run_step_check
    from netscope.actions.lesson_plan import fill_state, step_ops
    from netscope.actions.plan import PlanFailed
    from netscope.labs import lessons as catalogue
    from netscope.labs.lessons import LessonError

    def check(lesson, number: int, snapshot=None):
        """Step `number`'s check on the live host (with `snapshot`: on it, no traffic);
        a live pass is kept as progress."""
        result = run_step_check(lesson, lesson.step(number).check, snapshot=snapshot,
                                traffic=snapshot is None)
        if result.passed and snapshot is None:
            lesson_progress.mark_done(lesson.id, number)
        return result

    def take_hint(lesson, puzzle) -> tuple[str, ...]:
        """One more hint of `puzzle` (at most drills.HINTS); every hint shown so far."""
        key = puzzle.key(lesson)
        if lesson_progress.hints_taken(key) < drills.HINTS:
            lesson_progress.take_hint(key)
        taken = lesson_progress.hints_taken(key)
        return tuple(drills.hint(lesson, puzzle, n) for n in range(1, taken + 1))

    def judge(lesson, puzzle, answer: str) -> bool:
        right = drills.judge(puzzle, answer)
        if right:
            lesson_progress.mark_done(lesson.id, puzzle.number)
        return right

    return SimpleNamespace(
        catalogue=catalogue.load_all, done=lesson_progress.done_steps,
        ran=lessons.applied_steps, words=lambda lesson, step: (
            fill_state(step.text, lesson), tuple(op.shell() for op in step_ops(lesson, step)),
            fill_state(step.after, lesson)),
        do_step=lessons.do_step, check=check, end=lessons.end, started=lessons.is_started,
        puzzles=drills.puzzles, current_puzzle=drills.current, start_puzzle=drills.start,
        symptoms=drills.symptoms, take_hint=take_hint, judge=judge,
        error=(lessons.LessonRunError, drills.DrillError, LessonError, labs.LabError,
               PlanFailed, LookupError))


def _warm_programs():
    """The programs D and t attach, to compile ahead (netscope.trace.warm)."""
    from netscope.trace.drops import prepare_drops
    from netscope.trace.tracer import prepare_journey
    from netscope.trace.warm import Warmed

    return Warmed({"drops": prepare_drops, "journey": prepare_journey})


# feature -> the adapter, which imports what it needs
BACKENDS = {"doctor": _doctor, "trace": _trace, "labs": _labs, "repair": _repair,
            "drops": _drops, "lessons": _lessons}
# what a person calls each feature in a notice
FEATURE_WORDS = {"doctor": "the doctor", "trace": "tracing", "labs": "labs",
                 "repair": "repair and undo", "drops": "drop counting", "lessons": "lessons"}


class Backends:
    """Adapters loaded on first use; given ones (tests) win, None there meaning absent."""

    def __init__(self, available: dict[str, object | None] | None = None) -> None:
        self._found: dict[str, object | None] = dict(available or {})
        self._why: dict[str, str] = {}
        self._warmed = None

    def warm(self) -> None:
        """Compile the eBPF programs D and t attach, in the background (once; nothing when
        eBPF cannot be used here, or the trace or drops features are absent)."""
        if self._warmed is not None or self._found.get("drops", 1) is None:
            return
        try:
            if _ebpf_unavailable() is not None:
                return
            self._warmed = _warm_programs()
        except ImportError:
            return
        self._warmed.start()

    def warmed_program(self, name: str):
        """A program warm() compiled ahead ("drops", "journey"), or None."""
        return self._warmed.get(name) if self._warmed is not None else None

    def close(self) -> None:
        """Close what warm() compiled (waits for a compile under way)."""
        if self._warmed is not None:
            self._warmed.close()
            self._warmed = None

    @classmethod
    def none(cls) -> Backends:
        """No backend at all (tests): every feature key shows its notice."""
        return cls(dict.fromkeys(BACKENDS))

    def get(self, feature: str):
        """The feature's adapter, or None when it cannot load here (see `unavailable`)."""
        feature = "repair" if feature == "undo" else feature
        if feature not in self._found:
            try:
                self._found[feature] = BACKENDS[feature](self)
            except ImportError as e:
                self._found[feature] = None
                self._why[feature] = f"cannot import {e.name or e}"
        return self._found[feature]

    def unavailable(self, feature: str) -> str:
        """The one line a key answers with when its feature's backend is absent."""
        feature = "repair" if feature == "undo" else feature
        why = self._why.get(feature, "not loaded in this session")
        return (f"{FEATURE_WORDS[feature]} is not available here ({why}): run "
                "`./setup.sh test` or reinstall netscope to get it back")
