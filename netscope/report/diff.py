"""What changed between two snapshots: the answer to "what changed since it last worked".

Objects are matched by names, never by ids (inodes and ifindexes change when a namespace is
re-created): a namespace by its name, a link by (namespace, device name), an address by its
CIDR on a device, a route by (table, type, destination, metric, tos), a policy rule by its
text, a netfilter rule by (table, chain, rule text) — so a rule inserted above others shows as
one added rule, not as every later rule moving. Neighbour states, conntrack entries and
`nf_conntrack_count` change by themselves and are left out.

`diff_snapshots(a, b)` returns a `SnapshotDiff`: `changes` grouped by namespace (what appeared,
disappeared or changed) and `counters` (netfilter rules and policies that counted packets
between the two snapshots), documented for `netscope diff --json`. It is the one snapshot
diff: the TUI's event log reads it too (with `neighbours=True`: neighbours that newly FAILED
or are INCOMPLETE, what a person on call wants to see among their churn), and highlights
each change's `ids` (in the newer snapshot).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace

from netscope.graph.host import HostGraph
from netscope.model import Snapshot
from netscope.model.labels import link_state, route_shown, route_text
from netscope.report.diff_netfilter import Counted, netfilter_changes

VOLATILE_SYSCTLS = frozenset({"net.netfilter.nf_conntrack_count"})
# per-namespace objects, and the graph's accessor of one namespace's
_PER_NS = {"links": "links_in", "addresses": "addresses_in", "routes": "routes_in",
           "rules": "rules_in", "neighbours": "neighbours_in"}
# neighbour states worth a change; REACHABLE <-> STALE churns all the time
NOTABLE_NEIGH_STATES = frozenset({"FAILED", "INCOMPLETE"})


@dataclass(frozen=True)
class Change:
    """One difference. `change` is "added", "removed" or "changed"; `what` the kind of
    object (namespace, container, link, address, route, rule, table, chain, nfrule, sysctl,
    conntrack, neighbour); `netns` is the namespace's name, `subject` names the object within
    it; `detail` says what changed. `ids` are the snapshot ids to point at in the newer
    snapshot (the object, else its namespace; none when both are gone)."""

    change: str
    what: str
    netns: str
    subject: str
    detail: str = ""
    ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class SnapshotDiff:
    """Every change, and every rule or chain policy whose counters moved."""

    before: str
    after: str
    changes: tuple[Change, ...] = ()
    counters: tuple[Counted, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not self.changes


def _header(snapshot: Snapshot) -> str:
    h = snapshot.header
    return f"{h.hostname} at {h.captured_at}"


class _Side:
    """One snapshot, through its host graph, with its objects keyed by names."""

    def __init__(self, snapshot: Snapshot, keep: set[str] | None = None) -> None:
        self.snapshot = snapshot
        self.graph = HostGraph.of(snapshot)
        self.ns_ids = {ns.name: ns.id for ns in snapshot.namespaces}
        self.keep = keep

    def items(self, field: str) -> list:
        """The snapshot's objects of `field` in the namespaces compared (all, or only those
        whose objects are not the same on both sides: see `_differing_namespaces`)."""
        if self.keep is None:
            return getattr(self.snapshot, field, ())
        if field == "conntrack":
            return [t for ns in sorted(self.keep) if (t := self.graph.conntrack_in(ns))]
        per_ns = getattr(self.graph, _PER_NS[field])
        return [x for ns in sorted(self.keep) for x in per_ns(ns)]

    def ns(self, ns_id: str | None) -> str:
        return self.graph.ns_name(ns_id) if ns_id else "?"

    def link_name(self, link_id: str | None) -> str | None:
        if link_id is None:
            return None
        link = self.graph.links.get(link_id)
        return link.name if link else link_id

    def link_where(self, link_id: str | None) -> str | None:
        """"<ns>:<dev>" for a link that may be in another namespace."""
        return self.graph.link_label(link_id) if link_id is not None else None

    def ids(self, ns_name: str, device: str | None = None) -> tuple[str, ...]:
        """The ids to point at for a namespace (and a device in it) known by name here."""
        ns_id = self.ns_ids.get(ns_name)
        if ns_id is None:
            return ()
        link = self.graph.link_named(ns_id, device) if device else None
        return (link.id, ns_id) if link is not None else (ns_id,)


def _compare_fields(before: dict, after: dict) -> str:
    """"mtu 1500 -> 1400, state UP -> DOWN" for the keys whose values differ."""
    parts = []
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key), after.get(key)
        if old != new:
            parts.append(f"{key} {old if old is not None else '-'} -> "
                         f"{new if new is not None else '-'}")
    return ", ".join(parts)


def _link_view(side: _Side, link) -> dict:
    # link_state says UP/<operstate> when it is up but not running: operstate is in it
    view = {"kind": link.kind, "state": link_state(link),
            "mtu": link.mtu, "mac": link.mac, "master": side.link_name(link.master),
            "peer": side.link_where(link.peer.link) if link.peer else None,
            "parent": side.link_where(link.parent), "alias": link.alias,
            "port state": link.bridge_port.state if link.bridge_port else None}
    view.update({f"{k}": v for k, v in sorted(link.details.items())})
    view.update({f"sysctl {k}": v for k, v in sorted(link.sysctls.items())})
    return view


def _keyed(items, key) -> dict:
    return {key(x): x for x in items}


def _namespace_changes(a: _Side, b: _Side) -> list[Change]:
    out = []
    names_a = {ns.name: ns for ns in a.snapshot.namespaces}
    names_b = {ns.name: ns for ns in b.snapshot.namespaces}
    for name in names_a.keys() - names_b.keys():
        out.append(Change("removed", "namespace", name, name))
    for name in names_b.keys() - names_a.keys():
        out.append(Change("added", "namespace", name, name, ids=b.ids(name)))
    for name in names_a.keys() & names_b.keys():
        if a.keep is not None and names_a[name].id not in a.keep:
            continue  # the same namespace object on both sides
        sa, sb = names_a[name].sysctls, names_b[name].sysctls
        for key in sorted((sa.keys() | sb.keys()) - VOLATILE_SYSCTLS):
            if sa.get(key) != sb.get(key):
                kind = "changed" if key in sa and key in sb else (
                    "added" if key in sb else "removed")
                out.append(Change(kind, "sysctl", name, key,
                                  f"{sa.get(key, '-')} -> {sb.get(key, '-')}", b.ids(name)))
    return out


def _container_changes(a: _Side, b: _Side) -> list[Change]:
    out = []
    ca, cb = _keyed(a.snapshot.containers, lambda c: c.name), _keyed(b.snapshot.containers,
                                                                      lambda c: c.name)
    for name in sorted(ca.keys() - cb.keys()):
        ns = a.ns(ca[name].netns)
        out.append(Change("removed", "container", ns, name, f"{ca[name].image}", b.ids(ns)))
    for name in sorted(cb.keys() - ca.keys()):
        ns = b.ns(cb[name].netns)
        out.append(Change("added", "container", ns, name, f"{cb[name].image}", b.ids(ns)))
    for name in sorted(ca.keys() & cb.keys()):
        x, y = ca[name], cb[name]
        detail = _compare_fields(
            {"image": x.image, "id": x.container_id[:12], "network mode": x.network_mode,
             "networks": " ".join(x.networks), "ports": " ".join(x.ports)},
            {"image": y.image, "id": y.container_id[:12], "network mode": y.network_mode,
             "networks": " ".join(y.networks), "ports": " ".join(y.ports)})
        if detail:
            out.append(Change("changed", "container", b.ns(y.netns), name, detail,
                              b.ids(b.ns(y.netns))))
    return out


def _link_changes(a: _Side, b: _Side) -> list[Change]:
    out = []
    la = _keyed(a.items("links"), lambda x: (a.ns(x.netns), x.name))
    lb = _keyed(b.items("links"), lambda x: (b.ns(x.netns), x.name))
    for key in sorted(la.keys() - lb.keys()):
        out.append(Change("removed", "link", key[0], key[1], f"{la[key].kind}",
                          b.ids(key[0])))
    for key in sorted(lb.keys() - la.keys()):
        out.append(Change("added", "link", key[0], key[1],
                          f"{lb[key].kind}, {link_state(lb[key])}", b.ids(*key)))
    for key in sorted(la.keys() & lb.keys()):
        if la[key] is lb[key] or la[key] == lb[key]:
            continue  # ids included: the same link, its peer and master too
        detail = _compare_fields(_link_view(a, la[key]), _link_view(b, lb[key]))
        if detail:
            out.append(Change("changed", "link", key[0], key[1], detail, b.ids(*key)))
    return out


def _address_changes(a: _Side, b: _Side) -> list[Change]:
    def keys(side: _Side) -> set[tuple[str, str, str]]:
        return {(side.ns(x.netns), side.link_name(x.link) or "?", x.cidr)
                for x in side.items("addresses")}

    ka, kb = keys(a), keys(b)
    return ([Change("removed", "address", ns, f"{cidr} on {dev}", ids=b.ids(ns, dev))
             for ns, dev, cidr in sorted(ka - kb)]
            + [Change("added", "address", ns, f"{cidr} on {dev}", ids=b.ids(ns, dev))
               for ns, dev, cidr in sorted(kb - ka)])


def _route_changes(a: _Side, b: _Side, shown_only: bool = False) -> list[Change]:
    def routes(side: _Side) -> dict[tuple, list]:
        out: dict[tuple, list] = {}
        for r in side.items("routes"):
            if shown_only and not route_shown(r):
                continue
            key = (side.ns(r.netns), r.family, r.table, r.type, r.dst, r.metric, r.tos)
            out.setdefault(key, []).append(r)
        return out

    def same(x: list, y: list, side_x: _Side, side_y: _Side) -> bool:
        """Cheap first: what ip route prints, with devices by name (ids change when a
        namespace is re-created); the text is made only for routes that differ."""
        def form(rs, side):
            return sorted((tuple((h.gateway, side.link_name(h.link), h.weight)
                                 for h in r.nexthops), r.protocol, r.scope, r.prefsrc)
                          for r in rs)
        return form(x, side_x) == form(y, side_y)

    ra, rb = routes(a), routes(b)
    out = []
    for key in sorted(ra.keys() | rb.keys(), key=str):
        if key in ra and key in rb and same(ra[key], rb[key], a, b):
            continue
        old = Counter(route_text(r, a.graph) for r in ra.get(key, ()))
        new = Counter(route_text(r, b.graph) for r in rb.get(key, ()))
        ids = b.ids(key[0])
        table = "" if key[2] in (254, 255) else f" (table {key[2]})"
        if old and new and old != new and sum(old.values()) == sum(new.values()) == 1:
            out.append(Change("changed", "route", key[0], f"{key[4]}{table}",
                              f"{next(iter(old))} -> {next(iter(new))}", ids))
            continue
        out += [Change("removed", "route", key[0], t, ids=ids) for t in sorted(old - new)]
        out += [Change("added", "route", key[0], t, ids=ids) for t in sorted(new - old)]
    return out


def _rule_text(r) -> str:
    parts = [f"{r.priority}:", "not" if r.invert else "",
             f"from {r.src or 'all'}", f"to {r.dst}" if r.dst else "",
             f"iif {r.iif}" if r.iif else "", f"oif {r.oif}" if r.oif else "",
             f"fwmark {r.fwmark:#x}" + (f"/{r.fwmask:#x}" if r.fwmask else "")
             if r.fwmark else "",
             f"lookup {r.table}" if r.action == "lookup" else r.action]
    return " ".join(p for p in parts if p)


def _policy_rule_changes(a: _Side, b: _Side) -> list[Change]:
    def texts(side: _Side) -> Counter:
        return Counter((side.ns(r.netns), r.family, _rule_text(r)) for r in side.items("rules"))

    ta, tb = texts(a), texts(b)
    return ([Change("removed", "rule", ns, f"{fam} {t}", ids=b.ids(ns))
             for ns, fam, t in sorted(ta - tb)]
            + [Change("added", "rule", ns, f"{fam} {t}", ids=b.ids(ns))
               for ns, fam, t in sorted(tb - ta)])


def _conntrack_changes(a: _Side, b: _Side) -> list[Change]:
    ca = {a.ns(t.netns): t for t in a.items("conntrack")}
    cb = {b.ns(t.netns): t for t in b.items("conntrack")}
    out = []
    for ns in sorted(ca.keys() & cb.keys()):
        if ca[ns].active != cb[ns].active:
            state = {True: "active", False: "inactive"}
            out.append(Change("changed", "conntrack", ns, "conntrack",
                              f"{state[ca[ns].active]} -> {state[cb[ns].active]}", b.ids(ns)))
    return out


def _neighbour_changes(a: _Side, b: _Side) -> list[Change]:
    """Neighbours that became FAILED or INCOMPLETE (their REACHABLE/STALE churn left out)."""
    def notable(side: _Side) -> dict[tuple, frozenset[str]]:
        return {(side.ns(n.netns), side.link_name(n.link) or "?", n.address):
                frozenset(n.state) & NOTABLE_NEIGH_STATES for n in side.items("neighbours")}

    was, now = notable(a), notable(b)
    out = []
    for (ns, dev, address), states in sorted(now.items()):
        if states and not (was.get((ns, dev, address), frozenset()) & states):
            out.append(Change("changed", "neighbour", ns, f"{address} on {dev}",
                              "/".join(sorted(states)), b.ids(ns, dev)))
    return out


def _collapse_whole_namespaces(changes: list[Change]) -> list[Change]:
    """A namespace that appeared or vanished is one change that counts what it held, not one
    change per link, address and route inside it."""
    whole = {c.netns: c for c in changes if c.what == "namespace"}
    held: dict[str, Counter] = {}
    out = []
    for c in changes:
        if c.netns in whole and c.what != "namespace":
            held.setdefault(c.netns, Counter())[c.what] += 1
        else:
            out.append(c)
    for i, c in enumerate(out):
        if c.what == "namespace" and held.get(c.netns):
            counts = ", ".join(f"{n} {what}{'es' if what == 'address' and n > 1 else ''}"
                               f"{'s' if what != 'address' and n > 1 else ''}"
                               for what, n in held[c.netns].items())
            verb = "held" if c.change == "removed" else "holds"
            out[i] = Change(c.change, c.what, c.netns, c.subject, f"{verb} {counts}", c.ids)
    return out


def _differing_namespaces(before: Snapshot, after: Snapshot,
                          touched: frozenset[str] | None = None) -> tuple[set[str], set[str]]:
    """Ids of the namespaces (before's, after's) to compare object by object: those whose
    namespace or per-namespace objects are not the same (the TUI's live updates carry the
    objects of untouched namespaces over as they were: mostly an identity check), and the
    namespaces of the same names on the other side. `touched`: the only namespaces whose
    objects may differ (the TUI's partial re-reads say so), when known."""
    ga, gb = HostGraph.of(before), HostGraph.of(after)

    def same(xa, xb) -> bool:
        return len(xa) == len(xb) and all(x is y or x == y
                                          for x, y in zip(xa, xb, strict=True))

    # namespaces holding an object the other side does not hold (by identity, cheaply)
    candidates = {ns for ns in ga.namespaces.keys() | gb.namespaces.keys()
                  if ga.namespaces.get(ns) != gb.namespaces.get(ns)}
    for name in (*_PER_NS, "tables", "conntrack") if touched is None else ():
        xa, xb = getattr(before, name, ()), getattr(after, name, ())
        ia, ib = set(map(id, xa)), set(map(id, xb))
        candidates.update(x.netns for x in xa if id(x) not in ib)
        candidates.update(x.netns for x in xb if id(x) not in ia)
    candidates |= touched or set()
    changed = set()
    for ns in candidates:
        if ga.namespaces.get(ns) != gb.namespaces.get(ns) or not all(
                same(getattr(ga, f)(ns), getattr(gb, f)(ns)) for f in _PER_NS.values()) \
                or not same(ga.tables_in(ns), gb.tables_in(ns)) \
                or ga.conntrack_in(ns) != gb.conntrack_in(ns):
            changed.add(ns)
    names = {ga.ns_name(i) for i in changed if i in ga.namespaces} | {
        gb.ns_name(i) for i in changed if i in gb.namespaces}
    return ({i for i, ns in ga.namespaces.items() if ns.name in names},
            {i for i, ns in gb.namespaces.items() if ns.name in names})


def diff_snapshots(before: Snapshot, after: Snapshot, live: bool = False,
                   touched: frozenset[str] | None = None) -> SnapshotDiff:
    """Every difference between two snapshots, by namespace (see the module docstring).

    `live` is for the TUI's log of a host that changes under it: also neighbours that newly
    FAILED or are INCOMPLETE, and not the routes `netscope show` leaves out (the local table,
    kernel-made IPv6 routes: they come and go with every address). `touched`: the ids of the
    only namespaces whose objects can differ, when the caller knows (a partial re-read)."""
    keep_a, keep_b = _differing_namespaces(before, after, touched)
    a, b = _Side(before, keep_a), _Side(after, keep_b)
    changes = (_namespace_changes(a, b) + _container_changes(a, b) + _link_changes(a, b)
               + _address_changes(a, b) + _route_changes(a, b, shown_only=live)
               + _policy_rule_changes(a, b)
               + _conntrack_changes(a, b))
    if live:
        changes += _neighbour_changes(a, b)
    nf_changes, counted = netfilter_changes(
        SimpleNamespace(tables=[t for t in before.tables if t.netns in keep_a]),
        SimpleNamespace(tables=[t for t in after.tables if t.netns in keep_b]), a.ns, b.ns)
    changes += [Change(*c, ids=b.ids(c[2])) for c in nf_changes]
    changes = _collapse_whole_namespaces(changes)
    order = {"namespace": 0, "container": 1, "sysctl": 2, "link": 3, "address": 4, "route": 5,
             "rule": 6, "table": 7, "chain": 8, "nfrule": 9, "conntrack": 10, "neighbour": 11}
    changes.sort(key=lambda c: (c.netns != "host", c.netns, order.get(c.what, 99)))
    return SnapshotDiff(_header(before), _header(after), tuple(changes), tuple(counted))
