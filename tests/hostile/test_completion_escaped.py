"""Shell completion offers no name that carries control characters: such a name cannot be
typed, and printed into the shell's completion list it would reach the terminal raw."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.hostile.hostile_data import FIXTURES, PAYLOAD, raw_controls


def complete(snapshot, word: str = "") -> list[str]:
    done = subprocess.run([sys.executable, "-m", "netscope", "__complete", "4", "netscope",
                           "--snapshot", str(snapshot), "path", word], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not raw_controls(done.stdout)
    return done.stdout.split("\n")[:-1]


def test_completion_drops_a_hostile_name_and_keeps_the_others(tmp_path):
    doc = json.loads((FIXTURES / "flows-dns-lab.json").read_text())
    clean = complete(FIXTURES / "flows-dns-lab.json", "nsl-")
    assert "nsl-nsdxcap-c1" in clean
    named = next(n for n in doc["namespaces"] if n["name"] == "nsl-nsdxcap-c1")
    named["name"] += PAYLOAD
    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps(doc))
    assert complete(hostile, "nsl-") == [n for n in clean if n != "nsl-nsdxcap-c1"]
