"""Service discovery per namespace: where each nameserver's queries really go, and whether
anything answers there.

Pure functions of a snapshot (its `dns`, `tables`, routes and links):
- a loopback nameserver is answered inside the namespace itself, or not at all: Docker's
  embedded DNS (127.0.0.11) is a DNAT rule in the container's own nat table sending port 53
  to dockerd's sockets on random ports; systemd-resolved's stub (127.0.0.53) listens only in
  the host's namespace, so a container given the host's file cannot reach it;
- any other nameserver is walked to with the static path walk (UDP port 53) and, when the walk
  ends in a namespace on this host, checked for a socket on port 53 there.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from netscope.analysis.path.walk import _walk
from netscope.graph.host import HostGraph
from netscope.model import Snapshot
from netscope.model.dns import DOCKER_EMBEDDED_DNS, RESOLVED_STUB, DnsListener, ResolverConfig
from netscope.model.journey import Journey, Packet
from netscope.model.journey import Verdict as End
from netscope.model.netfilter import NfRule

DNS_PORT = 53
EPHEMERAL_PORT = 40000
GLIBC_DEFAULT = "127.0.0.1"


@dataclass(frozen=True)
class NameserverView:
    """One nameserver of one resolver: where queries go and whether something answers.

    `reachable` is True, False, or None when the snapshot cannot say (the path leaves the
    host, or the walk is uncertain). `dnat` holds the DNAT rules that redirect the queries;
    `listeners` the sockets that would answer; `path` the walk when one was made."""

    nameserver: str
    kind: str                 # "docker-embedded", "loopback", "local", "routed"
    reachable: bool | None
    explain: str
    dnat: tuple[str, ...] = ()
    listeners: tuple[str, ...] = ()
    path: Journey | None = None


@dataclass(frozen=True)
class DnsRow:
    """A resolver of a namespace with its nameservers' views (what the TUI tab shows)."""

    netns: str
    name: str
    containers: tuple[str, ...]
    resolver: ResolverConfig
    nameservers: tuple[NameserverView, ...]
    home: bool = False       # the namespace netscope runs in (the host's)

    @property
    def inherited(self) -> bool:
        """The host's own file, read from another namespace (`ip netns exec` without
        /etc/netns/NAME/resolv.conf): the host's configuration, not this namespace's."""
        return self.resolver.host_file and not self.home

    @property
    def judged(self) -> bool:
        """Whether a doctor should judge it: processes use it, and it is not inherited."""
        return bool(self.resolver.pids) and not self.inherited


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _covers(values: tuple[str, ...], address: str) -> bool:
    ip = ipaddress.ip_address(address)
    for v in values:
        try:
            if ip in ipaddress.ip_network(v, strict=False):
                return True
        except ValueError:
            continue
    return False


def dnat_rules(graph: HostGraph, netns: str, nameserver: str) -> list[NfRule]:
    """The nat rules of `netns` that DNAT queries for `nameserver` (port 53, or any port)."""
    out = []
    for table in graph.tables_in(netns):
        for chain in table.chains:
            for rule in chain.rules:
                if rule.action != "dnat":
                    continue
                fields = {m.field: m for m in rule.matches if m.recognised and not m.negated}
                daddr, dport = fields.get("daddr"), fields.get("dport")
                if daddr is None or not _covers(daddr.values, nameserver):
                    continue
                if dport is not None and str(DNS_PORT) not in dport.values:
                    continue
                out.append(rule)
    return out


def _split(nat_to: str | None, address: str) -> tuple[str, int]:
    """"127.0.0.11:41234" -> ("127.0.0.11", 41234); a bare ":port" keeps the address."""
    if not nat_to:
        return address, DNS_PORT
    host, _, port = nat_to.rpartition(":") if nat_to.count(":") == 1 else (nat_to, "", "")
    return (host or address), (int(port) if port.isdigit() else DNS_PORT)


def _proto_of(rule: NfRule) -> str | None:
    for m in rule.matches:
        if m.field == "proto" and m.recognised and not m.negated and m.values:
            return m.values[0]
    return None


def _answering(listeners: tuple[DnsListener, ...], proto: str, address: str, port: int
               ) -> list[DnsListener]:
    wild = ("0.0.0.0", "::")
    return [s for s in listeners if s.proto == proto and s.port == port
            and (s.address == address or s.address in wild)]


def host_nameservers(snapshot: Snapshot) -> tuple[str, ...]:
    """The nameservers most processes of netscope's own namespace use (dockerd's upstreams)."""
    home = {ns.id for ns in snapshot.namespaces if ns.is_self}
    mine = [r for d in snapshot.dns if d.netns in home for r in d.resolvers]
    best = max(mine, key=lambda r: len(r.pids), default=None)
    return best.nameservers if best else ()


def _loopback_view(graph: HostGraph, netns: str, nameserver: str,
                   listeners: tuple[DnsListener, ...]) -> NameserverView:
    name = graph.ns_name(netns)
    rules = dnat_rules(graph, netns, nameserver)
    answers: list[DnsListener] = []
    for proto in ("udp", "tcp"):
        rule = next((r for r in rules if _proto_of(r) in (proto, None)), None)
        address, port = _split(rule.nat_to, nameserver) if rule else (nameserver, DNS_PORT)
        answers += _answering(listeners, proto, address, port)
    udp_ok = any(a.proto == "udp" for a in answers)
    kind = "docker-embedded" if nameserver == DOCKER_EMBEDDED_DNS else "loopback"
    shown_rules = tuple(f"{r.table}/{r.chain}: {r.text}" for r in rules)
    shown_sockets = tuple(f"{a.proto} {a.address}:{a.port}" for a in answers)
    if udp_ok:
        upstream = ", ".join(host_nameservers(graph.snapshot)) or "the host's nameservers"
        how = (f"Docker's embedded DNS: nat rules in {name} send port 53 to dockerd's "
               "sockets on 127.0.0.11, which answer container names and forward the rest "
               f"from the host's namespace to {upstream}" if kind == "docker-embedded"
               and rules else f"answered inside {name} by a local socket")
        return NameserverView(nameserver, kind, True, how, shown_rules, shown_sockets)
    if nameserver == RESOLVED_STUB:
        why = (f"127.0.0.53 is systemd-resolved's stub on the host: it listens only in the "
               f"host's namespace, and in {name} nothing does, so every query is refused")
    elif kind == "docker-embedded" and rules:
        why = (f"127.0.0.11 is Docker's embedded DNS, but nothing in {name} listens where "
               "its DNAT rules point (has dockerd gone?)")
    elif kind == "docker-embedded":
        why = (f"127.0.0.11 is Docker's embedded DNS, but no DNAT rule in {name} sends port "
               "53 there (not on a user-defined network, or the rules were flushed)")
    else:
        why = (f"nothing listens on {nameserver} port 53 inside {name}: a loopback address "
               "is only ever answered in the namespace itself")
    return NameserverView(nameserver, kind, False, why, shown_rules, shown_sockets)


def walk_to(graph: HostGraph, netns: str, dst: str, proto: str = "udp",
            port: int = DNS_PORT) -> Journey | None:
    """The static walk from `netns` to `dst` (source address as the kernel would pick it),
    or None when the namespace has no address to send from."""
    family = "inet" if ipaddress.ip_address(dst).version == 4 else "inet6"
    src = graph.source_for(netns, dst)
    if src is None:
        return None
    pkt = Packet(family, src, dst, proto, EPHEMERAL_PORT, port)
    return _walk(graph, pkt, netns, with_reply=True)


def _routed_view(graph: HostGraph, netns: str, nameserver: str,
                 listeners_of: dict[str, tuple[DnsListener, ...]]) -> NameserverView:
    name = graph.ns_name(netns)
    if graph.is_local(netns, nameserver):
        answers = _answering(listeners_of.get(netns, ()), "udp", nameserver, DNS_PORT)
        if answers:
            return NameserverView(nameserver, "local", True, f"{name}'s own address, "
                                  "answered there", listeners=tuple(
                                      f"{a.proto} {a.address}:{a.port}" for a in answers))
        return NameserverView(nameserver, "local", False, f"{nameserver} is {name}'s own "
                              "address, and nothing there listens on port 53")
    result = walk_to(graph, netns, nameserver)
    if result is None:
        return NameserverView(nameserver, "routed", False,
                              f"{name} has no address to send queries from")
    # a nameserver behind a Service (kube-dns) is a random choice of endpoints: judge the
    # first one that fails, or the first
    result = next((j for _, j in result.outcomes() if j.verdict != End.DELIVERED),
                  result.outcomes()[0][1])
    end = result.verdict
    if end == End.DELIVERED and result.end_netns:
        there = graph.ns_name(result.end_netns)
        answers = _answering(listeners_of.get(result.end_netns, ()), "udp", nameserver,
                             DNS_PORT)
        if not answers and result.end_netns in listeners_of:
            return NameserverView(nameserver, "routed", False, f"queries reach {there}, but "
                                  "nothing there listens on UDP port 53", path=result)
        reply_ok = result.reply is None or result.reply.verdict == End.DELIVERED
        if not reply_ok and result.reply is not None:
            return NameserverView(nameserver, "routed", False, f"queries reach {there} but "
                                  f"the answers do not come back: {result.reply.summary}",
                                  path=result)
        return NameserverView(nameserver, "routed", True if answers else None,
                              f"queries reach {there}", listeners=tuple(
                                  f"{a.proto} {a.address}:{a.port}" for a in answers),
                              path=result)
    if end == End.REFUSED and result.end_netns:
        return NameserverView(nameserver, "routed", False, f"queries reach "
                              f"{graph.ns_name(result.end_netns)}, but {result.summary}",
                              path=result)
    if end in (End.DROPPED, End.NO_ROUTE):
        where = graph.ns_name(result.end_netns) if result.end_netns else name
        return NameserverView(nameserver, "routed", False, f"queries from {name} never reach "
                              f"{nameserver}: {result.summary} (in {where})", path=result)
    if end == End.LEFT_HOST:
        return NameserverView(nameserver, "routed", None, f"queries leave the host "
                              f"({result.summary}); beyond it netscope cannot see", path=result)
    return NameserverView(nameserver, "routed", None, result.summary, path=result)


def dns_rows(graph: HostGraph | Snapshot, idle: bool = True,
             inherited: bool = True, netns: str | None = None) -> list[DnsRow]:
    """Every resolver of every namespace (or only of `netns`) with where its nameservers'
    queries go; without `idle` only those processes use, without `inherited` not those that
    are the host's own file seen from another namespace. For the TUI's DNS tab:
    `dns_rows(graph, idle=False)`."""
    if not isinstance(graph, HostGraph):
        graph = HostGraph.of(graph)
    snapshot = graph.snapshot
    # sockets belong to processes: a namespace where none runs has none, which is a fact
    listeners_of = {d.netns: d.listeners for d in snapshot.dns}
    rows = []
    for view in snapshot.dns:
        if view.netns not in graph.namespaces or (netns is not None and view.netns != netns):
            continue
        for resolver in view.resolvers:
            home = graph.namespaces[view.netns].is_self
            if (not idle and not resolver.pids) or (
                    not inherited and resolver.host_file and not home):
                continue
            servers = []
            # no nameserver line (or no file): glibc asks 127.0.0.1
            for ns in resolver.nameservers or (GLIBC_DEFAULT,):
                if _is_loopback(ns):
                    servers.append(_loopback_view(graph, view.netns, ns, view.listeners))
                else:
                    try:
                        servers.append(_routed_view(graph, view.netns, ns, listeners_of))
                    except ValueError:
                        servers.append(NameserverView(ns, "routed", None,
                                                      f"{ns} is not an IP address"))
            rows.append(DnsRow(view.netns, graph.ns_name(view.netns),
                               tuple(c.name for c in graph.containers_in(view.netns)),
                               resolver, tuple(servers), home))
    return sorted(rows, key=lambda r: (not graph.namespaces[r.netns].is_self, r.name,
                                       r.resolver.id))
