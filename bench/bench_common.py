"""What several benches share: entering a named namespace, alternating contenders, and
netscope processes started as an installed package's are."""

from __future__ import annotations

import compileall
import os
import statistics
import time
from collections.abc import Callable

from netscope.collect.base import NsContext
from netscope.host import netns
from netscope.host.netlink import RtnlSocket


class Entered:
    """The calling thread inside a named namespace; context() gives collectors theirs (with
    a rtnetlink socket opened inside, closed on exit)."""

    def __init__(self, name: str) -> None:
        self.fd = os.open(f"{netns.NAMED_DIR}/{name}", os.O_RDONLY)
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY)
        self.inode = os.fstat(self.fd).st_ino
        self._socks: list[RtnlSocket] = []

    def __enter__(self) -> Entered:
        netns.setns(self.fd)
        return self

    def context(self) -> NsContext:
        sock = RtnlSocket()
        self._socks.append(sock)
        return NsContext(self.inode, self.fd, sock)

    def __exit__(self, *exc) -> None:
        for sock in self._socks:
            sock.close()
        netns.setns(self.home)
        os.close(self.fd)
        os.close(self.home)


def alternate(runs: int, contenders: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Median milliseconds of each contender, run in turn `runs` times (so a machine that
    slows down or speeds up weighs on all of them alike)."""
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(runs):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1000)
    return {k: statistics.median(v) for k, v in times.items()}


def as_installed() -> None:
    """netscope processes a bench starts (and this one's imports) run from bytecode, as an
    installed package's do (pip compiles it): a shell with PYTHONDONTWRITEBYTECODE=1, this
    machine's, made each process compile its ~100 modules from source, ~80 ms of every
    process figure."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    package = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "netscope")
    compileall.compile_dir(package, quiet=1)
