"""CRI-O's pods named from its state on disk, with real namespaces and processes.

CRI-O cannot be installed here, so its part is SIMULATED in its exact formats: a process
named `crio` whose command line gives `--runroot DIR` (as the daemon is found on a node),
and, for each container, `DIR/overlay-containers/<id>/userdata/config.json` holding the
annotations CRI-O writes (pkg/annotations: io.kubernetes.cri-o.ContainerType, SandboxID,
ContainerName, PortMappings, io.container.manager; kubelet's labels copied in) and conmon's
`pidfile`. The namespace and the processes in it are real (`sleep` in a throw-away
namespace), so netscope ties the pod to it as it would on a node.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.netns import ip


def _container(runroot: Path, cid: str, annotations: dict, netns: str, pid: int) -> None:
    userdata = runroot / "overlay-containers" / cid / "userdata"
    userdata.mkdir(parents=True)
    (userdata / "config.json").write_text(json.dumps({
        "ociVersion": "1.0.2-dev", "annotations": annotations,
        "linux": {"namespaces": [{"type": "pid"}, {"type": "network", "path": netns}]}}))
    (userdata / "pidfile").write_text(str(pid))


@pytest.fixture
def crio_node(namespaces, tmp_path):
    """A namespace with a pod sandbox and one container of CRI-O's, and a `crio` process."""
    ns = namespaces.add("pod")
    ip("addr", "add", "10.189.7.2/24", "dev", "lo", ns=ns)
    procs = []
    try:
        for _ in range(2):  # the sandbox's pause process and the container's
            procs.append(subprocess.Popen(["ip", "netns", "exec", ns, "sleep", "600"]))
        runroot = tmp_path / "runroot"
        sandbox, container = secrets.token_hex(32), secrets.token_hex(32)
        kubelet = {"io.kubernetes.pod.name": "db-0", "io.kubernetes.pod.namespace": "shop",
                   "io.kubernetes.pod.uid": "7b1c0e55-2f0e-4d8c-9a61-3d0c1b2a9f10"}
        common = {"io.container.manager": "cri-o", "io.kubernetes.cri-o.SandboxID": sandbox,
                  "io.kubernetes.cri-o.Labels": json.dumps(kubelet), **kubelet}
        inode = os.stat(f"/run/netns/{ns}").st_ino
        deadline = time.monotonic() + 10  # until `ip netns exec` has entered and exec'd
        while time.monotonic() < deadline and not all(
                os.readlink(f"/proc/{p.pid}/ns/net") == f"net:[{inode}]" for p in procs):
            time.sleep(0.05)
        _container(runroot, sandbox, {
            **common, "io.kubernetes.cri-o.ContainerType": "sandbox",
            "io.kubernetes.container.name": "POD",
            "io.kubernetes.cri-o.PortMappings":
                '[{"HostPort":15432,"ContainerPort":5432,"Protocol":"TCP","HostIP":""}]'},
            f"/run/netns/{ns}", procs[0].pid)
        _container(runroot, container, {
            **common, "io.kubernetes.cri-o.ContainerType": "container",
            "io.kubernetes.cri-o.ContainerName": "k8s_postgres_db-0_shop_7b1c0e55_0",
            "io.kubernetes.container.name": "postgres"}, f"/run/netns/{ns}", procs[1].pid)
        # the daemon: a process whose comm is `crio`, started with --runroot
        daemon = tmp_path / "bin" / "crio"
        daemon.parent.mkdir()
        shutil.copy(sys.executable, daemon)
        procs.append(subprocess.Popen([str(daemon), "-c", "import time; time.sleep(600)",
                                       "--runroot", str(runroot)]))
        yield ns, sandbox
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_a_crio_pod_is_named_from_its_state_on_disk(crio_node):
    _ns, sandbox = crio_node
    out = subprocess.run([sys.executable, "-m", "netscope", "show"], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert re.search(
        rf"^shop/db-0  \[pod shop/db-0 \(cri-o, uid 7b1c0e55-2f0e-4d8c-9a61-3d0c1b2a9f10\) "
        rf"publishes 0\.0\.0\.0:15432->5432/tcp; containers postgres; infra POD "
        rf"{sandbox[:12]}\]  \(ns:\d+\)$", out, re.M), out
    path = subprocess.run([sys.executable, "-m", "netscope", "path", "shop/db-0",
                           "10.189.7.2", "--proto", "icmp"], capture_output=True, text=True,
                          timeout=120)
    assert re.search(r"^  1  shop/db-0 ", path.stdout, re.M), path.stdout + path.stderr
