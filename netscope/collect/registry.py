"""Every collector netscope runs, registered in one place (and checked by one conformance test)."""

from __future__ import annotations

from netscope.collect.base import NamespaceCollector
from netscope.collect.bridge import FdbCollector
from netscope.collect.conntrack import ConntrackCollector
from netscope.collect.dns import DnsCollector
from netscope.collect.l3 import (
    AddressesCollector,
    NeighboursCollector,
    RoutesCollector,
    RulesCollector,
)
from netscope.collect.links import LinksCollector
from netscope.collect.netfilter import NetfilterCollector
from netscope.collect.sockets import SocketsCollector

# Links first: the others name interfaces by the ids it records.
NAMESPACE_COLLECTORS: tuple[NamespaceCollector, ...] = (
    LinksCollector(),
    AddressesCollector(),
    RoutesCollector(),
    RulesCollector(),
    NeighboursCollector(),
    FdbCollector(),
    NetfilterCollector(),
    ConntrackCollector(),  # after netfilter: reads its tables to tell what uses conntrack
    SocketsCollector(),
    DnsCollector(),
)
