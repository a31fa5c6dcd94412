"""Make docs/screenshot.svg: the TUI on the recorded docker-bridge lab (forward_policy_drop
variant), a recorded trace stepped to the hop where the packet dies; and docs/lesson.svg:
lesson 3 at step 4 on its recorded snapshot (fixtures/lesson-nat.json), its check's walk
drawn at the published port's DNAT hop. No root needed.

    .venv/bin/python tests/tui/make_screenshot.py
"""

import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from netscope.snapshot import load  # noqa: E402
from netscope.tui.app import NetscopeApp  # noqa: E402
from netscope.tui.backends import Backends  # noqa: E402
from tests.tui.conftest import FROZEN, journey  # noqa: E402
from tests.tui.test_lessons import lessons_only, to_step_4_checked  # noqa: E402


async def main() -> None:
    os.environ["TZ"] = "UTC"
    os.environ["TEXTUAL_ANIMATIONS"] = "none"
    app = NetscopeApp(load(str(ROOT / "fixtures" / "tui-forward-drop.json")),
                      read_only="offline snapshot", backends=Backends.none(),
                      clock=lambda: FROZEN, source_note="fixtures/tui-forward-drop.json")
    async with app.run_test(size=(160, 44)) as pilot:
        await pilot.pause()
        app.show_journey(journey("forward-drop"))
        await pilot.press(*["right_square_bracket"] * 6)
        await pilot.pause()
        app.save_screenshot("screenshot.svg", str(ROOT / "docs"))
    await lesson()


async def lesson() -> None:
    state = tempfile.mkdtemp(prefix="netscope-screenshot-")
    os.environ["XDG_STATE_HOME"] = os.environ["NETSCOPE_STATE_DIR"] = state  # no progress
    app = NetscopeApp(load(str(ROOT / "fixtures" / "lesson-nat.json")),
                      read_only="offline snapshot", backends=lessons_only(),
                      clock=lambda: FROZEN, source_note="fixtures/lesson-nat.json")
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await to_step_4_checked(pilot)
        app.save_screenshot("lesson.svg", str(ROOT / "docs"))


asyncio.run(main())
