"""The Lessons panel (L) on a recorded lesson: the catalogue, lesson 3's steps, its check
on the snapshot (the published port's DNAT hop highlighted in the walk and on the topology),
read-only refusals, and the drills' puzzle mode with a stand-in backend for the host work.
The live run, with real namespaces and traffic, is tests/kernel/test_tui_lessons.py."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from netscope.actions.drills import Puzzle, Symptom
from netscope.tui.backends import BACKENDS, Backends
from tests.tui.conftest import SIZE, offline_app, sync
from tests.tui.test_app import shown

FIXTURE = "lesson-nat.json"


@pytest.fixture(autouse=True)
def own_state(tmp_path, monkeypatch):
    """Progress and journals of the learner running the tests stay out of it."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("NETSCOPE_STATE_DIR", str(tmp_path / "state"))


def lessons_only() -> Backends:
    return Backends({k: None for k in BACKENDS if k != "lessons"})


def panel_text(app) -> str:
    """The panel as drawn, its lines joined (long ones wrap on screen)."""
    return " ".join(shown(app.query_one("#lesson-body")).split())


async def open_lesson(pilot, number: str) -> None:
    await pilot.press("L")
    await pilot.pause()
    options = pilot.app.screen.query_one("OptionList")
    options.highlighted = next(i for i in range(options.option_count)
                               if options.get_option_at_index(i).id == number)
    await pilot.press("enter")
    await pilot.pause()


async def to_step_4_checked(pilot) -> None:
    await open_lesson(pilot, "3")
    await pilot.press("n", "n", "n", "c")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@sync
async def test_lesson_3_step_4_checked_on_the_snapshot_shows_the_dnat_hop():
    app = offline_app(FIXTURE, backends=lessons_only())
    async with app.run_test(size=SIZE) as pilot:
        await to_step_4_checked(pilot)
        text = panel_text(app)
        assert "lesson 3: NAT, MASQUERADE and a published port" in text
        assert "step 4 of 5" in text and "A published port: DNAT" in text
        assert ("ip netns exec nsl-lesson3-host iptables -w -t nat -A PREROUTING -d "
                "10.150.103.1/32 -p tcp --dport 8080 -j DNAT --to-destination 10.150.3.2:80"
                in text)
        assert "ok path nsl-lesson3-inet -> 10.150.103.1 tcp/8080: delivered" in text
        assert "not sent (real traffic needs the live host)" in text
        # the walk is on screen at its DNAT hop, which the topology lights up
        hop = app.journey.journey.hops[app.hop]
        assert hop.step == "nat" and hop.decision.startswith("DNAT tcp 10.150.103.2")
        assert hop.link in app.marks.current
        assert "hop 6/" in shown(app.query_one("#trace")) and "DNAT" in shown(
            app.query_one("#trace"))
        assert "checked as far as a snapshot shows" in panel_text(app)
        # the details give way to the panel; without the walk drawn, what the step is
        # about is highlighted instead
        assert not app.query_one("#details").display
        await pilot.press("escape")
        await pilot.pause()
        names = {app.graph.link_label(i) for i in app.marks.changed if i.startswith("link:")}
        assert names == {"nsl-lesson3-host:eth0", "nsl-lesson3-host:br0",
                         "nsl-lesson3-c1:eth0"}
        assert app.filter_text == "nsl-lesson3-"


def test_screen_lesson_step_with_its_dnat_hop(snap_compare):
    assert snap_compare(offline_app(FIXTURE, backends=lessons_only()), terminal_size=SIZE,
                        run_before=to_step_4_checked)


@sync
async def test_offline_the_lesson_keys_that_change_the_host_are_refused():
    app = offline_app(FIXTURE, backends=lessons_only())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")  # no lesson open: not a key at all
        assert app.lesson_view is None
        await open_lesson(pilot, "3")
        await pilot.press("x", "E")
        await pilot.pause()
        assert app.lesson_view.busy == "" and app.lesson_view.ran == ()
        assert "read-only" in app.query_one("#log").lines[-1].text
        await pilot.press("L")
        await pilot.pause()
        options = app.screen.query_one("OptionList")
        assert options.get_option_at_index(options.option_count - 1).id == "close"
        options.highlighted = options.option_count - 1
        await pilot.press("enter")
        await pilot.pause()
        assert app.lesson_view is None and app.query_one("#details").display
        assert app.filter_text == ""


class FakeHost:
    """The host side of the drills, standing in for netscope.actions.drills (no root here):
    a puzzle comes up, its symptoms and hints are canned, answers are judged for real."""

    def __init__(self, real) -> None:
        self.real, self.started, self.ended = real, [], []
        self.puzzle = next(p for p in real.puzzles() if p.fault == "missing_masquerade")

    def backend(self):
        real = self.real

        def start(lesson, number):
            self.started.append(number)
            return self.puzzle, []

        def symptoms(lesson, puzzle):
            return [Symptom("nsl-lesson10-c1 -> 198.18.17.1 tcp/80", "timeout", "ok",
                            "timeout", "no answer"),
                    Symptom("nsl-lesson10-c1 -> 10.217.0.3 icmp", "ok", "ok", "ok", "")]

        def take_hint(lesson, puzzle):
            return ("Look at namespace nsl-lesson10-host (the lab's host).",)

        return SimpleNamespace(**{**vars(real), "start_puzzle": start, "symptoms": symptoms,
                                  "take_hint": take_hint,
                                  "end": lambda lesson: self.ended.append(lesson) or [],
                                  "current_puzzle": lambda lesson: None})


@sync
async def test_drills_puzzle_mode_takes_hints_and_judges_the_answer():
    real = Backends().get("lessons")
    host = FakeHost(real)
    app = offline_app(FIXTURE, backends=Backends({**{k: None for k in BACKENDS},
                                                  "lessons": host.backend()}))
    app._feed = SimpleNamespace(refresh_now=lambda: None, stop=lambda: None)  # "live"
    app._read_only = None
    async with app.run_test(size=SIZE) as pilot:
        await open_lesson(pilot, "10")
        for _ in range(host.puzzle.number - 1):
            await pilot.press("n")
        await pilot.press("x")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert host.started == [host.puzzle.number]
        text = panel_text(app)
        assert f"puzzle {host.puzzle.number} of" in text and "Egress from c1 times out." in text
        assert "BROKEN nsl-lesson10-c1 -> 198.18.17.1 tcp/80: timeout (healthy: ok)" in text
        assert "MASQUERADE" not in text, "the puzzle does not give its answer away"
        await pilot.press("h")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "hint 1 (where to look):" in panel_text(app)
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"ip_forward_off", "enter")
        await pilot.pause()
        assert "not that: puzzle" in panel_text(app)
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"missing_masquerade", "enter")
        await pilot.pause()
        assert "right: missing_masquerade" in panel_text(app)
        assert host.puzzle.number in real.done("drills")
    assert [x.number for x in host.ended] == [10], "quitting removes the puzzle it brought up"


def test_the_lesson_view_moves_within_its_steps():
    from netscope.labs.lessons import find
    from netscope.tui.lesson_view import LessonView

    view = LessonView(find("nat"), check=object())
    assert view.moved(-1) is view
    assert view.moved(1).step == 2 and view.moved(1).check is None
    assert view.moved(99).step == 5
    puzzles = tuple(dataclasses.replace(Puzzle(1, "a/b", "a", "f", "", "", "x"), number=n)
                    for n in (1, 2))
    assert LessonView(find("drills"), puzzles=puzzles).moved(5).step == 2
