"""Re-read only the namespaces that reported changes, and merge them into the last snapshot.

UI-free. A whole-host collection grows with every namespace and every ruleset on the host
(0.5-1.5 s measured on a shared machine with 400 namespaces and netfilter collectors), so a
change in one namespace re-reads that namespace alone. Veth peers outside the re-read set
keep the pairing the last full collection resolved. The live feed follows a burst of partial
refreshes with one full collection once the host has been quiet for a moment.

This uses the runner's per-namespace visit (`visit_namespaces`); when something cannot be
merged, `refresh_namespaces` returns None and the caller collects fully.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import fields, replace

from netscope.model import CollectorError, Snapshot, ns_id


@functools.cache
def per_namespace() -> tuple[str, ...]:
    """Snapshot fields whose objects each belong to one namespace (have `netns`): those the
    namespace collectors fill. Asked of the registry, not listed here: a hand list missed
    two collectors added later (BPF programs, leftovers), and every partial refresh then
    fell back to reading the whole host."""
    from netscope.collect.registry import NAMESPACE_COLLECTORS

    names = {f.name for f in fields(Snapshot)}
    return tuple(c.field for c in NAMESPACE_COLLECTORS if c.field in names)

# what a notification of each kind can change, by Snapshot field (links before the FDB,
# whose collector reads them: re-read alone, it is given the links read before); policy
# rules send no notification
KIND_FIELDS = {"link": ("links", "fdb"), "address": ("addresses",), "route": ("routes",),
               "neighbour": ("neighbours",), "fdb": ("fdb",)}


def _keep_known_peers(links: list, previous: Snapshot) -> list:
    """A re-read link whose peer is outside the re-read set keeps the peer resolved before."""
    old = {x.id: x for x in previous.links}
    out = []
    for link in links:
        before = old.get(link.id)
        if (link.peer is not None and link.peer.link is None and before is not None
                and before.peer is not None and before.peer.ifindex == link.peer.ifindex):
            link = replace(link, peer=before.peer)
        out.append(link)
    return out


def refresh_namespaces(previous: Snapshot, inodes: set[int]) -> Snapshot | None:
    """`previous` with the namespaces `inodes` read again, namespaces that appeared read for
    the first time and those that are gone dropped; None when only a full collection can
    answer (the runner cannot visit a subset, or the snapshot has fields it cannot merge)."""
    from netscope.collect import runner
    from netscope.host import netns
    from netscope.model import Namespace

    names = {f.name for f in fields(Snapshot)}
    per_ns = per_namespace()
    if not set(per_ns) >= (names - {"header", "namespaces", "containers", "pods",
                                    "cni_networks", "cni_allocations", "errors"}):
        return None
    found = netns.discover()
    known = {ns.inode for ns in previous.namespaces}
    new = set(found) - known
    read = (inodes & set(found)) | new
    objects: dict[str, list] = defaultdict(list)
    errors: list[CollectorError] = []
    sysctls = runner.visit_namespaces({i: found[i] for i in read}, objects, errors)
    replaced = {ns_id(i) for i in read} | {ns_id(i) for i in known - set(found)}
    merged = {}
    for name in per_ns:
        kept = [x for x in getattr(previous, name) if x.netns not in replaced]
        fresh = objects.get(name, [])
        if name == "links":
            fresh = _keep_known_peers(fresh, previous)
        merged[name] = tuple(kept + list(fresh))
    containers, pods = list(previous.containers), list(previous.pods)
    namespaces = [replace(ns, sysctls=sysctls.get(ns.inode, ns.sysctls))
                  for ns in previous.namespaces if ns.inode in found]
    namespaces += [Namespace(id=ns_id(i), inode=i,
                             name=runner.namespace_name(found[i], containers, pods),
                             origins=runner.namespace_origins(found[i]), is_self=found[i].is_self,
                             sysctls=sysctls[i]) for i in sorted(new) if i in sysctls]
    kept_errors = tuple(e for e in previous.errors if e.netns not in replaced)
    return replace(previous, namespaces=tuple(namespaces), errors=kept_errors + tuple(errors),
                   **merged)


def _as_found(previous: Snapshot, inodes: set[int]):
    """The namespaces `inodes` as `previous` found them (their paths), without walking /proc
    and /run/netns again (~30 ms at 1,000 namespaces); None when one is not in it."""
    from netscope.host import netns

    if not inodes <= {ns.inode for ns in previous.namespaces}:
        return None
    out = {}
    for ns in previous.namespaces:  # in the snapshot's order: objects are read in it
        if ns.inode not in inodes:
            continue
        inode = ns.inode
        found = netns.FoundNamespace(inode, is_self=ns.is_self)
        for origin in ns.origins:
            if origin.kind == "named":
                found.named.append(origin.path.rsplit("/", 1)[-1])
            elif origin.kind == "docker":
                found.docker.append(origin.path.rsplit("/", 1)[-1])
            elif origin.kind == "proc" and origin.pid is not None:
                found.pids.append((origin.pid, origin.comm or ""))
        out[inode] = found
    return out


def _links_by_ns(snapshot: Snapshot, only: set[str] | None = None) -> dict[str, list]:
    """The snapshot's links by namespace id (of `only` those): one pass over the links, for
    the readers here that run beside the app building its graph (HostGraph.of would build a
    second one: 16-65 ms at 1,000 namespaces)."""
    out: dict[str, list] = defaultdict(list)
    for link in snapshot.links:
        if only is None or link.netns in only:
            out[link.netns].append(link)
    return out


def refresh_kinds(previous: Snapshot, inodes: set[int], kinds: set[str],
                  links: dict[int, set[int]] | None = None) -> Snapshot | None:
    """`previous` with only what notifications of `kinds` can change (KIND_FIELDS) read
    again in the namespaces `inodes`: a link going down in a namespace of a thousand veths
    re-reads its links, not its routes, FDB-less neighbours, rulesets and sockets; with
    `links` (inode -> the ifindexes notified), only those links there. None when a kind
    has no such fields, a namespace is new or gone, or the read failed: the caller re-reads
    whole namespaces then."""
    from netscope.collect import runner
    from netscope.collect.registry import NAMESPACE_COLLECTORS

    if not kinds or kinds - KIND_FIELDS.keys():
        return None
    wanted = {f for kind in kinds for f in KIND_FIELDS[kind]}
    found = _as_found(previous, inodes)
    if found is None:
        return None
    collectors = [c for c in NAMESPACE_COLLECTORS if c.field in wanted]
    if links:
        from netscope.collect.links import ChangedLinksCollector

        by_ns = _links_by_ns(previous, {ns_id(i) for i in links})
        before = {i: by_ns.get(ns_id(i), []) for i in links}
        collectors = [ChangedLinksCollector(before, links) if c.field == "links" else c
                      for c in collectors]
    seed = None
    if "fdb" in wanted and "links" not in wanted:
        kept = _links_by_ns(previous, {ns_id(i) for i in inodes})

        def seed(inode: int) -> dict[str, list]:
            return {"links": kept.get(ns_id(inode), [])}
    objects: dict[str, list] = defaultdict(list)
    errors: list[CollectorError] = []
    runner.visit_namespaces(found, objects, errors, collectors, read_sysctls=False, seed=seed)
    if errors:
        return None
    replaced = {ns_id(i) for i in inodes}
    merged = {}
    for name in wanted:
        fresh = objects.get(name, [])
        if name == "links":
            fresh = _keep_known_peers(fresh, previous)
        merged[name] = tuple([x for x in getattr(previous, name) if x.netns not in replaced]
                             + list(fresh))
    return replace(previous, **merged)


def refresh_neighbours(previous: Snapshot, inodes: set[int]) -> Snapshot | None:
    """`previous` with the neighbour tables of namespaces `inodes` read again (nothing else:
    one dump each, so any number of namespaces); None when one of them is gone or new, or the
    read failed, and only a refresh of whole namespaces can answer."""
    return refresh_kinds(previous, inodes, {"neighbour"})


# What the TUI's first screen needs (the tree, the topology, the first detail tabs of the
# selected namespace). The rest (netfilter, conntrack, sockets, eBPF programs, DNS,
# leftovers: about 40% of a collection) is read right after, by complete_snapshot: at 1,000
# namespaces the screen shows ~0.4 s sooner.
FIRST_SCREEN = ("links", "addresses", "routes", "rules", "neighbours", "fdb", "sysctls")


def first_screen_snapshot() -> Snapshot:
    """The host read by the FIRST_SCREEN collectors only (its header lists them)."""
    from netscope.collect.runner import collect_snapshot

    return collect_snapshot(only=FIRST_SCREEN)


def _not_run(snapshot: Snapshot) -> list:
    """The namespace collectors that can run here and did not run for `snapshot`."""
    from netscope.collect import runner

    return [c for c in runner.runnable_collectors([])
            if c.name not in snapshot.header.collectors]


def still_to_read(snapshot: Snapshot) -> tuple[str, ...]:
    """The names of the namespace collectors that can run here and did not run for
    `snapshot`."""
    return tuple(c.name for c in _not_run(snapshot))


def complete_snapshot(first: Snapshot) -> Snapshot | None:
    """`first` with every namespace collector that did not run for it read in each of its
    namespaces (those collectors see the links `first` holds, as if they had run in the
    same visit); None when a namespace cannot be found again: the caller reads the whole
    host then."""
    import time

    from netscope.collect import runner
    from netscope.collect.registry import NAMESPACE_COLLECTORS

    started = time.perf_counter()
    collectors = _not_run(first)
    if not collectors:
        return first
    found = _as_found(first, {ns.inode for ns in first.namespaces})
    if found is None:
        return None
    # grouped here, not asked of HostGraph.of(first): this runs beside the app building
    # that graph for the first screen, and a second build costs 16-65 ms at 1,000
    # namespaces (measured) where this is one pass over the links
    links = _links_by_ns(first)
    objects: dict[str, list] = defaultdict(list)
    errors: list[CollectorError] = []
    runner.visit_namespaces(found, objects, errors, collectors, read_sysctls=False,
                            seed=lambda inode: {"links": links.get(ns_id(inode), [])})
    merged = {c.field: tuple(getattr(first, c.field)) + tuple(objects.get(c.field, ()))
              for c in collectors}
    ran = set(first.header.collectors) | {c.name for c in collectors}
    names = [c.name for c in NAMESPACE_COLLECTORS if c.name in ran]
    names += [n for n in first.header.collectors if n not in names]
    header = replace(first.header, collectors=tuple(names), duration_ms=round(
        first.header.duration_ms + (time.perf_counter() - started) * 1000, 1))
    return replace(first, header=header, errors=first.errors + tuple(errors), **merged)
