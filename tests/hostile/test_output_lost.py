"""Output that cannot be written is an error: /dev/full, a disk that fills up halfway, a
reader that goes away. Never exit 0 with a truncated output, never a traceback."""

from __future__ import annotations

import errno
import io
import subprocess
import sys

import pytest

from netscope.cli.main import main
from tests.hostile.hostile_data import FIXTURES

LAB = str(FIXTURES / "docker-like-lab.json")


def netscope_to(stdout, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netscope", *args], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=120)


@pytest.mark.parametrize("command", [
    ["show", "--snapshot", LAB], ["show", "--snapshot", LAB, "--json"],
    ["doctor", "--snapshot", LAB, "--all"], ["export", LAB, "--format", "md"],
    ["dns", "--snapshot", str(FIXTURES / "dns-docker.json")],
])
def test_dev_full_is_one_line_and_exit_2(command):
    with open("/dev/full", "w") as full:
        p = netscope_to(full, *command)
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith("netscope: cannot write to standard output: No space left")
    assert len(p.stderr.splitlines()) == 1 and "Traceback" not in p.stderr


class FillingDisk(io.StringIO):
    """A standard output whose disk fills after `room` characters: the write that crosses
    it is short (part written), every later one fails with ENOSPC."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def write(self, text: str) -> int:
        left = self.room - self.tell()
        if left <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        if len(text) > left:
            super().write(text[:left])
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(text)


@pytest.mark.parametrize("room", [0, 1, 100, 1500])
def test_a_disk_filling_up_mid_output_is_reported(monkeypatch, capsys, room):
    disk = FillingDisk(room)
    monkeypatch.setattr(sys, "stdout", disk)
    assert main(["show", "--snapshot", LAB]) == 2
    assert sys.stdout is disk  # restored
    err = capsys.readouterr().err
    assert err.startswith("netscope: cannot write to standard output") and "ENOSPC" in err


def test_a_closed_pipe_is_quiet():
    p = subprocess.run(f"{sys.executable} -m netscope show --snapshot {LAB} --all-tables | "
                       "head -c 10 >/dev/null; echo ${PIPESTATUS[0]}", shell=True,
                       executable="/bin/bash", capture_output=True, text=True, timeout=60)
    assert p.stdout.strip() == "0" and p.stderr == ""
