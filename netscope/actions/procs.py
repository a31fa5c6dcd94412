"""Processes of labs: start one inside a namespace, stop it safely, find who lives in a namespace.

A process is identified by (pid, start time in clock ticks since boot), so a recycled pid is
never killed by mistake.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time

from netscope.host.owner import start_time

READY_TIMEOUT_S = 5.0
STOP_GRACE_S = 1.0


class SpawnFailed(OSError):
    """The process did not start or did not say it was ready."""


def spawn_ready(argv: list[str], log_path: str | None) -> tuple[int, int]:
    """Start `argv` in its own session and wait for it to print "ready" on stdout.

    Returns (pid, start time). The process outlives the caller; its stderr goes to `log_path`.
    """
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=log, start_new_session=True, close_fds=True)
    finally:
        if log_path:
            log.close()
    assert proc.stdout is not None
    line = b""
    deadline = time.monotonic() + READY_TIMEOUT_S
    # poll, not select: a process that holds a socket per namespace (the TUI at 1,000
    # namespaces) has descriptors above 1024, which select() cannot watch
    with selectors.DefaultSelector() as waiting:
        waiting.register(proc.stdout, selectors.EVENT_READ)
        while not line.endswith(b"\n") and time.monotonic() < deadline:
            if not waiting.select(max(0.0, deadline - time.monotonic())):
                break
            chunk = os.read(proc.stdout.fileno(), 256)
            if not chunk:
                break
            line += chunk
    proc.stdout.close()
    if line.strip() != b"ready":
        _kill_child(proc)
        tail = _tail(log_path)
        raise SpawnFailed(f"{argv[-1] if argv else '?'} did not start"
                          f"{': ' + tail if tail else ''}")
    started = start_time(proc.pid)
    if started is None:
        raise SpawnFailed("the process exited right after starting")
    # Dropping `proc` is fine: Popen.__del__ keeps a running child for later reaping.
    return proc.pid, started


def _kill_child(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=2)


def _tail(path: str | None) -> str:
    if not path:
        return ""
    try:
        with open(path, "rb") as f:
            lines = f.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


def stop(pid: int, started: int) -> bool:
    """SIGTERM (then SIGKILL after a grace period) the process if it is still the same one.

    Returns False when there was nothing to stop (gone, or the pid now belongs to another).
    """
    if start_time(pid) != started:
        _reap(pid)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not _wait_gone(pid, started, STOP_GRACE_S):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, started, STOP_GRACE_S)
    return True


def _wait_gone(pid: int, started: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if start_time(pid) != started:
            return True
        time.sleep(0.01)
    return False


def _reap(pid: int) -> None:
    """Collect the exit status if `pid` is our own child (else it is not ours to wait for)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def pids_in_netns(inode: int) -> list[int]:
    """Every process whose network namespace has this nsfs inode."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            target = os.readlink(f"/proc/{entry}/ns/net")
        except OSError:
            continue
        if target == f"net:[{inode}]":
            out.append(int(entry))
    return out


def stop_all_in_netns(inode: int) -> list[int]:
    """Stop every process living in the namespace; returns the pids that were stopped."""
    stopped = []
    for pid in pids_in_netns(inode):
        started = start_time(pid)
        if started is not None and pid != os.getpid() and stop(pid, started):
            stopped.append(pid)
    return stopped
