"""TUI tier: the Textual app from recorded snapshots, no root. Clocks and time zone are
frozen so SVG screenshots are the same on every run."""

import asyncio
import functools
import os
import tempfile
import time
from pathlib import Path

import pytest

from netscope.model.journey import Journey
from netscope.snapshot import load
from netscope.tui.app import NetscopeApp
from netscope.tui.backends import Backends
from netscope.tui.journey import load_journey

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
FROZEN = 1795440000.0  # the log's clock in every test
SIZE = (160, 48)


# The dependency-bounds run (.ci/bounds) sets NETSCOPE_SNAPSHOTS=render: SVG screenshots are
# specific to one Textual version, so there every screen is still driven and rendered to SVG
# exactly as the real fixture does, but not compared with the stored picture.
if os.environ.get("NETSCOPE_SNAPSHOTS") == "render":
    @pytest.fixture
    def snap_compare():
        from textual._doc import take_svg_screenshot

        def render(app, press=(), terminal_size=(80, 24), run_before=None) -> bool:
            svg = take_svg_screenshot(app=app, press=press, terminal_size=terminal_size,
                                      run_before=run_before)
            assert svg.lstrip().startswith("<svg") and svg.rstrip().endswith("</svg>")
            return True

        return render


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/tui/" in str(item.fspath):
            item.add_marker(pytest.mark.tui)


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    time.tzset()


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch):
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


def snapshot_path(name: str) -> str:
    return str(FIXTURES / name)


def journey(name: str) -> Journey:
    return load_journey((FIXTURES / f"tui-{name}.journey.json").read_text())


def offline_app(name: str, backends: Backends | None = None, **kwargs) -> NetscopeApp:
    """The app on a fixture, as `netscope --snapshot fixtures/<name>` opens it; `s` saves
    into a temporary directory, never into the working tree."""
    kwargs.setdefault("save_dir", tempfile.mkdtemp(prefix="netscope-tui-test-"))
    return NetscopeApp(load(snapshot_path(name)), read_only=f"offline snapshot {name}",
                       backends=backends or Backends.none(), clock=lambda: FROZEN,
                       source_note=os.path.join("fixtures", name), **kwargs)


def sync(test):
    """Run an async test body with asyncio (no pytest plugin needed)."""
    @functools.wraps(test)
    def run(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))
    return run
