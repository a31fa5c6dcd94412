"""Journals and locks as a crash or a hostile user leaves them: every journal is validated on
read (one line naming the file), temporary files of killed saves are swept, and lock files
say who holds them and disappear on release."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from netscope.actions import journal as jr
from netscope.actions import locks
from netscope.actions.ops import Iptables, Sysctl

GOOD = {"format": jr.FORMAT_NAME, "version": jr.FORMAT_VERSION, "kind": "repair",
        "title": "t", "state": "applied", "created": "", "message": "", "meta": {},
        "plan": [Sysctl(None, "net.ipv4.ip_forward", "1").to_dict()], "done": []}


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv(jr.ENV_STATE_DIR, str(tmp_path))
    (tmp_path / "repairs").mkdir()
    (tmp_path / "labs").mkdir()
    return tmp_path


def netscope(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netscope", *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **env})


BAD = {
    "array": "[]", "string": '"journal"', "number": "42", "truncated": '{"format": ',
    "plan not a list": json.dumps({**GOOD, "plan": "ip link del eth0"}),
    "unknown op": json.dumps({**GOOD, "plan": [{"op": "rm", "path": "/"}]}),
    "done entry": json.dumps({**GOOD, "done": ["x"]}),
    "bad state": json.dumps({**GOOD, "state": "whatever"}),
    "title not text": json.dumps({**GOOD, "title": ["x"]}),
    "deep": "[" * 100_000 + "]" * 100_000,
    "not utf-8": b"\xff\xfe\x00{",
}


@pytest.mark.parametrize("what", sorted(BAD))
def test_a_bad_journal_is_one_line(state, what):
    path = state / "repairs" / "20260101T000000000000-x.json"
    data = BAD[what]
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    with pytest.raises(jr.JournalError) as caught:
        jr.load(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    p = netscope("undo", "--list", env={jr.ENV_STATE_DIR: str(state)})
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and str(path) in p.stderr


def test_lab_journal_that_is_not_an_object(state):
    (state / "labs" / "x.json").write_text("[1, 2]")
    p = netscope("lab", "status", env={jr.ENV_STATE_DIR: str(state)})
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "not a netscope journal" in p.stderr


def test_a_fifo_journal_does_not_block(state):
    os.mkfifo(state / "repairs" / "20260101T000000000000-x.json")
    p = netscope("undo", "--list", env={jr.ENV_STATE_DIR: str(state)})
    assert p.returncode == 2 and "FIFO" in p.stderr, p.stderr


def test_a_good_journal_round_trips_with_pending(state):
    journal = jr.Journal(state / "repairs" / "a.json", kind="repair", title="t",
                         plan=[Iptables(None, "nat", ("-A", "POSTROUTING", "-j", "MASQUERADE"),
                                        ("-D", "POSTROUTING", "-j", "MASQUERADE"))])
    journal.pending = [jr.Done(journal.plan[0], None)]
    journal.save()
    loaded = jr.load(journal.path)
    assert loaded.pending == journal.pending and loaded.plan == journal.plan


def test_temporary_files_of_dead_savers_are_swept(state):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    left = state / "labs" / f".x.json.{dead}.tmp"
    mine = state / "labs" / f".y.json.{os.getpid()}.tmp"
    old_lock = state / "labs" / "gone.json.lock"
    for f in (left, mine, old_lock):
        f.write_text("{")
    assert jr.sweep_temporary(state / "labs") == [left]
    assert mine.exists() and not left.exists() and not old_lock.exists()


def test_a_held_lock_names_its_holder_and_is_removed_after(state):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, time
        from netscope.actions import locks
        with locks.held(locks.namespace_locks(["nsl-demo-host"]), "repair x@nsl-demo-host"):
            print("held", flush=True)
            time.sleep(30)
        """)], stdout=subprocess.PIPE, text=True, env={**os.environ,
                                                        jr.ENV_STATE_DIR: str(state)})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(locks.LockBusy) as busy, \
                locks.held(locks.namespace_locks(["nsl-demo-host"]), "lab down demo"):
            pass
        assert f"pid {holder.pid} (repair x@nsl-demo-host)" in str(busy.value)
    finally:
        holder.kill()
        holder.wait()
    # the holder was killed: its lock is free again (a lock dies with its process)
    with locks.held(locks.namespace_locks(["nsl-demo-host"]), "lab down demo"):
        pass
    assert list(locks.lock_dir().iterdir()) == []  # the killed holder's file is gone too


def test_released_locks_leave_no_files(state):
    for i in range(20):
        with locks.held(locks.namespace_locks([f"ns{i}", None]), "test"):
            pass
    assert list(locks.lock_dir().iterdir()) == []
