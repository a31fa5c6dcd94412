"""Capture the snapshot fixtures in fixtures/ with netscope itself, from real networks.

    sudo .venv/bin/python -m tests.support.capture docker-like   # namespaces + bridge + NAT
    sudo .venv/bin/python -m tests.support.capture docker        # a real dockerd, 2 containers
    sudo .venv/bin/python -m tests.support.capture lab k8s-node  # a lab, after its checks

Only the namespace netscope runs in and the ones this script created are kept in the fixture
(other namespaces on the machine, and root-namespace veths leading to them, are left out).
The snapshot header's `note` records the command and topology.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import tempfile
import time
from pathlib import Path

from netscope.collect.runner import collect_snapshot
from netscope.model import Snapshot
from netscope.snapshot import save
from tests.support.netns import Namespaces, add_bridge, attach_container, ip, sh

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def keep_only(snapshot: Snapshot, keep_ns: set[str], keep_root_link: set[str],
              with_root: bool = True) -> Snapshot:
    """The snapshot restricted to `keep_ns` (and the namespace netscope ran in, unless not
    `with_root`); root-namespace links only if named in `keep_root_link` or not leading to a
    dropped namespace."""
    root = next(ns.id for ns in snapshot.namespaces if ns.is_self)
    keep_ns = keep_ns | ({root} if with_root else set())
    links = {link.id: link for link in snapshot.links if link.netns in keep_ns}

    def wanted(link) -> bool:
        if link.netns != root or link.name in keep_root_link:
            return True
        return link.peer is None or link.peer.link is None or link.peer.link in links

    kept = {lid for lid, link in links.items() if wanted(link)}

    def ok(obj) -> bool:
        return getattr(obj, "link", None) in (None, *kept)

    filtered = {}
    for f in dataclasses.fields(snapshot):
        items = getattr(snapshot, f.name)
        if f.name in ("header", "errors") or not isinstance(items, tuple):
            continue
        filtered[f.name] = tuple(
            x for x in items
            if (x.id in keep_ns if f.name == "namespaces" else
                x.id in kept if f.name == "links" else
                getattr(x, "netns", root) in keep_ns and ok(x)))
    filtered["routes"] = tuple(r for r in filtered["routes"]
                               if all(h.link in (None, *kept) for h in r.nexthops))
    filtered["errors"] = tuple(e for e in snapshot.errors if e.netns in (None, *keep_ns))
    return dataclasses.replace(snapshot, **filtered)


def _ns_ids(snapshot: Snapshot, names: list[str]) -> set[str]:
    return {ns.id for ns in snapshot.namespaces
            if any(o.path.rsplit("/", 1)[-1] in names for o in ns.origins)}


def docker_like() -> None:
    """host namespace with bridge docker0, MASQUERADE and a published port; 2 containers;
    an 'internet' namespace behind the host's uplink."""
    spaces = Namespaces("nsfx")
    try:
        host, web, db, inet = (spaces.add(n) for n in ("host", "web", "db", "inet"))
        add_bridge(host, "docker0", "172.18.0.1/16")
        ip("link", "add", "uplink", "type", "veth", "peer", "name", "eth0", "netns", inet,
           ns=host)
        ip("addr", "add", "198.51.100.2/24", "dev", "uplink", ns=host)
        ip("link", "set", "uplink", "up", ns=host)
        ip("addr", "add", "198.51.100.1/24", "dev", "eth0", ns=inet)
        ip("link", "set", "eth0", "up", ns=inet)
        ip("route", "add", "default", "via", "198.51.100.1", ns=host)
        for n, (ns, addr) in enumerate(((web, "172.18.0.2"), (db, "172.18.0.3"))):
            attach_container(host, "docker0", f"veth{n}", ns, f"{addr}/16", "172.18.0.1")
        nsexec = ("ip", "netns", "exec", host)
        sh(*nsexec, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        sh(*nsexec, "iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "172.18.0.0/16",
           "!", "-o", "docker0", "-j", "MASQUERADE")
        sh(*nsexec, "iptables", "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "8080",
           "-j", "DNAT", "--to-destination", "172.18.0.2:80")
        sh("ip", "netns", "exec", web, "busybox", "ping", "-c1", "-W2", "172.18.0.3")
        sh("ip", "netns", "exec", web, "busybox", "ping", "-c1", "-W2", "198.51.100.1")
        snap = collect_snapshot(note=(
            "fixture docker-like-lab: captured by `python -m tests.support.capture docker-like`"
            " (namespaces nsfx*-host with bridge docker0 172.18.0.1/16, MASQUERADE and DNAT "
            "8080->172.18.0.2:80; containers web 172.18.0.2 and db 172.18.0.3; inet "
            "198.51.100.1 behind uplink), after pings web->db and web->inet"))
        keep = _ns_ids(snap, [host, web, db, inet])
        save(keep_only(snap, keep, set()), str(FIXTURES / "docker-like-lab.json"), pretty=True)
    finally:
        spaces.cleanup()


def docker_engine() -> None:
    """A real dockerd with two containers on docker0; web publishes 8080->80."""
    from tests.support import docker_engine as de

    work = Path(tempfile.mkdtemp(prefix="nsfx-docker-"))
    engine = de.start_engine(shutil.which("docker") or "docker", work)
    names = []
    try:
        de.ensure_image(engine, work)
        web, db = de.container_name("web"), de.container_name("db")
        names += [web, db]
        de.run_container(engine, web, "-p", "8080:80", cmd=("httpd", "-f", "-p", "80"))
        de.run_container(engine, db, cmd=("sleep", "3600"))
        time.sleep(1)
        snap = collect_snapshot(note=(
            "fixture docker-engine: captured by `python -m tests.support.capture docker` with "
            "a real dockerd (--storage-driver=vfs), image netscope-test/busybox, containers "
            f"{web} (-p 8080:80, busybox httpd) and {db} on the default bridge"))
        keep = {c.netns for c in snap.containers if c.name in names}
        root_links = {"docker0"}
        save(keep_only(snap, keep, root_links), str(FIXTURES / "docker-engine.json"), pretty=True)
    finally:
        de.remove_containers(engine, names)
        engine.stop()
        shutil.rmtree(work, ignore_errors=True)


def lab(ref: str) -> None:
    """A lab (or a variant) up, its traffic checks sent (so counters and conntrack hold real
    traffic), then the lab's namespaces captured: fixtures/lab-<lab>[-<variant>].json."""
    from netscope.actions import labs
    from netscope.actions.lab_plan import ns_name
    from netscope.actions.probe import run_checks

    topo = labs.resolve(ref)
    instance = "nsfxlab"
    labs.up(topo, instance)
    try:
        results = run_checks(topo, instance)
        failed = [r.key for r in results if not r.passed]
        if failed:
            raise SystemExit(f"{ref}: checks failed: {failed}")
        snap = collect_snapshot(note=(
            f"fixture lab {ref}: captured by `python -m tests.support.capture lab {ref}` after "
            f"`lab up {ref} --instance {instance}` and its {len(results)} traffic checks "
            "(all passed); only the lab's namespaces are kept (not the one netscope ran in)"))
        keep = _ns_ids(snap, [ns_name(instance, n.key) for n in topo.nodes])
        name = "lab-" + ref.replace("/", "-")
        save(keep_only(snap, keep, set(), with_root=False), str(FIXTURES / f"{name}.json"),
             pretty=True)
    finally:
        labs.down(instance)


if __name__ == "__main__":
    if sys.argv[1] == "lab":
        lab(sys.argv[2])
    else:
        {"docker-like": docker_like, "docker": docker_engine}[sys.argv[1]]()
