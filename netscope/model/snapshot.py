"""A snapshot: everything collected from one host at one moment, plus how it was collected."""

from __future__ import annotations

from dataclasses import dataclass

from netscope.model.bpf import BpfAttachment
from netscope.model.cni import CniAllocation, CniNetwork
from netscope.model.dns import DnsNamespace
from netscope.model.l2 import FdbEntry, Link
from netscope.model.l3 import Address, Neighbour, Route, Rule
from netscope.model.leftover import Leftover
from netscope.model.netfilter import ConntrackTable, NfTable
from netscope.model.netns import Container, Namespace, Pod
from netscope.model.sockets import SocketTable

FORMAT_NAME = "netscope-snapshot"
FORMAT_VERSION = 1
# a cluster document: node snapshots merged (`netscope merge`), ids node-qualified
CLUSTER_FORMAT_NAME = "netscope-cluster"
CLUSTER_FORMAT_VERSION = 1


@dataclass(frozen=True)
class CollectorError:
    """A collector that could not do (all of) its work, and where: never silently dropped."""

    collector: str
    message: str
    netns: str | None = None


@dataclass(frozen=True)
class NodeInfo:
    """One node of a cluster document: its name there, and where and when it was captured."""

    name: str
    hostname: str
    kernel: str
    captured_at: str
    netscope_version: str
    collectors: tuple[str, ...] = ()
    redacted: bool = False
    note: str | None = None


@dataclass(frozen=True)
class Header:
    """Where and when a snapshot was taken, and by which netscope."""

    netscope_version: str
    kernel: str
    hostname: str
    captured_at: str
    duration_ms: float
    redacted: bool = False
    # the collectors that ran: what is absent from a snapshot is only "none" if its
    # collector ran (an older netscope, or one that could not run, did not look)
    collectors: tuple[str, ...] = ()
    # how and why it was taken, in words (`netscope snapshot --note`); fixtures say here
    # which command and topology produced them
    note: str | None = None
    # a cluster document lists its nodes here (empty for a host snapshot); every namespace
    # then names its node and every id is node-qualified (netscope.snapshot.cluster)
    nodes: tuple[NodeInfo, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    """The host's network state: flat lists of model objects, each naming its namespace."""

    header: Header
    namespaces: tuple[Namespace, ...]
    links: tuple[Link, ...] = ()
    addresses: tuple[Address, ...] = ()
    routes: tuple[Route, ...] = ()
    rules: tuple[Rule, ...] = ()
    neighbours: tuple[Neighbour, ...] = ()
    fdb: tuple[FdbEntry, ...] = ()
    containers: tuple[Container, ...] = ()
    errors: tuple[CollectorError, ...] = ()
    # netfilter rulesets (iptables and nftables tables) and conntrack tables, per namespace
    tables: tuple[NfTable, ...] = ()
    conntrack: tuple[ConntrackTable, ...] = ()
    # service discovery per namespace: resolv.conf/hosts its processes read, DNS sockets
    dns: tuple[DnsNamespace, ...] = ()
    # TCP and UDP sockets per namespace, with the processes that hold them
    sockets: tuple[SocketTable, ...] = ()
    # Podman pods and Kubernetes pod sandboxes (containerd, CRI-O); their containers name them
    pods: tuple[Pod, ...] = ()
    # CNI network configurations found, and the addresses their IPAM allocated
    cni_networks: tuple[CniNetwork, ...] = ()
    cni_allocations: tuple[CniAllocation, ...] = ()
    # BPF programs on interfaces' datapaths (XDP, tc, tcx): where eBPF decides, not netfilter
    bpf_programs: tuple[BpfAttachment, ...] = ()
    # what killed netscopes left behind (nft trace tables whose owner is gone)
    leftovers: tuple[Leftover, ...] = ()
