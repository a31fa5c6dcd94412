"""The path MTU the static walk predicts: the largest don't-fragment packet that gets from
SRC to DST and back (an ICMP echo and its reply), and the hop that drops one byte more.

The walk carries the packet's size and stops it at the first device whose MTU it exceeds
(netscope.analysis.path.walk: the sender's own device, a router's way out, a bridge port, a
veth peer). The search walks sizes, cheap pure work, so the prediction is exactly the walk's.
"""

from __future__ import annotations

from dataclasses import dataclass

from netscope.analysis.path import path
from netscope.graph.host import HostGraph
from netscope.model import Snapshot
from netscope.model.journey import Hop, Journey

MIN_SIZE = 68       # the smallest MTU IPv4 allows
MAX_SIZE = 65535


@dataclass(frozen=True)
class PathMtu:
    """`mtu`: the largest size that gets there and back (None: not even MIN_SIZE does, for
    another reason than size); `limit`: the hop that drops a packet one byte larger (None
    when nothing on the path limits it below MAX_SIZE); `too_big`: the walk of that packet."""

    mtu: int | None
    limit: Hop | None
    too_big: Journey | None


def _fits(graph: HostGraph, src: str, dst: str, size: int) -> tuple[bool, Journey]:
    walked = path(graph, src, dst, "icmp", size=size)
    back = walked.reply
    return walked.verdict.fine and (back is None or back.verdict.fine), walked


def path_mtu(snapshot: Snapshot | HostGraph, src: str, dst: str) -> PathMtu:
    """The walk's path MTU from SRC to DST (names as `path` takes them). Raises
    EndpointError like `path`."""
    graph = snapshot if isinstance(snapshot, HostGraph) else HostGraph.of(snapshot)
    ok, _ = _fits(graph, src, dst, MIN_SIZE)
    if not ok:
        return PathMtu(None, None, None)
    good, bad = MIN_SIZE, MAX_SIZE + 1
    while bad - good > 1:
        mid = (good + bad) // 2
        if _fits(graph, src, dst, mid)[0]:
            good = mid
        else:
            bad = mid
    if bad > MAX_SIZE:
        return PathMtu(good, None, None)
    walked = _fits(graph, src, dst, bad)[1]
    dead = walked if not walked.verdict.fine else walked.reply
    return PathMtu(good, dead.hops[-1] if dead is not None and dead.hops else None, walked)
