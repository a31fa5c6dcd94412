"""The TUI on a hostile snapshot: the tree, the topology, every detail tab, the doctor and
the log show names escaped; nothing from the data reaches the terminal as a control."""

from __future__ import annotations

import asyncio
import json
import tempfile

from textual.widgets import TabbedContent

from netscope.snapshot import load, loads
from netscope.tui.app import NetscopeApp
from netscope.tui.backends import Backends
from netscope.tui.detail_tabs import DETAIL_TABS
from netscope.tui.screens.doctor import DoctorScreen
from netscope.tui.widgets.ns_tree import NamespaceTree
from tests.hostile.hostile_data import FIXTURES, raw_controls, write_hostile_snapshot

SIZE = (160, 48)


def _screen(app) -> str:
    """What the terminal would be sent for the whole screen (text, as an SVG records it)."""
    return app.export_screenshot()


def test_every_view_escapes_hostile_names(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    path = write_hostile_snapshot(tmp_path / "hostile.json")
    app = NetscopeApp(load(str(path)), read_only="offline snapshot", backends=Backends(),
                      clock=lambda: 0.0, source_note=str(path),
                      save_dir=tempfile.mkdtemp(prefix="netscope-hostile-"))
    seen: list[str] = []

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            tree = app.query_one(NamespaceTree)
            for node in list(tree.root.children):
                tree.select_node(node)
                await pilot.pause()
                for tab in DETAIL_TABS:
                    app.query_one(TabbedContent).active = f"tab-{tab.id}"
                    await pilot.pause(0.05)
                    seen.append(_screen(app))
            await pilot.press("d")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert isinstance(app.screen, DoctorScreen)
            seen.append(_screen(app))

    asyncio.run(drive())
    everything = "\n".join(seen)
    assert not raw_controls(everything)
    assert "\\x1b]0;pwned" in everything  # shown, escaped: not hidden


def test_save_never_writes_outside_its_directory(tmp_path, monkeypatch):
    """`s` names the file after the snapshot's hostname: a hostname is data, not a path."""
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    doc = json.loads((FIXTURES / "docker-like-lab.json").read_text())
    doc["header"]["hostname"] = "../../../../tmp/evil\x1b[2J"
    save_dir = tmp_path / "saves"
    save_dir.mkdir()
    app = NetscopeApp(loads(json.dumps(doc)), read_only="offline snapshot",
                      backends=Backends(), clock=lambda: 0.0, save_dir=str(save_dir))

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("s")
            await pilot.pause()

    asyncio.run(drive())
    saved = list(save_dir.iterdir())
    assert len(saved) == 1 and saved[0].name.startswith("netscope-_.._.._.._tmp_evil_")
    assert oct(saved[0].stat().st_mode & 0o777) == "0o600"  # host data
