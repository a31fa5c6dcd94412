"""Layer 3: addresses, routes, policy rules and neighbours."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Address:
    """An IP address on an interface, with its prefix length (`addr:<ino>/<ifindex>/<ip>/<len>`)."""

    id: str
    netns: str
    link: str
    family: str
    address: str
    prefixlen: int
    scope: str
    label: str | None = None
    flags: tuple[str, ...] = ()
    peer: str | None = None
    broadcast: str | None = None

    @property
    def cidr(self) -> str:
        return f"{self.address}/{self.prefixlen}"


@dataclass(frozen=True)
class Nexthop:
    """One next hop of a route: a gateway and/or an output interface, with its weight."""

    gateway: str | None
    link: str | None
    weight: int = 1
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    """A route in any table. `dst` is a CIDR ("0.0.0.0/0" for the default route)."""

    id: str
    netns: str
    family: str
    table: int
    type: str
    dst: str
    protocol: str
    scope: str
    metric: int | None = None
    prefsrc: str | None = None
    tos: int = 0
    nexthops: tuple[Nexthop, ...] = ()
    flags: tuple[str, ...] = ()
    mtu: int | None = None

    @property
    def is_default(self) -> bool:
        return self.dst.endswith("/0")


@dataclass(frozen=True)
class Rule:
    """A policy-routing rule (`ip rule`): which table a lookup consults, in priority order."""

    id: str
    netns: str
    family: str
    priority: int
    action: str
    table: int | None = None
    src: str | None = None
    dst: str | None = None
    iif: str | None = None
    oif: str | None = None
    fwmark: int | None = None
    fwmask: int | None = None
    tos: int = 0
    invert: bool = False
    goto: int | None = None
    l3mdev: bool = False


@dataclass(frozen=True)
class Neighbour:
    """An ARP/NDP entry: which MAC answers for an IP on a link, and how sure the kernel is."""

    id: str
    netns: str
    link: str
    family: str
    address: str
    lladdr: str | None
    state: tuple[str, ...]
    flags: tuple[str, ...] = ()
