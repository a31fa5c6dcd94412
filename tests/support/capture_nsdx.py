"""Capture the flows and DNS fixtures with netscope itself, from a real lab and a real dockerd.

    sudo .venv/bin/python -m tests.support.capture_nsdx lab      # fixtures/flows-dns-lab.json
    sudo .venv/bin/python -m tests.support.capture_nsdx docker   # fixtures/dns-docker.json

lab: the docker-bridge lab as instance nsdxcap; conntrack accounting turned on in its host
namespace (netscope.actions.accounting, restored after); c1 sends 10,000,000 bytes to c2 and
to the internet namespace and gets 1,000,000 back from each; the internet fetches `big`
(a line + 64 KiB) from c1's web server through the published port 8080. c1 is given
nameserver 198.18.17.1 (the internet's UDP 53 answers), c2 127.0.0.53 and 10.99.99.99
(/etc/netns/<ns>/resolv.conf), each with a sleeping process that reads it.
docker: a container on a user-defined network (embedded DNS) and one on the default bridge.
Only the namespace netscope runs in and the capture's own are kept (tests.support.capture).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from netscope.actions import accounting, labs
from netscope.actions.lab_plan import ns_name
from netscope.collect.runner import collect_snapshot
from netscope.netdex.measure import ENDPOINT_SCRIPT, Processes, in_ns
from netscope.snapshot import save
from tests.support.capture import FIXTURES, keep_only

INSTANCE = "nsdxcap"
SENT, ANSWER, PORT = 10_000_000, 1_000_000, 7001
FETCH_BIG = ("import socket\ns = socket.create_connection(('198.18.17.2', 8080))\n"
             "s.sendall(b'big\\n')\nwhile s.recv(65536):\n    pass\n")
RESOLVERS = {"c1": ["198.18.17.1"], "c2": ["127.0.0.53", "10.99.99.99"]}


def _endpoint(netns: str, *args: str) -> list[str]:
    return in_ns(netns, [sys.executable, ENDPOINT_SCRIPT, *args])


def lab() -> None:
    ns = {n: ns_name(INSTANCE, n) for n in ("host", "c1", "c2", "inet")}
    etc = {n: Path("/etc/netns") / ns[n] for n in RESOLVERS}
    journal = None
    try:
        labs.up(labs.resolve("docker-bridge"), INSTANCE)
        for node, servers in RESOLVERS.items():
            etc[node].mkdir(parents=True, exist_ok=True)
            (etc[node] / "resolv.conf").write_text(
                "".join(f"nameserver {s}\n" for s in servers) + "options ndots:5\n")
        journal = accounting.enable([ns["host"]])
        with Processes() as procs:
            for node in ("c1", "c2"):
                procs.start(in_ns(ns[node], [sys.executable, "-c",
                                             "print('ready', flush=True); "
                                             "import time; time.sleep(600)"]), "ready", node)
            for server in ("c2", "inet"):
                procs.start(_endpoint(ns[server], "sink", "--port", str(PORT), "--reply",
                                      str(ANSWER)), "ready", "sink")
            for dst in ("10.217.0.3", "198.18.17.1"):
                subprocess.run(_endpoint(ns["c1"], "send", "--host", dst, "--port", str(PORT),
                                         "--bytes", str(SENT)), check=True, timeout=60)
            subprocess.run(in_ns(ns["inet"], [sys.executable, "-c", FETCH_BIG]), check=True,
                           timeout=30)
            snap = collect_snapshot(note=(
                "fixture flows-dns-lab: captured by `python -m tests.support.capture_nsdx lab`"
                " (docker-bridge lab as instance nsdxcap, conntrack accounting on in its host "
                "namespace; c1 sent 10000000 bytes to c2:7001 and to inet 198.18.17.1:7001 and "
                "got 1000000 back from each; inet fetched 'big' (a line + 65536 bytes) from "
                "c1:80 through the published port 198.18.17.2:8080; resolv.conf via "
                "/etc/netns: c1 198.18.17.1, c2 127.0.0.53 and 10.99.99.99, each read by a "
                "sleeping process)"))
        keep = {n.id for n in snap.namespaces if n.name in ns.values()}
        save(keep_only(snap, keep, set()), str(FIXTURES / "flows-dns-lab.json"), pretty=True)
    finally:
        if journal is not None:
            accounting.restore(journal)
        labs.down(INSTANCE)
        for path in etc.values():
            shutil.rmtree(path, ignore_errors=True)


def docker() -> None:
    from tests.support import docker_engine as de

    work = Path(tempfile.mkdtemp(prefix="nsdx-docker-"))
    engine = de.start_engine(shutil.which("docker") or "docker", work)
    network = f"{INSTANCE}-net"
    names: list[str] = []
    try:
        de.ensure_image(engine, work)
        engine.cli("network", "create", network)
        app, plain = de.container_name("nsdx-app"), de.container_name("nsdx-plain")
        names += [app, plain]
        de.run_container(engine, app, "--network", network, cmd=("sleep", "3600"))
        de.run_container(engine, plain, cmd=("sleep", "3600"))
        snap = collect_snapshot(note=(
            "fixture dns-docker: captured by `python -m tests.support.capture_nsdx docker` "
            f"with a real dockerd: {app} on the user-defined network {network} (embedded DNS "
            f"127.0.0.11) and {plain} on the default bridge, both busybox sleep"))
        keep = {c.netns for c in snap.containers if c.name in names}
        save(keep_only(snap, keep, {"docker0"}), str(FIXTURES / "dns-docker.json"), pretty=True)
    finally:
        de.remove_containers(engine, names)
        engine.cli("network", "rm", network, check=False)
        engine.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    {"lab": lab, "docker": docker}[sys.argv[1]]()
