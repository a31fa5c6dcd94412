"""What SRC and DST resolve to: a namespace of this host (or none) and an address."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


class EndpointError(ValueError):
    """The user's SRC/DST names nothing in the snapshot, or names several things."""


@dataclass(frozen=True)
class Endpoint:
    """A namespace (None for an address no namespace on this host owns), an address (None
    when the namespace has none), and how to call it in messages."""

    netns: str | None
    address: str | None
    label: str


def is_ip(text: str) -> bool:
    """Whether `text` is an IPv4 or IPv6 address (not a CIDR, not a name)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
