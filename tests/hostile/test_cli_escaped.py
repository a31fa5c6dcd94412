"""A hostile snapshot (escape sequences in every name, hostname, comment and DNS file) is
shown escaped by every text command and export, and exactly by every JSON one."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from netscope.snapshot import loads
from tests.hostile.hostile_data import (
    ESCAPED,
    hostile_snapshot_doc,
    raw_controls,
    write_hostile_snapshot,
)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    return write_hostile_snapshot(tmp_path_factory.mktemp("hostile") / "hostile.json")


def netscope(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netscope", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("command", [
    ["show"], ["show", "--netfilter"], ["show", "--all-tables"], ["doctor", "--all", "--explain"],
    ["dns", "--all"], ["conntrack"], ["flows"],
])
def test_text_commands_show_names_escaped(hostile, command):
    p = netscope(*command, "--snapshot", str(hostile))
    assert p.returncode in (0, 1), p.stderr
    assert not raw_controls(p.stdout + p.stderr), (p.stdout + p.stderr)[:2000]
    assert ESCAPED in p.stdout  # the name is shown, escaped, not dropped


def test_show_json_is_the_exact_document(hostile):
    p = netscope("show", "--snapshot", str(hostile), "--json")
    assert p.returncode == 0, p.stderr
    assert not raw_controls(p.stdout)
    assert loads(p.stdout) == loads(json.dumps(hostile_snapshot_doc()))


@pytest.mark.parametrize("command", [["doctor", "--json"], ["dns", "--json"],
                                     ["conntrack", "--json"], ["flows", "--json"]])
def test_json_commands_parse_and_carry_the_raw_values(hostile, command):
    p = netscope(*command, "--snapshot", str(hostile))
    assert p.returncode in (0, 1), p.stderr
    assert not raw_controls(p.stdout)
    json.loads(p.stdout)


def test_dns_json_keeps_the_hostile_names_exactly(hostile):
    doc = json.loads(netscope("dns", "--all", "--json", "--snapshot", str(hostile)).stdout)
    names = [n for ns in doc["namespaces"] for h in ns["resolver"]["hosts"] for n in h["names"]]
    assert names and all(n.endswith("\x1b]0;pwned\x07\x1b[2J\u202eevil\x9b31m") for n in names)


def test_diff_shows_changed_names_escaped(hostile):
    from tests.hostile.hostile_data import FIXTURES

    p = netscope("diff", str(FIXTURES / "dns-docker.json"), str(hostile))
    assert p.returncode == 1, p.stderr
    assert not raw_controls(p.stdout + p.stderr) and ESCAPED in p.stdout


@pytest.mark.parametrize("fmt", ["md", "dot", "mermaid", "html"])
def test_exports_escape_names(hostile, tmp_path, fmt):
    out = tmp_path / f"report.{fmt}"
    p = netscope("export", str(hostile), "--format", fmt, "-o", str(out))
    assert p.returncode == 0, p.stderr
    text = out.read_text()
    assert not raw_controls(text) and "\\x1b]0;pwned" in text
    on_stdout = netscope("export", str(hostile), "--format", fmt)
    assert not raw_controls(on_stdout.stdout) and "\\x1b]0;pwned" in on_stdout.stdout


def test_errors_naming_hostile_input_are_escaped(hostile):
    p = netscope("path", "\x1b]0;pwned\x07", "10.0.0.1", "--snapshot", str(hostile))
    assert p.returncode == 2 and "\x1b" not in p.stderr and len(p.stderr.splitlines()) == 1
