"""Starting a lab server from a process that holds more than 1024 descriptors (the TUI keeps
a netlink socket per namespace: 1,000 namespaces) works: the wait for its "ready" line polls
instead of select(), which fails on descriptors above 1024 ("filedescriptor out of range")."""

from __future__ import annotations

import os
import resource
import sys

import pytest

from netscope.actions import procs


def test_spawn_ready_with_descriptors_above_1024():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"this process may open {hard} files at most")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = []
    try:
        while not held or held[-1] < 1100:
            held.append(os.open(os.devnull, os.O_RDONLY))
        pid, started = procs.spawn_ready(
            [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(30)"],
            None)
        assert started == procs.start_time(pid)
        procs.stop(pid, started)
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
