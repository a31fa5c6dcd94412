"""Bounded, type-checked inputs: a device, a FIFO, a huge or deeply nested file, bytes that
are not UTF-8 and numbers out of range are one line and exit 2, never a hang, a traceback or
gigabytes of memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.hostile.hostile_data import FIXTURES

LAB = str(FIXTURES / "docker-like-lab.json")


def netscope(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netscope", *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def one_line_error(p: subprocess.CompletedProcess, *words: str) -> None:
    assert p.returncode == 2, (p.returncode, p.stdout[-500:], p.stderr[-2000:])
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    for word in words:
        assert word in p.stderr, p.stderr


@pytest.fixture
def bad_files(tmp_path):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as f:
        f.truncate(300 * 1024 * 1024)  # sparse: costs no disk
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b'{"format": "netscope-snapshot", "x": "\xff\xfe\xc3"}')
    array = tmp_path / "array.json"
    array.write_text("[1, 2, 3]")
    return {"/dev/zero": ("character device",), str(fifo): ("FIFO",),
            str(tmp_path): ("directory",), str(huge): ("300 MiB", "256 MiB"),
            str(deep): ("nested too deeply",), str(binary): ("UTF-8",),
            str(array): ("not a netscope snapshot",)}


@pytest.mark.parametrize("command", [["show"], ["doctor"], ["dns"], ["flows"]])
def test_snapshot_files_that_are_not_snapshots_are_refused(bad_files, command):
    for path, words in bad_files.items():
        one_line_error(netscope(*command, "--snapshot", path, timeout=20), path, *words)


def test_the_tui_diff_and_export_refuse_them_too(bad_files):
    for path, words in bad_files.items():
        one_line_error(netscope("--snapshot", path, timeout=20), *words)
        one_line_error(netscope("diff", LAB, path, timeout=20), *words)
        one_line_error(netscope("export", path, "-f", "md", timeout=20), *words)


def test_a_trace_recording_is_bounded_and_must_be_an_object(bad_files, tmp_path):
    for path, _words in bad_files.items():
        one_line_error(netscope("export", path, "-o", str(tmp_path / "x.pcapng"), timeout=20),
                       "not a trace recording")


@pytest.mark.parametrize(("args", "words"), [
    (["path", "a", "b", "--proto", "tcp", "--port", "70000"], ("--port", "1-65535")),
    (["path", "a", "b", "--proto", "tcp", "--port", "0"], ("--port", "1-65535")),
    (["check", "a", "b", "--proto", "tcp", "--port", "70000"], ("--port", "1-65535")),
    (["trace", "--port", "-1"], ("--port", "1-65535")),
    (["drops", "--duration", "nan"], ("--duration", "above 0")),
    (["drops", "--duration", "inf"], ("--duration", "above 0")),
    (["drops", "--duration", "-3"], ("--duration", "above 0")),
    (["trace", "--timeout", "nan"], ("--timeout", "above 0")),
    (["trace", "--duration", "1e300"], ("--duration", "at most")),
    (["check", "a", "b", "--timeout", "inf"], ("--timeout", "above 0")),
    (["flows", "--wait", "nan"], ("--wait", "above 0")),
    (["lab", "check", "x", "--timeout", "nan"], ("--timeout", "above 0")),
    (["trace", "--count", "0"], ("--count", "at least 1")),
])
def test_numbers_out_of_range_are_refused_before_anything_runs(args, words):
    p = netscope(*args, timeout=20)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith(f"netscope {args[0]}") and all(w in last for w in words), last


def test_lab_files_are_bounded_utf8_and_shallow(tmp_path):
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b'[lab]\nname = "\xff\xfe"\n')
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    huge = tmp_path / "huge.toml"
    with open(huge, "wb") as f:
        f.truncate(20 * 1024 * 1024)
    for path, word in ((fifo, "FIFO"), (binary, "not UTF-8"), (deep, "nested too deeply"),
                       (huge, "larger than")):
        one_line_error(netscope("lab", "up", str(path), "--dry-run", timeout=20), str(path),
                       word)


def test_lab_up_takes_a_users_own_lab_file(tmp_path):
    text = (FIXTURES.parent / "topology" / "docker-bridge.toml").read_text()
    mine = tmp_path / "my-lab.toml"
    mine.write_text(text.replace('name = "docker-bridge"', 'name = "my-lab"', 1))
    p = netscope("lab", "up", str(mine), "--dry-run")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("# my-lab as instance my-lab") and "nsl-my-lab-c1" in p.stdout
    p = netscope("lab", "up", f"{mine}/missing_masquerade", "--dry-run")
    assert p.returncode == 0 and p.stdout.startswith("# my-lab/missing_masquerade"), p.stderr
    one_line_error(netscope("lab", "up", str(tmp_path / "none.toml"), "--dry-run"),
                   "no such lab file")


def test_host_data_files_are_private_unless_redacted(tmp_path):
    os.umask(0o022)
    private, shared, kept = tmp_path / "a.json", tmp_path / "b.md", tmp_path / "c.html"
    kept.write_text("")
    os.chmod(kept, 0o640)
    for out in (private, kept):
        assert netscope("export", LAB, "-o", str(out)).returncode == 0
    assert netscope("export", LAB, "--redact", "-o", str(shared)).returncode == 0
    assert oct(private.stat().st_mode & 0o777) == "0o600"
    assert oct(kept.stat().st_mode & 0o777) == "0o640"  # the owner's choice stays
    assert oct(shared.stat().st_mode & 0o777) == "0o644"
    assert json.loads(private.read_text())["header"]["hostname"] == "vm"
