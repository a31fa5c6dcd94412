"""stale_netns: a namespace nothing uses any more."""

from __future__ import annotations

from netscope.analysis.doctor.finding import Check, where
from netscope.graph.host import HostGraph


def run(graph: HostGraph):
    running = {c.netns for c in graph.snapshot.containers}
    # when Docker did not answer, netscope cannot tell which sandboxes are in use (its
    # collector was called "containers" in snapshots from before other runtimes were read)
    docker_answered = not any(e.collector in ("docker", "containers")
                              for e in graph.snapshot.errors)
    for ns in graph.snapshot.namespaces:
        if ns.is_self or any(o.kind == "proc" for o in ns.origins):
            continue
        links = [lk for lk in graph.links_in(ns.id) if lk.kind != "loopback"]
        is_docker = any(o.kind == "docker" for o in ns.origins)
        if is_docker and docker_answered and ns.id not in running:
            yield CHECK.finding(where(graph, ns.id),
                                f"{ns.name} is a Docker sandbox no running container uses",
                                evidence=(ns.id,), subject=ns.id)
        elif not is_docker and not links:
            yield CHECK.finding(where(graph, ns.id),
                                f"{ns.name} holds no process and no interface but lo",
                                evidence=(ns.id,), subject=ns.id, severity="info")


CHECK = Check(
    id="stale_netns", severity="warning", title="a namespace no process uses",
    explain="A network namespace lives while a process, a bind mount (/run/netns) or an open "
            "file holds it. One that no process runs in and that carries no interfaces is "
            "usually left over from a crashed container or tool; it costs little but clutters "
            "every graph. netscope does not delete namespaces for you.",
    run=run)
