"""docs/cli.md, the README and the manual page say what the parser does."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from netscope.cli.main import build_parser
from netscope.cli.manpage import commands, exit_table, render, table_in

REPO = Path(__file__).resolve().parents[2]


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_json_format_is_documented_where_its_help_says():
    for names, parser in commands(build_parser()):
        info = parser.get_default("cli_command")
        if not info.json_doc:
            continue
        path, _, anchor = info.json_doc.split(" ")[0].partition("#")
        text = (REPO / path).read_text()
        if anchor:
            anchors = {slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}
            assert anchor in anchors, f"{' '.join(names)}: no section #{anchor} in {path}"
        else:
            assert f"netscope {' '.join(names)}" in text, f"{path} does not describe {names}"


@pytest.mark.parametrize("doc", ["docs/cli.md", "README.md"])
def test_exit_status_table_is_the_parsers(doc):
    want = exit_table(build_parser())
    assert table_in((REPO / doc).read_text()) == want, (
        f"{doc}: replace the exit-status table by netscope.cli.manpage.exit_table's output")


def test_manual_page_names_every_command_and_option():
    page = render(build_parser())
    for names, parser in commands(build_parser()):
        assert f'.SS "{" ".join(names)}"' in page
        for action in parser._actions:
            for option in action.option_strings:
                if action.help != "==SUPPRESS==":
                    assert option.replace("-", "\\-") in page, (names, option)
    assert "\\-\\-timeout" in page  # check's and lab check's own option
    assert "DOCKER_HOST" in page


@pytest.mark.skipif(not shutil.which("groff"), reason="groff is not installed")
def test_manual_page_renders_without_warnings(tmp_path):
    page = tmp_path / "netscope.1"
    done = subprocess.run([sys.executable, "-m", "netscope", "manpage"], capture_output=True,
                          text=True, check=True, cwd=REPO, timeout=60)
    page.write_text(done.stdout)
    shown = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-P-cbou", str(page)],
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and shown.stderr == "", shown.stderr
    text = shown.stdout
    assert "NETSCOPE(1)" in text and "lab up" in text and "--snapshot FILE" in text
    assert "exit status:" in text and "130: interrupted" in text and "1 not delivered" in text
