"""The read side's one command runner (netscope.host.command), on real processes: what a
user reads when iptables-save or nft is missing, hangs or fails."""

from __future__ import annotations

import time

import pytest

from netscope.host import command
from netscope.host.iptables import SaveFailed


def test_missing_tool_names_the_package_to_install():
    with pytest.raises(SaveFailed, match=r"^no-such-tool-x is not installed: install the "
                                         r"iptables package$"):
        command.run(["no-such-tool-x"], "iptables", error=SaveFailed)


def test_a_hung_tool_is_killed_at_the_timeout():
    started = time.monotonic()
    proc = command.start(["sleep", "30"], "coreutils")
    with pytest.raises(command.CommandFailed, match="sleep did not answer within 0 s"):
        command.finish(proc, timeout=0.3)
    assert time.monotonic() - started < 5
    assert proc.poll() is not None, "the child was left running"


def test_a_failing_tool_says_its_status_and_error():
    with pytest.raises(command.CommandFailed, match=r"sh -c echo oops >&2; exit 3 failed "
                                                    r"\(3\): oops"):
        command.run(["sh", "-c", "echo oops >&2; exit 3"], "dash")


def test_status_is_returned_when_the_caller_judges_it():
    done = command.run_status(["cat"], "coreutils", stdin="table inet t {}\n")
    assert (done.returncode, done.stdout) == (0, "table inet t {}\n")
    assert command.run_status(["false"], "coreutils").returncode == 1
