"""Wait until freshly created links report carrier (operstate UP) before calling a lab up.

The kernel publishes carrier changes asynchronously (linkwatch, up to about a second late):
right after `ip link set up` a veth can still read NO-CARRIER / operstate DOWN. A snapshot
taken in that window would show a healthy lab as broken, so `lab up` waits for it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from netscope.actions.ops import netns_path
from netscope.host import netns as host_netns
from netscope.host import rtnl
from netscope.host.netlink import RtnlSocket

SETTLED = ("UP", "UNKNOWN")


def unsettled(expected: dict[str, set[str]]) -> dict[str, set[str]]:
    """Of `expected` (namespace -> device names that should have carrier), those that don't."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    out: dict[str, set[str]] = {}
    try:
        for netns, names in expected.items():
            try:
                fd = os.open(netns_path(netns), os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                out[netns] = set(names)
                continue
            try:
                with host_netns.entered(fd, home), RtnlSocket() as sock:
                    state = {link.name: link.operstate for link in rtnl.dump_links(sock, 0)}
            finally:
                os.close(fd)
            late = {n for n in names if state.get(n) not in SETTLED}
            if late:
                out[netns] = late
    finally:
        os.close(home)
    return out


def wait_settled(expected: dict[str, set[str]], timeout: float = 3.0) -> dict[str, set[str]]:
    """Poll until every expected link has carrier; returns the ones still without it."""
    deadline = time.monotonic() + timeout
    pending = {ns: set(names) for ns, names in expected.items() if names}
    while pending:
        pending = unsettled(pending)
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    return pending


def expected_carrier(pairs: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """Group (namespace, device) pairs by namespace."""
    out: dict[str, set[str]] = {}
    for netns, name in pairs:
        out.setdefault(netns, set()).add(name)
    return out
