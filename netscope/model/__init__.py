"""Frozen dataclasses for everything netscope knows about a host's network.

No I/O here: the model is what `host`/`collect` produce, what snapshots store, and what
`graph` and `analysis` read. Every object has a stable string `id`.
"""

from netscope.model.cni import CniAllocation, CniNetwork, CniPlugin, CniRange
from netscope.model.l2 import BridgePort, FdbEntry, Link, VethPeer
from netscope.model.l3 import Address, Neighbour, Nexthop, Route, Rule
from netscope.model.netns import RUNTIMES, Container, Namespace, NsOrigin, Pod
from netscope.model.snapshot import CollectorError, Header, Snapshot

__all__ = [
    "RUNTIMES",
    "Address",
    "BridgePort",
    "CniAllocation",
    "CniNetwork",
    "CniPlugin",
    "CniRange",
    "CollectorError",
    "Container",
    "FdbEntry",
    "Header",
    "Link",
    "Namespace",
    "Neighbour",
    "Nexthop",
    "NsOrigin",
    "Pod",
    "Route",
    "Rule",
    "Snapshot",
    "VethPeer",
]


def ns_id(inode: int) -> str:
    """The stable id of the network namespace with this nsfs inode."""
    return f"ns:{inode}"


def link_id(inode: int, ifindex: int) -> str:
    """The stable id of interface `ifindex` in the namespace with this inode."""
    return f"link:{inode}/{ifindex}"
