"""Every collector netscope runs, registered in one place (and checked by one conformance test)."""

from __future__ import annotations

from netscope.collect.base import HostCollector, NamespaceCollector
from netscope.collect.bpf_datapath import BpfDatapathCollector
from netscope.collect.bridge import FdbCollector
from netscope.collect.cni import CniCollector
from netscope.collect.conntrack import ConntrackCollector
from netscope.collect.dns import DnsCollector
from netscope.collect.l3 import (
    AddressesCollector,
    NeighboursCollector,
    RoutesCollector,
    RulesCollector,
)
from netscope.collect.leftovers import LeftoversCollector
from netscope.collect.links import LinksCollector
from netscope.collect.netfilter import NetfilterCollector
from netscope.collect.sockets import SocketsCollector
from netscope.collect.sysctl import SysctlCollector
from netscope.collect.workloads import (
    ContainerdCollector,
    CrioCollector,
    DockerCollector,
    PodmanCollector,
)

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
    BpfDatapathCollector(),  # after links: XDP programs come with them
    DnsCollector(),
    LeftoversCollector(),  # after netfilter: looks at its tables for owner marks
    SysctlCollector(),  # to Namespace.sysctls
)

# Once per snapshot, after every namespace was read. Runtimes before CNI: it ties allocated
# addresses to the containers and pods they found.
HOST_COLLECTORS: tuple[HostCollector, ...] = (
    DockerCollector(),
    PodmanCollector(),
    ContainerdCollector(),
    CrioCollector(),
    CniCollector(),
)
