"""`netscope` with no command opens the TUI; what it says when it cannot, and what it keeps
out of the other commands' imports."""

from __future__ import annotations

import subprocess
import sys

from tests.tui.conftest import snapshot_path

PURE_MODULES = ("netscope.tui.changes", "netscope.tui.journey", "netscope.tui.topology_layout",
                "netscope.tui.topology_boxes", "netscope.graph.topology",
                "netscope.tui.detail_tabs", "netscope.tui.live", "netscope.tui.backends",
                "netscope.tui.view_state", "netscope.model.labels", "netscope.host.watch")


def netscope(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netscope", *args], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=60)


def test_without_a_terminal_the_tui_says_so_in_one_line():
    p = netscope("--snapshot", snapshot_path("tui-docker-bridge.json"))
    assert p.returncode == 2
    assert p.stderr == ("netscope: the TUI needs a terminal; for text output use "
                        "`netscope show`\n")


def test_a_bad_snapshot_file_is_one_line_not_a_traceback(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    p = netscope("--snapshot", str(bad))
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr


def test_help_lists_the_tui_options_and_demo():
    out = netscope("--help").stdout
    assert "--read-only" in out and "--snapshot FILE" in out and "demo" in out


def test_the_tui_core_does_not_import_textual():
    code = "import sys\n" + "".join(f"import {m}\n" for m in PURE_MODULES) + \
        "print('textual' in sys.modules)\n"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert p.stdout.strip() == "False"
