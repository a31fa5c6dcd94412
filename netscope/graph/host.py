"""The host graph: every relation of one snapshot, derived once, asked by every consumer.

`HostGraph.of(snapshot)` builds (once per snapshot object) the indexes and relations that the
doctor, the path walk, trace naming, flows, DNS, `show`, the TUI and the exports read:
namespaces and their interfaces, veth peers, bridge ports, lower/upper devices (macvlan,
vlan, vxlan on their parent), L2 segments, addresses and who holds them, routes and policy
rules with the kernel's lookup, netfilter tables, conntrack, DNS, the sockets of each
namespace with the processes holding them and the kernel's socket lookup, and the containers
running in each namespace. Nobody re-derives a relation beside it: a new runtime or a new
kind of object adds accessors here.

Plain dictionaries serve the accessors (built in one pass: see BENCHMARKS.md, "host graph");
networkx is the engine where its algorithms do the work: connected components for L2 segments
(`segment`) and the typed graph the exports write (`nx`), both built on first use.
"""

from __future__ import annotations

import bisect
import ipaddress
import threading
import weakref
from collections import defaultdict
from functools import cached_property
from typing import TYPE_CHECKING

from netscope.graph.endpoints import Endpoint, EndpointError, is_ip
from netscope.graph.k8s_services import KubeService, kube_services
from netscope.graph.netfilter import NetfilterRelations
from netscope.graph.routing import Lookup, route_lookup
from netscope.graph.sockets import SocketMatch, socket_lookup
from netscope.graph.workloads import WorkloadRelations
from netscope.model import Address, Container, FdbEntry, Link, Namespace, Snapshot
from netscope.model.bpf import HOOKS, BpfAttachment
from netscope.model.l3 import Neighbour, Route, Rule
from netscope.model.sockets import Socket, SocketTable

if TYPE_CHECKING:
    import networkx as nx

    from netscope.graph.topology import Topology
    from netscope.model.dns import DnsNamespace
    from netscope.model.netfilter import ConntrackTable, NfTable

# devices whose frames go out on their lower device's wire (same L2 segment as the parent)
SHARES_PARENT_WIRE = ("macvlan", "macvtap", "ipvlan")
# devices that exist only inside this host: a segment made only of them is fully visible
VIRTUAL_KINDS = ("veth", "bridge", "vxlan", "macvlan", "ipvlan", "loopback")

_EMPTY: tuple = ()
# the Snapshot fields the topology projection (graph.topology) reads, with header.nodes and
# the forwarding entries that name a remote end (vxlan: _remote_ends)
TOPOLOGY_FIELDS = ("namespaces", "links", "addresses", "routes", "containers", "pods")


def _remote_ends(fdb) -> list:
    """The forwarding entries the topology reads: those naming a remote end (a vxlan's
    VTEPs). A bridge ageing out learnt MACs (every few seconds on a busy host: 1,000 ports'
    worth at once on a lab) leaves the picture as it is."""
    return [(f.link, f.mac, f.dst) for f in fdb if f.dst]


def _group(items, key) -> dict:
    out: dict = defaultdict(list)
    for item in items:
        out[key(item)].append(item)
    return dict(out)


class HostGraph(NetfilterRelations, WorkloadRelations):
    """Relations over one snapshot. Build with `HostGraph.of(snapshot)` (cached per object).
    Netfilter relations (DNAT targets, published ports) come from NetfilterRelations;
    containers and pods <-> namespaces and workload names from WorkloadRelations."""

    # graphs by id(snapshot): every graph someone holds (weak), and the last few built
    # (strong), so that asking twice in a row does not build twice. Never only a strong map
    # with a finalizer on the snapshot: the graph holds its snapshot, so neither would ever
    # be freed (the live TUI leaked one snapshot and graph per update that way).
    _cache: weakref.WeakValueDictionary[int, HostGraph] = weakref.WeakValueDictionary()
    _recent: list[HostGraph] = []
    RECENT = 4
    _cache_lock = threading.Lock()

    def __init__(self, snapshot: Snapshot, like: HostGraph | None = None) -> None:
        """`like`: the graph of an earlier snapshot of the same host; the indexes of every
        field `snapshot` shares with it (the same object: a live re-read keeps what it did
        not read) are taken from it, not built again. What is worked out on first use
        (cached properties: segments ...) is worked out again, but for the topology when
        none of TOPOLOGY_FIELDS changed."""
        self.snapshot = snapshot
        s = snapshot
        before = like.snapshot if like is not None else None

        def kept(*fields: str) -> bool:
            return before is not None and all(getattr(before, f) is getattr(s, f)
                                              for f in fields)
        if kept("namespaces"):
            self.namespaces: dict[str, Namespace] = like.namespaces
        else:
            self.namespaces = {ns.id: ns for ns in s.namespaces}
        if kept("links"):
            self.links: dict[str, Link] = like.links
            self._links_by_ns: dict[str, list[Link]] = like._links_by_ns
            self._ports: dict[str, list[Link]] = like._ports
            self._uppers: dict[str, list[Link]] = like._uppers
            self._by_name: dict[tuple[str, str], Link] = like._by_name
        else:
            self.links = {lk.id: lk for lk in s.links}
            self._links_by_ns = _group(s.links, lambda x: x.netns)
            self._ports = _group((lk for lk in s.links if lk.master), lambda x: x.master)
            self._uppers = _group((lk for lk in s.links if lk.parent), lambda x: x.parent)
            self._by_name = {(lk.netns, lk.name): lk for lk in s.links}
        if kept("addresses"):
            self._addrs_by_link: dict[str, list[Address]] = like._addrs_by_link
            self._addrs_by_ns: dict[str, list[Address]] = like._addrs_by_ns
            self._owners: dict[str, list[str]] = like._owners
            self._local: dict[str, frozenset[str]] = like._local
        else:
            self._addrs_by_link = _group(s.addresses, lambda x: x.link)
            self._addrs_by_ns = _group(s.addresses, lambda x: x.netns)
            owners: dict[str, list[str]] = defaultdict(list)
            local: dict[str, set[str]] = defaultdict(set)
            for a in s.addresses:
                local[a.netns].add(a.address)
                if a.scope != "host" and a.netns not in owners[a.address]:
                    owners[a.address].append(a.netns)
            self._owners = dict(owners)
            self._local = {ns: frozenset(v) for ns, v in local.items()}
        self._routes_by_ns: dict[str, list[Route]] = (
            like._routes_by_ns if kept("routes") else _group(s.routes, lambda x: x.netns))
        self._rules_by_ns: dict[str, list[Rule]] = (
            like._rules_by_ns if kept("rules") else _group(s.rules, lambda x: x.netns))
        self._neigh_by_ns: dict[str, list[Neighbour]] = (
            like._neigh_by_ns if kept("neighbours")
            else _group(s.neighbours, lambda x: x.netns))
        self._fdb_by_link: dict[str, list[FdbEntry]] = (
            like._fdb_by_link if kept("fdb") else _group(s.fdb, lambda x: x.link))
        if kept("containers"):
            self.containers: dict[str, Container] = like.containers
            self._containers_by_ns: dict[str, list[Container]] = like._containers_by_ns
        else:
            self.containers = {c.id: c for c in s.containers}
            self._containers_by_ns = _group((c for c in s.containers if c.netns),
                                            lambda x: x.netns)
        # the picture, when nothing it is drawn from changed (a neighbour table re-read,
        # the commonest live update, keeps it: the TUI then redraws nothing)
        if (kept(*TOPOLOGY_FIELDS) and "topology" in like.__dict__
                and before.header.nodes == s.header.nodes
                and (kept("fdb") or _remote_ends(before.fdb) == _remote_ends(s.fdb))):
            self.__dict__["topology"] = like.__dict__["topology"]

    # ------------------------------------------------------------------ construction

    @classmethod
    def of(cls, snapshot: Snapshot, like: HostGraph | None = None) -> HostGraph:
        """The graph of `snapshot`: the one already built while it is held (by anyone) or
        among the last RECENT built, else a new one (from what it shares with `like`, the
        graph of an earlier snapshot of the same host: see __init__)."""
        key = id(snapshot)
        graph = cls._cache.get(key)
        if graph is not None and graph.snapshot is snapshot:
            return graph
        graph = cls(snapshot, like)
        with cls._cache_lock:
            cls._cache[key] = graph
            cls._recent = [graph, *cls._recent[:cls.RECENT - 1]]
        return graph

    def collected(self, collector: str) -> bool:
        """Whether `collector` ran for this snapshot: if not, its data is unknown, not empty."""
        return collector in self.snapshot.header.collectors

    # ------------------------------------------------------------------ per namespace

    def links_in(self, netns: str) -> list[Link]:
        return self._links_by_ns.get(netns, _EMPTY)

    def link_named(self, netns: str, name: str | None) -> Link | None:
        return self._by_name.get((netns, name)) if name is not None else None

    def addresses_on(self, link: str) -> list[Address]:
        return self._addrs_by_link.get(link, _EMPTY)

    def addresses_in(self, netns: str) -> list[Address]:
        return self._addrs_by_ns.get(netns, _EMPTY)

    def routes_in(self, netns: str) -> list[Route]:
        return self._routes_by_ns.get(netns, _EMPTY)

    def rules_in(self, netns: str) -> list[Rule]:
        return self._rules_by_ns.get(netns, _EMPTY)

    def neighbours_in(self, netns: str) -> list[Neighbour]:
        return self._neigh_by_ns.get(netns, _EMPTY)

    def neighbour(self, link: Link, address: str) -> Neighbour | None:
        """The ARP/ND entry for `address` on `link`, if the kernel has one."""
        return next((n for n in self.neighbours_in(link.netns)
                     if n.link == link.id and n.address == address), None)

    def fdb_of(self, link: str) -> list[FdbEntry]:
        return self._fdb_by_link.get(link, _EMPTY)

    def containers_in(self, netns: str) -> list[Container]:
        return self._containers_by_ns.get(netns, _EMPTY)

    @cached_property
    def _tables_by_ns(self) -> dict[str, list[NfTable]]:
        return _group(self.snapshot.tables, lambda x: x.netns)

    @property
    def tables(self) -> tuple[NfTable, ...]:
        return self.snapshot.tables

    def tables_in(self, netns: str) -> list[NfTable]:
        return self._tables_by_ns.get(netns, _EMPTY)

    @cached_property
    def _bpf_by_link(self) -> dict[str, list[BpfAttachment]]:
        return _group(self.snapshot.bpf_programs, lambda x: x.link)

    def bpf_programs_on(self, link: Link | str) -> list[BpfAttachment]:
        """BPF programs attached to an interface's datapath (XDP, tc, tcx), receive side
        first (netscope.model.bpf.HOOKS order)."""
        got = self._bpf_by_link.get(link if isinstance(link, str) else link.id, _EMPTY)
        return sorted(got, key=lambda b: (HOOKS.index(b.hook) if b.hook in HOOKS else 9,
                                          b.priority or 0))

    @cached_property
    def _kube_services(self) -> dict[str, list[KubeService]]:
        return {ns: got for ns, tables in self._tables_by_ns.items()
                if (got := kube_services(tables))}

    def kube_services(self, netns: str | None = None) -> list[KubeService]:
        """Kubernetes Services kube-proxy programmed into `netns` (every namespace's when
        None), each tied to the chains, rules and sets that implement it."""
        if netns is not None:
            return self._kube_services.get(netns, _EMPTY)
        return [s for services in self._kube_services.values() for s in services]

    @cached_property
    def _conntrack_by_ns(self) -> dict[str, ConntrackTable]:
        return {t.netns: t for t in self.snapshot.conntrack}

    def conntrack_in(self, netns: str) -> ConntrackTable | None:
        return self._conntrack_by_ns.get(netns)

    @cached_property
    def _dns_by_ns(self) -> dict[str, DnsNamespace]:
        return {d.netns: d for d in self.snapshot.dns}

    def dns_in(self, netns: str) -> DnsNamespace | None:
        return self._dns_by_ns.get(netns)

    # ------------------------------------------------------------------ sockets (L4)

    @cached_property
    def _sockets_by_ns(self) -> dict[str, SocketTable]:
        return {t.netns: t for t in getattr(self.snapshot, "sockets", ())}

    def socket_table(self, netns: str) -> SocketTable | None:
        """The namespace's socket table; None when its sockets were not read."""
        return self._sockets_by_ns.get(netns)

    def sockets_in(self, netns: str) -> tuple[Socket, ...] | None:
        """The namespace's TCP and UDP sockets; None when they are unknown (a snapshot taken
        without the sockets collector, or a namespace that could not be read)."""
        table = self._sockets_by_ns.get(netns)
        return table.sockets if table is not None else None

    def listeners(self, netns: str, proto: str | None = None, port: int | None = None
                  ) -> list[Socket]:
        """The sockets of `netns` that take new connections or datagrams (TCP LISTEN, UDP
        bound), of `proto` and on `port` when given; empty when unknown too."""
        return [s for s in self.sockets_in(netns) or () if s.receiving
                and (proto is None or s.proto == proto)
                and (port is None or s.local_port == port)]

    def socket_lookup(self, netns: str, family: str, proto: str, dst: str, dport: int,
                      src: str = "", sport: int | None = None, iif: str | None = None
                      ) -> SocketMatch | None:
        """Which socket of `netns` takes a packet to dst:dport, as the kernel picks it
        (netscope.graph.sockets); None when the namespace's sockets are unknown."""
        sockets = self.sockets_in(netns)
        if sockets is None:
            return None
        return socket_lookup(sockets, family, proto, dst, dport, src, sport, iif)

    def socket_owner(self, sock: Socket) -> str:
        """Who holds `sock`, in words: "nginx (pid 312, container web)", several processes
        joined with "and", "no process (a kernel socket)", or "a process netscope did not
        look up" (a connection in a snapshot without them, or the search's limit)."""
        if not sock.processes:
            table = self.socket_table(sock.netns)
            looked = table is not None and table.owners and (sock.receiving or
                                                             table.connections)
            return "no process (a kernel socket)" if looked else \
                "a process netscope did not look up"
        mains = {c.pid: c for c in self.containers.values() if c.netns == sock.netns}
        by_comm: dict[str, list[int]] = {}
        for p in sock.processes:
            by_comm.setdefault(p.comm, []).append(p.pid)
        parts = []
        for comm, pids in by_comm.items():
            shown = ", ".join(str(p) for p in pids[:3]) + (
                f" +{len(pids) - 3}" if len(pids) > 3 else "")
            names = [mains[p].name for p in pids if p in mains]
            where = f", container {names[0]}" if names else ""
            parts.append(f"{comm} (pid{'s' if len(pids) > 1 else ''} {shown}{where})")
        return " and ".join(parts)

    def sysctl(self, netns: str, key: str) -> str | None:
        ns = self.namespaces.get(netns)
        return ns.sysctls.get(key) if ns else None

    # ------------------------------------------------------------------ L2 relations

    def veth_peer(self, link: Link | str) -> Link | None:
        """The other end of a veth pair (also IFLA_LINK of a tunnel), when netscope resolved it."""
        link = self._link(link)
        if link is None or link.peer is None or link.peer.link is None:
            return None
        return self.links.get(link.peer.link)

    def master(self, link: Link | str) -> Link | None:
        """The device `link` is enslaved to (bridge, bond, vrf), or None."""
        link = self._link(link)
        return self.links.get(link.master) if link is not None and link.master else None

    def bridge_of(self, link: Link | str) -> Link | None:
        """The Linux bridge `link` is a port of, or None."""
        master = self.master(link)
        return master if master is not None and master.kind == "bridge" else None

    def bridge_ports(self, bridge: Link | str) -> list[Link]:
        """The devices enslaved to `bridge`, in ifindex order as the snapshot lists them."""
        bridge_id = bridge if isinstance(bridge, str) else bridge.id
        return self._ports.get(bridge_id, _EMPTY)

    def lower(self, link: Link | str) -> Link | None:
        """The parent device a macvlan, ipvlan, vlan or vxlan is built on, or None."""
        link = self._link(link)
        return self.links.get(link.parent) if link is not None and link.parent else None

    def uppers(self, link: Link | str) -> list[Link]:
        """The devices built on `link` (its macvlans, vlans, vxlans)."""
        link_id = link if isinstance(link, str) else link.id
        return self._uppers.get(link_id, _EMPTY)

    @cached_property
    def _segments(self) -> dict[str, frozenset[str]]:
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(self.links)
        for link in self.snapshot.links:
            if link.peer is not None and link.peer.link in self.links:
                g.add_edge(link.id, link.peer.link)
            if self.bridge_of(link) is not None:
                g.add_edge(link.id, link.master)
            if link.kind in SHARES_PARENT_WIRE and link.parent in self.links:
                g.add_edge(link.id, link.parent)  # they send on their parent's wire
        # VXLAN devices of one VNI (and port) carry one Ethernet segment between hosts
        by_vni: dict[tuple, str] = {}
        for link in self.snapshot.links:
            if link.kind == "vxlan" and link.details.get("vni") is not None:
                key = (link.details.get("vni"), link.details.get("dstport"))
                g.add_edge(link.id, by_vni.setdefault(key, link.id))
        out: dict[str, frozenset[str]] = {}
        for component in nx.connected_components(g):
            members = frozenset(component)
            for lid in members:
                out[lid] = members
        return out

    def segment(self, link: Link | str) -> frozenset[str]:
        """Ids of the links on the same L2 segment: joined by veth pairs, bridges, macvlan
        parents and VXLAN devices of one VNI."""
        link_id = link if isinstance(link, str) else link.id
        return self._segments.get(link_id, frozenset({link_id}))

    def segment_is_visible(self, link: Link | str) -> bool:
        """True when every link of the segment is virtual (veth, bridge ...): all its hosts
        are on this machine, so "nobody owns that address" is a fact, not a guess."""
        return all(self.links[m].kind in VIRTUAL_KINDS for m in self.segment(link))

    def segment_addresses(self, link: Link | str) -> list[Address]:
        """Every address held by a link on `link`'s segment."""
        return [a for m in sorted(self.segment(link)) for a in self.addresses_on(m)]

    def container_interface(self, netns: str) -> Link | None:
        """The one interface of a namespace that has only lo and one veth (a container's
        eth0, the other end on the host or a bridge), else None."""
        links = [lk for lk in self.links_in(netns) if lk.kind != "loopback"]
        ns = self.namespaces.get(netns)
        if len(links) == 1 and links[0].kind == "veth" and ns is not None and not ns.is_self:
            return links[0]
        return None

    def adjacent_namespaces(self, netns: str) -> set[str]:
        """Namespaces one veth pair, lower device or shared bridge segment away from `netns`."""
        out: set[str] = set()
        for link in self.links_in(netns):
            for other in (self.veth_peer(link), self.lower(link), *self.uppers(link)):
                if other is not None:
                    out.add(other.netns)
        out.discard(netns)
        return out

    # ------------------------------------------------------------------ addresses

    def address_owners(self, address: str) -> list[str]:
        """Namespaces that hold `address` on an interface (host-scope addresses left out)."""
        return self._owners.get(address, _EMPTY)

    def local_addresses(self, netns: str) -> frozenset[str]:
        """Every address of the namespace, loopback's included."""
        return self._local.get(netns, frozenset())

    def is_local(self, netns: str, address: str) -> bool:
        return address in self.local_addresses(netns)

    def primary_address(self, netns: str, family: str = "inet") -> str | None:
        """The address a person would call the namespace's: its first global address of
        `family` on a non-bridge device (lowest ifindex), else on a bridge."""
        candidates = [a for a in self.addresses_in(netns)
                      if a.family == family and a.scope == "global"]

        def key(a: Address) -> tuple:
            link = self.links.get(a.link)
            return (link is None or link.kind == "bridge", link.ifindex if link else 0)
        candidates.sort(key=key)
        return candidates[0].address if candidates else None

    def source_address(self, netns: str, link: Link | None, prefsrc: str | None,
                       family: str) -> str | None:
        """The address the kernel would pick as source for a packet leaving by `link`."""
        if prefsrc:
            return prefsrc
        pool = [a for a in self.addresses_in(netns) if a.family == family
                and a.scope == "global"]
        on_link = [a for a in pool if link is not None and a.link == link.id]
        chosen = on_link or pool
        return chosen[0].address if chosen else None

    def source_for(self, netns: str, dst: str) -> str | None:
        """The source address the kernel would choose in `netns` for a packet to `dst`:
        the route's preferred source, else an address on its output device."""
        family = "inet6" if ":" in dst else "inet"
        if self.is_local(netns, dst):
            return dst
        # a packet the namespace sends itself: rules see it coming in from lo
        lk = self.route_lookup(netns, family, "0.0.0.0" if family == "inet" else "::", dst,
                               iif="lo")
        if lk.route is None:
            return self.primary_address(netns, family)
        hop = lk.route.nexthops[0] if lk.route.nexthops else None
        out = self.links.get(hop.link) if hop and hop.link else None
        return self.source_address(netns, out, lk.route.prefsrc, family)

    # ------------------------------------------------------------------ routing

    def route_lookup(self, netns: str, family: str, src: str, dst: str,
                     iif: str | None = None, oif: str | None = None, mark: int = 0) -> Lookup:
        """What the kernel's fib_lookup answers in `netns`: policy rules in priority order,
        then longest prefix and lowest metric in the table a rule points at."""
        return route_lookup(self.routes_in(netns), self.rules_in(netns), family, src, dst,
                            iif=iif, oif=oif, mark=mark)

    # ------------------------------------------------------------------ endpoints

    def namespaces_named(self, name: str) -> list[str]:
        """Namespace ids that `name` designates: a container name or id prefix (6+ chars),
        a pod (`namespace/pod`, a Podman pod name), a namespace name, id or inode, an
        /run/netns or Docker sandbox file name."""
        by_id = len(name) >= 6  # a container id prefix, as `docker ps` shows them
        found = [c.netns for c in self.snapshot.containers
                 if c.netns and (c.name == name or (by_id and c.container_id.startswith(name)))]
        found += self.workload_namespaces(name)
        found += [ns.id for ns in self.snapshot.namespaces
                  if name in (ns.name, ns.id, str(ns.inode))
                  or any(o.path.rsplit("/", 1)[-1] == name for o in ns.origins
                         if o.kind in ("named", "docker"))]
        return list(dict.fromkeys(found))

    def namespace_called(self, name: str) -> str:
        """The one namespace id `name` designates (see `namespaces_named`; also
        "ns:<inode>"). Raises EndpointError naming some known names when it designates none
        or several."""
        found = self.namespaces_named(name)
        if len(found) != 1:
            names = ", ".join(sorted(ns.name for ns in self.namespaces.values())[:8])
            what = "several namespaces" if found else "no namespace or container"
            raise EndpointError(f"{what} called {name!r}: known names include {names} "
                                "(`netscope show` lists them all)")
        return found[0]

    def resolve(self, text: str, role: str = "destination") -> Endpoint:
        """SRC or DST as a user typed it (an IP, a container, a namespace) -> Endpoint.

        A source must be in a namespace of this host; a destination may be any address.
        Raises EndpointError (a ValueError) with a line saying what to give instead.
        """
        if is_ip(text):
            address = str(ipaddress.ip_address(text))
            owners = self.address_owners(address)
            if role == "source" and not owners:
                raise EndpointError(f"no namespace on this host has address {address}: give a "
                                    "source address, container or namespace from "
                                    "`netscope show`")
            if role == "source" and len(owners) > 1:
                names = ", ".join(self.ns_name(n) for n in owners)
                raise EndpointError(f"address {address} is on several namespaces ({names}): "
                                    "name the source namespace or container instead")
            return Endpoint(owners[0] if len(owners) == 1 else None, address, address)
        found = self.namespaces_named(text)
        if not found:
            raise EndpointError(f"no address, container or namespace called {text!r}: "
                                "`netscope show` lists them")
        if len(found) > 1:
            raise EndpointError(f"{text!r} names several namespaces: use an address or an "
                                "ns: id")
        return Endpoint(found[0], self.primary_address(found[0]), self.ns_name(found[0]))

    def resolve_pair(self, src: str, dst: str) -> tuple[Endpoint, Endpoint]:
        """SRC and DST together: the source address is the one the kernel would choose for
        the route to DST (so `path` and `trace` agree on it)."""
        source = self.resolve(src, "source")
        target = self.resolve(dst, "destination")
        if target.address is None:
            raise EndpointError(f"{dst!r} has no address to send to: give an IP address")
        if not is_ip(src) and source.netns is not None:
            chosen = self.source_for(source.netns, target.address)
            if chosen is not None:
                source = Endpoint(source.netns, chosen, source.label)
        if source.address is None:
            raise EndpointError(f"{src!r} has no address to send from: give an IP address")
        return source, target

    def resolve_filter(self, src: str | None, dst: str | None) -> tuple[str | None, str | None]:
        """SRC/DST of a packet filter (`trace`) as addresses. An address is taken as given
        (traffic may come from outside the host); names resolve as `resolve_pair` does, so
        with both ends the source is the one the kernel would choose for the route to DST."""
        if src and dst and not is_ip(src):
            source, target = self.resolve_pair(src, dst)
            return source.address, target.address
        out: list[str | None] = []
        for text, role in ((src, "source"), (dst, "destination")):
            if not text or is_ip(text):
                out.append(str(ipaddress.ip_address(text)) if text else None)
                continue
            end = self.resolve(text, role)
            if end.address is None:
                raise EndpointError(f"{text!r} has no address to trace: give an IP address")
            out.append(end.address)
        return out[0], out[1]

    # ------------------------------------------------------------------ nodes

    @property
    def nodes(self) -> tuple:
        """The nodes of a cluster document (NodeInfo), () for a host snapshot."""
        return self.snapshot.header.nodes

    def node_of(self, netns: str) -> str | None:
        """The node a namespace is on, in a cluster document (None in a host snapshot)."""
        ns = self.namespaces.get(netns)
        return ns.node if ns else None

    def node_root(self, node: str) -> str | None:
        """The namespace a node's snapshot was taken in (the node's own), by node name."""
        return next((ns.id for ns in self.namespaces.values()
                     if ns.node == node and ns.is_self), None)

    def underlay_next(self, link: Link, nexthop: str) -> Link | None:
        """In a cluster document: the interface of another node that a packet sent out of
        `link` (a device that leaves its node) to `nexthop` arrives on. Joined only where the
        addresses prove it: that interface holds `nexthop` in a subnet `link` is on."""
        return next((far for far, address in self.underlay_neighbours(link)
                     if address == nexthop), None)

    @cached_property
    def _addresses_by_value(self) -> tuple[list[tuple[int, int]], list[Address]]:
        """Global addresses sorted by (IP version, value): ranges of a subnet by bisection."""
        found = sorted((a for a in self.snapshot.addresses if a.scope == "global"),
                       key=lambda a: (ipaddress.ip_address(a.address).version,
                                      int(ipaddress.ip_address(a.address))))
        keys = [(ipaddress.ip_address(a.address).version, int(ipaddress.ip_address(a.address)))
                for a in found]
        return keys, found

    def addresses_within(self, network) -> list[Address]:
        """Every global address (of any namespace) inside `network` (an ip_network)."""
        keys, found = self._addresses_by_value
        lo = bisect.bisect_left(keys, (network.version, int(network.network_address)))
        hi = bisect.bisect_right(keys, (network.version, int(network.broadcast_address)))
        return found[lo:hi]

    def underlay_neighbours(self, link: Link) -> list[tuple[Link, str]]:
        """In a cluster document: (interface, its address) on other nodes that hold an
        address in a subnet `link` is on: what `link` reaches across the network between
        nodes. Empty in a host snapshot."""
        here = self.node_of(link.netns)
        if here is None:
            return []
        out = []
        for own in self.addresses_on(link.id):
            if own.scope != "global":
                continue
            for a in self.addresses_within(ipaddress.ip_interface(own.cidr).network):
                if self.node_of(a.netns) not in (here, None) and a.link in self.links:
                    out.append((self.links[a.link], a.address))
        return out

    def vxlan_remote(self, link: Link, nexthop: str) -> tuple[str | None, str]:
        """Where `link` (a VXLAN device) sends a frame for the inner next hop `nexthop`:
        (remote VTEP address or None, how it was found). A fixed `remote` wins; otherwise the
        neighbour entry of `nexthop` gives a MAC and the FDB entry of that MAC its VTEP (as
        flannel writes them), else the first FDB entry with a destination."""
        remote = link.details.get("remote")
        if remote:
            return str(remote), f"{link.name}'s fixed remote"
        neigh = self.neighbour(link, nexthop)
        fdb = [f for f in self.fdb_of(link.id) if f.dst]
        if neigh is not None and neigh.lladdr:
            mac = neigh.lladdr.lower()
            for f in fdb:
                if f.mac.lower() == mac:
                    return f.dst, f"FDB entry {mac} dst {f.dst}"
            return None, (f"{link.name} has no FDB entry for {mac} (the MAC its neighbour "
                          f"entry gives {nexthop}): it does not know which VTEP to send to")
        if neigh is None and any(f.mac == "00:00:00:00:00:00" for f in fdb):
            zero = next(f for f in fdb if f.mac == "00:00:00:00:00:00")
            return zero.dst, f"default FDB entry dst {zero.dst}"
        if neigh is None and fdb and not self.nodes:
            return fdb[0].dst, f"FDB entry dst {fdb[0].dst}"
        if neigh is None:
            return None, f"{link.name} has no neighbour entry for {nexthop}"
        return None, f"{link.name} has no remote VTEP"

    def vtep_address(self, link: Link) -> str | None:
        """The underlay address a VXLAN device sends from and receives on: its `local`
        address, else the first global address of its lower device."""
        local = link.details.get("local")
        if local:
            return str(local)
        lower = self.lower(link)
        return self.primary_address(lower.netns) if lower is not None else None

    def pod_networks(self, node: str) -> list:
        """The pod networks of a node (cluster documents): the subnets of the bridges in the
        node's own namespace that have a port leading to another namespace (cni0, docker0)."""
        root = self.node_root(node)
        out = []
        for link in self.links_in(root) if root else ():
            if link.kind != "bridge":
                continue
            if not any((peer := self.veth_peer(port)) is not None and peer.netns != root
                       for port in self.bridge_ports(link)):
                continue
            out += [ipaddress.ip_interface(a.cidr).network for a in self.addresses_on(link.id)
                    if a.scope == "global" and a.family == "inet"]
        return out

    def vxlan_twin(self, link: Link, netns: str) -> Link | None:
        """The VXLAN device of the same VNI (and UDP port) in `netns`: where the frames
        `link` sends to a VTEP of that namespace are decapsulated."""
        vni, port = link.details.get("vni"), link.details.get("dstport")
        return next((lk for lk in self.links_in(netns) if lk.kind == "vxlan"
                     and lk.details.get("vni") == vni
                     and lk.details.get("dstport", port) == port), None)

    # ------------------------------------------------------------------ naming

    def ns_name(self, netns: str) -> str:
        ns = self.namespaces.get(netns)
        return ns.name if ns else netns

    def link_label(self, link_id: str | None) -> str:
        """"<namespace name>:<device>" for a link id, or the id itself when unknown."""
        if link_id is None:
            return "?"
        link = self.links.get(link_id)
        if link is None:
            return link_id
        return f"{self.ns_name(link.netns)}:{link.name}"

    def ns_order(self) -> list[str]:
        """Namespace ids as people read them: the one netscope runs in first, then those with
        containers, then the rest, by name (in a cluster document: node by node)."""
        def key(ns_id: str) -> tuple:
            ns = self.namespaces[ns_id]
            return (ns.node or "", not ns.is_self,
                    ns_id not in self._containers_by_ns and not self.pods_in(ns_id),
                    ns.name)
        return sorted(self.namespaces, key=key)

    def ns_ref(self, netns: str) -> str:
        """How a command names a namespace: its ip-netns name, a path to enter it by, or ""
        for the namespace netscope runs in."""
        ns = self.namespaces[netns]
        if ns.is_self:
            return ""
        for kind in ("named", "docker", "proc"):
            for o in ns.origins:
                if o.kind == kind:
                    return o.path.rsplit("/", 1)[-1] if kind == "named" else o.path
        return ""

    # ------------------------------------------------------------------ projections

    @cached_property
    def topology(self) -> Topology:
        """The picture the TUI and every export draw (netscope.graph.topology), built once."""
        from netscope.graph.topology import project

        return project(self)

    @cached_property
    def nx(self) -> nx.MultiDiGraph:
        """The typed networkx graph (see netscope.graph.typed), netfilter's hooks, chains and
        rules included (netscope.graph.netfilter): what GraphML/node-link export."""
        from netscope.graph.netfilter import add_netfilter
        from netscope.graph.typed import typed_graph

        g = typed_graph(self)
        if self.tables:
            add_netfilter(g, self)
        return g

    def _link(self, link: Link | str | None) -> Link | None:
        return self.links.get(link) if isinstance(link, str) else link
