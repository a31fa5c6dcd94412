"""reuseport_conflict: two programs in one namespace listen on the same port (SO_REUSEPORT),
typically two containers sharing a network namespace, and the kernel splits the port's
connections between them."""

from __future__ import annotations

from collections import defaultdict

from netscope.analysis.doctor.finding import Check, where
from netscope.graph.host import HostGraph
from netscope.model.sockets import Socket


def programs(sockets: list[Socket]) -> list[list[Socket]]:
    """The sockets grouped by the program holding them: two sockets are one program's when a
    process holds both, or one's holder is the parent of the other's (a master that made
    its workers' sockets). Sockets no process holds are left out (unknown)."""
    held = [s for s in sockets if s.processes]
    parent = list(range(len(held)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    pids = [{p.pid for p in s.processes} for s in held]
    ppids = [{p.ppid for p in s.processes} for s in held]
    for i in range(len(held)):
        for j in range(i + 1, len(held)):
            if pids[i] & pids[j] or pids[i] & ppids[j] or pids[j] & ppids[i]:
                parent[find(i)] = find(j)
    groups: dict[int, list[Socket]] = defaultdict(list)
    for i, s in enumerate(held):
        groups[find(i)].append(s)
    return list(groups.values())


def run(graph: HostGraph):
    for netns in graph.ns_order():
        same: dict[tuple, list[Socket]] = defaultdict(list)
        for s in graph.listeners(netns):
            same[(s.proto, s.family, s.local, s.local_port, s.link)].append(s)
        for (proto, _family, local, port, _link), sockets in sorted(same.items(),
                                                                   key=lambda x: x[0][3]):
            if len(sockets) < 2:
                continue
            groups = programs(sockets)
            if len(groups) < 2:
                continue
            owners = " and ".join(graph.socket_owner(g[0]) for g in groups)
            every = "both" if len(groups) == 2 else f"all {len(groups)}"
            host = f"[{local}]" if ":" in local else local
            yield CHECK.finding(
                where(graph, netns, f"{proto}/{port}"),
                f"{owners} {every} listen on {host}:{port} in {graph.ns_name(netns)} "
                "(SO_REUSEPORT): the kernel gives each new connection to one of them at "
                "random",
                evidence=tuple(s.id for s in sockets), subject=sockets[0].id)


CHECK = Check(
    id="reuseport_conflict", severity="warning",
    title="two programs share a port with SO_REUSEPORT",
    explain="With SO_REUSEPORT several sockets may listen on the same address and port; the "
            "kernel then spreads new connections over them by a hash of the client's address "
            "and port. That is how one program balances its own workers, but when two "
            "different programs do it (two containers sharing one network namespace, a "
            "sidecar and its app) each gets a random share of the other's clients: requests "
            "succeed or fail depending on where they land. Move one of them to another port. "
            "(During a zero-downtime restart the old and the new process overlap briefly: "
            "that resolves itself.)",
    run=run)
