"""Collect a whole host: enter each namespace once, run every collector, resolve peers."""

from __future__ import annotations

import concurrent.futures
import datetime
import itertools
import os
import socket
import time
from collections import defaultdict
from collections.abc import Callable, Iterable

from netscope import __version__
from netscope.collect.base import HostContext, NamespaceCollector, NsContext, gc_paused
from netscope.collect.links import resolve_peers
from netscope.collect.privileges import require_capabilities
from netscope.collect.registry import HOST_COLLECTORS, NAMESPACE_COLLECTORS
from netscope.collect.workloads import merge_workloads
from netscope.host import netns, rtnl
from netscope.host.errors import NamespaceGone
from netscope.host.netlink import RtnlSocket
from netscope.model import (
    CollectorError,
    Container,
    Header,
    Namespace,
    NsOrigin,
    Pod,
    Snapshot,
    ns_id,
)

Progress = Callable[[str], None]
# what earlier collectors found in a namespace, by Snapshot field, given its inode
Seed = Callable[[int], dict[str, list]]
# threads that visit namespaces. Measured at 200 namespaces on 2 idle cores: 1 thread 240 ms,
# 2 threads 256 ms (parsing holds the GIL longer than the kernel's dump work takes): one.
VISITORS = 1


class _Opened:
    """The fd and rtnetlink socket of every namespace read, kept for nsid questions."""

    def __init__(self) -> None:
        self.fds: dict[int, int] = {}
        self.socks: dict[int, RtnlSocket] = {}
        self.nsids: dict[int, dict[int, int]] = defaultdict(dict)
        self.asked: dict[int, set[int]] = defaultdict(set)

    def nsid_to_inode(self, observer: int, nsid: int, likely: list[int]) -> int | None:
        known = self.nsids[observer]
        if nsid in known:
            return known[nsid]
        sock = self.socks.get(observer)
        if sock is None:
            return None
        others = (i for i in self.fds if i not in likely)
        for candidate in itertools.chain(likely, others):
            if candidate == observer or candidate in self.asked[observer]:
                continue
            self.asked[observer].add(candidate)
            got = rtnl.get_nsid(sock, self.fds[candidate])
            if got is not None:
                known[got] = candidate
                if got == nsid:
                    return candidate
        return None

    def close(self) -> None:
        for s in self.socks.values():
            s.close()
        for fd in self.fds.values():
            os.close(fd)


def namespace_origins(found: netns.FoundNamespace) -> tuple[NsOrigin, ...]:
    out = []
    if found.is_self:
        out.append(NsOrigin("self", "/proc/self/ns/net"))
    out += [NsOrigin("named", f"{netns.NAMED_DIR}/{n}") for n in found.named]
    out += [NsOrigin("docker", f"{netns.DOCKER_DIR}/{n}") for n in found.docker]
    out += [NsOrigin("proc", f"/proc/{pid}/ns/net", pid, comm) for pid, comm in found.pids]
    return tuple(out)


def namespace_name(found: netns.FoundNamespace, containers: list[Container],
                   pods: list[Pod] = ()) -> str:
    """The best human name: host, a pod's (`namespace/pod` for Kubernetes), a container's,
    the ip-netns name, docker/<id>, comm[pid]."""
    here = ns_id(found.inode)
    if found.is_self:
        return "host"
    pod_names = [p.display_name for p in pods if p.netns == here]
    if pod_names:
        return pod_names[0]
    # a container that joined another's namespace does not name it
    names = [c.name for c in containers
             if c.netns == here and not c.shares_netns_with and not c.infra]
    if names:
        return names[0]
    if found.named:
        return found.named[0]
    if found.docker:
        return f"docker/{found.docker[0]}"
    if found.pids:
        pid, comm = found.pids[0]
        return f"{comm}[{pid}]"
    return f"netns {found.inode}"


def _collect_namespace(ctx: NsContext, collectors: list[NamespaceCollector],
                       objects: dict[str, list], errors: list[CollectorError]) -> None:
    for collector in collectors:
        try:
            found = collector.collect(ctx)
        except OSError as e:
            errors.append(CollectorError(collector.name, str(e), ctx.netns))
            continue
        except Exception as e:  # a bug in one collector must not cost the whole snapshot
            errors.append(CollectorError(
                collector.name, f"internal error ({type(e).__name__}: {e}): a bug in "
                "netscope; the rest of the snapshot is complete", ctx.netns))
            continue
        ctx.results[collector.field] = found
        objects[collector.field].extend(found)


def runnable_collectors(errors: list[CollectorError]) -> list[NamespaceCollector]:
    """The registered collectors that can run here; each one that cannot is an error."""
    collectors = []
    for collector in NAMESPACE_COLLECTORS:
        reason = collector.can_run()
        if reason is None:
            collectors.append(collector)
        else:
            errors.append(CollectorError(collector.name, f"not collected: {reason}"))
    return collectors


def visit_namespaces(found: dict[int, netns.FoundNamespace], objects: dict[str, list],
                     errors: list[CollectorError],
                     collectors: list[NamespaceCollector] | None = None,
                     connections: bool = False, read_sysctls: bool = True,
                     seed: Seed | None = None) -> dict[int, dict[str, str]]:
    """Read the namespaces `found` (all, or a subset) and resolve veth peers among them.

    Namespaces are entered by VISITORS worker threads, each going from one namespace
    straight to the next and home at the end; never by the calling thread:
    /proc/<pid>/ns/net shows the main thread's namespace, and tools that stop "every process
    in namespace X" (`ip netns pids X | xargs kill`) must never find netscope there while it
    visits. Objects go to `objects` by Snapshot field, in `found` order; returns the
    namespace-wide sysctls by inode (with `read_sysctls`; else they are not read and every
    namespace gets {}). `connections`: also read every namespace's TCP connections.
    `seed`: what earlier collectors found in a namespace (by inode), for collectors that
    read it (ctx.results, ctx.links) when those collectors do not run again."""
    if collectors is None:
        collectors = runnable_collectors(errors)
    for collector in collectors:
        begin = getattr(collector, "begin", None)
        if begin is not None:
            begin()
    opened = _Opened()
    home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    items = list(found.items())
    chunks = [items[i::VISITORS] for i in range(VISITORS)]
    # Hundreds of thousands of acyclic objects are made here: cyclic GC passes over them
    # would cost ~10%. One pause for the whole visit: the first collection after a pause
    # walks every object made during it (~40 ms at 1,000 namespaces); two pauses, two walks.
    try:
        with gc_paused():
            with concurrent.futures.ThreadPoolExecutor(
                    VISITORS, thread_name_prefix="netscope-netns") as pool:
                done = pool.map(lambda chunk: _visit_chunk(chunk, collectors, opened, home,
                                                           connections, read_sysctls, seed),
                                chunks)
                visits = {inode: visit for chunk in done for inode, visit in chunk.items()}
            sysctls = {}
            for inode, _ in items:
                found_objects, found_errors, ns_sysctls = visits[inode]
                for field, got in found_objects.items():
                    objects[field].extend(got)
                errors.extend(found_errors)
                if ns_sysctls is not None:
                    sysctls[inode] = ns_sysctls
            objects["links"] = resolve_peers(objects["links"], opened.nsid_to_inode)
            for collector in collectors:
                finish = getattr(collector, "finish", None)
                if finish is not None:
                    objects[collector.field] = finish(objects[collector.field])
    finally:
        opened.close()
        os.close(home)
    return sysctls


def _visit_chunk(items: list[tuple[int, netns.FoundNamespace]],
                 collectors: list[NamespaceCollector], opened: _Opened, home: int,
                 connections: bool, read_sysctls: bool, seed: Seed | None = None) -> dict:
    """{inode: (objects by field, errors, sysctls or None when the namespace is gone)}."""
    out = {}
    try:
        for inode, ns in items:
            out[inode] = _visit_one(inode, ns, collectors, opened, connections, read_sysctls,
                                    seed)
    finally:
        netns.setns(home)
    return out


def _visit_one(inode: int, ns: netns.FoundNamespace, collectors: list[NamespaceCollector],
               opened: _Opened, connections: bool = False, read_sysctls: bool = True,
               seed: Seed | None = None):
    objects: dict[str, list] = defaultdict(list)
    errors: list[CollectorError] = []
    try:
        fd = netns.open_ns(ns)
    except NamespaceGone as e:
        return objects, [CollectorError("netns", str(e), ns_id(inode))], None
    opened.fds[inode] = fd
    netns.setns(fd)
    sock = opened.socks[inode] = RtnlSocket()
    ctx = NsContext(inode, fd, sock, connections=connections)
    if seed is not None:
        ctx.results.update(seed(inode))
        ctx.links.update({x.ifindex: x.id for x in ctx.results.get("links", ())})
    try:
        _collect_namespace(ctx, collectors, objects, errors)
    finally:
        ctx.close()
    # the sysctl collector's one dict is the namespace's, not a Snapshot field's
    sysctls = (objects.pop("sysctls", None) or [{}])[0]
    return objects, errors, sysctls


def run_host_collectors(ctx: HostContext) -> list[str]:
    """Run every registered host collector that can run, in order, adding its objects to
    `ctx.objects`; the names of those that ran. One that fails costs only its own part."""
    ran = []
    for collector in HOST_COLLECTORS:
        reason = collector.can_run()
        if reason is not None:
            ctx.error(collector.name, f"not collected: {reason}")
            continue
        try:
            found = collector.collect(ctx)
        except Exception as e:  # a bug in one runtime's reader must not cost the snapshot
            ctx.error(collector.name, f"internal error ({type(e).__name__}: {e}): a bug in "
                      "netscope; the rest of the snapshot is complete")
            continue
        for field, items in found.items():
            ctx.objects[field].extend(items)
        ran.append(collector.name)
    return ran


def collect_snapshot(progress: Progress | None = None, note: str | None = None,
                     connections: bool = False, only: Iterable[str] | None = None
                     ) -> Snapshot:
    """Read the whole host (with `connections`, every namespace's TCP connections too;
    with `only`, just those namespace collectors, by name: the header lists what ran).
    Raises HostError when privileges are missing."""
    started = time.perf_counter()
    require_capabilities()
    found = netns.discover()
    if progress:
        progress(f"found {len(found)} network namespaces")
    errors: list[CollectorError] = []
    objects: dict[str, list] = defaultdict(list)
    collectors = runnable_collectors(errors)
    if only is not None:
        wanted = set(only)
        collectors = [c for c in collectors if c.name in wanted]
    sysctls = visit_namespaces(found, objects, errors, collectors, connections)
    self_inode = next(i for i, f in found.items() if f.is_self)
    host_ran = run_host_collectors(HostContext(self_inode, objects, errors))
    containers, pods = merge_workloads(objects.pop("containers", []), objects.pop("pods", []))

    namespaces = tuple(
        Namespace(id=ns_id(inode), inode=inode, name=namespace_name(f, containers, pods),
                  origins=namespace_origins(f), is_self=f.is_self, sysctls=sysctls[inode])
        for inode, f in found.items() if inode in sysctls
    )
    header = Header(
        netscope_version=__version__,
        kernel=os.uname().release,
        hostname=socket.gethostname(),
        captured_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
        note=note,
        collectors=tuple(c.name for c in collectors) + tuple(host_ran),
    )
    return Snapshot(
        header=header,
        namespaces=namespaces,
        containers=tuple(containers),
        pods=tuple(pods),
        errors=tuple(errors),
        **{field: tuple(items) for field, items in objects.items()},
    )
