"""A containerd of the test's own (root, state, socket, CNI directory), and Kubernetes pods
made on it the way kubelet and containerd's CRI plugin make them.

No kubelet can run here, so it is SIMULATED, in its exact formats: for each pod a network
namespace is made and the real CNI plugins (bridge, host-local, portmap from /usr/lib/cni) add
it to the test's network, as the CRI plugin does (sandbox id as CNI_CONTAINERID, eth0); then
the pod's sandbox and containers run with `ctr run --with-ns network:<netns>` carrying the OCI
annotations containerd's CRI plugin writes (pkg/cri/annotations: container-type, sandbox-id,
sandbox-name, sandbox-namespace, sandbox-uid, container-name, image-name) and the labels
kubelet and the CRI plugin put on containers (io.kubernetes.pod.*, io.kubernetes.container.name,
io.cri-containerd.kind). containerd, runc, the shims, the CNI plugins and the namespaces are
all real.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import runtime_chains
from tests.support.cni import cni_add, cni_del
from tests.support.oci_image import busybox_oci_archive

IMAGE = "localhost/netscope-test/busybox:latest"
K8S = "k8s.io"
START_TIMEOUT = 60.0
KEEP_RUNNING = ("sleep", "3600")
# the portmap plugin's shared chains: made on first use, never removed by the plugin
PORTMAP_CHAINS = (("nat", "CNI-HOSTPORT-DNAT"), ("nat", "CNI-HOSTPORT-SETMARK"),
                  ("nat", "CNI-HOSTPORT-MASQ"))
PORTMAP_JUMPS = (
    ("nat", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "CNI-HOSTPORT-DNAT"),
    ("nat", "OUTPUT", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "CNI-HOSTPORT-DNAT"),
    ("nat", "POSTROUTING", "-m", "comment", "--comment", "CNI portfwd requiring masquerade",
     "-j", "CNI-HOSTPORT-MASQ"),
)


class ContainerdFailed(Exception):
    """containerd, ctr or a CNI plugin failed; the message says which and why."""


@dataclass
class KubePod:
    """A pod as kubelet would have made it: its namespace file, sandbox and containers."""

    namespace: str
    name: str
    uid: str
    sandbox_id: str
    netns: str  # /run/netns/<name>
    address: str
    host_port: int | None
    containers: dict[str, str] = field(default_factory=dict)  # container name -> id


@dataclass
class Containerd:
    """A running containerd of the test's own; `close()` removes everything it made."""

    workdir: Path
    prefix: str
    process: subprocess.Popen | None = None
    pods: list[KubePod] = field(default_factory=list)
    subnet: str = ""
    portmap_was_there: bool = True

    @property
    def address(self) -> str:
        return str(self.workdir / "containerd.sock")

    @property
    def conflist(self) -> Path:
        return self.workdir / "net.d" / "10-nstest.conflist"

    @property
    def bridge(self) -> str:
        return f"{self.prefix}br"

    @property
    def network(self) -> str:
        return f"{self.prefix}-net"

    def ctr(self, *args: str, namespace: str = K8S, check: bool = True
            ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(["ctr", "-a", self.address, "-n", namespace, *args],
                              capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            raise ContainerdFailed(f"ctr {' '.join(args)} failed ({proc.returncode}): "
                                   f"{proc.stderr.strip()}")
        return proc

    def start(self) -> None:
        self.portmap_was_there = bool(runtime_chains.chains("nat") & {c for _, c in
                                                                      PORTMAP_CHAINS})
        for d in ("root", "state", "net.d", "ipam"):
            (self.workdir / d).mkdir(parents=True, exist_ok=True)
        (self.workdir / "config.toml").write_text(f"""\
version = 2
root = "{self.workdir / 'root'}"
state = "{self.workdir / 'state'}"
[grpc]
  address = "{self.address}"
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "{self.workdir / 'net.d'}"
""")
        self.write_conflist(self.subnet)
        log = (self.workdir / "containerd.log").open("wb")
        self.process = subprocess.Popen(
            ["containerd", "--config", str(self.workdir / "config.toml")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while self.ctr("version", check=False).returncode != 0:
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = (self.workdir / "containerd.log").read_text(errors="replace")[-2000:]
                raise ContainerdFailed(f"containerd did not start; its log ends:\n{tail}")
            time.sleep(0.2)
        archive = busybox_oci_archive(self.workdir, IMAGE)
        self.ctr("images", "import", "--snapshotter", "native", str(archive))

    def write_conflist(self, subnet: str) -> None:
        """The network every pod joins: bridge (with host-local IPAM) then portmap."""
        gateway = subnet.rsplit(".", 1)[0] + ".1"
        self.conflist.write_text(json.dumps({
            "cniVersion": "0.4.0", "name": self.network, "plugins": [
                {"type": "bridge", "bridge": self.bridge, "isGateway": True, "ipMasq": True,
                 "hairpinMode": True,
                 "ipam": {"type": "host-local", "dataDir": str(self.workdir / "ipam"),
                          "ranges": [[{"subnet": subnet, "gateway": gateway}]],
                          "routes": [{"dst": "0.0.0.0/0"}]}},
                {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
            ]}, indent=1))

    def _port_mappings(self, pod: KubePod) -> dict:
        if pod.host_port is None:
            return {}
        return {"portMappings": [{"hostPort": pod.host_port, "containerPort": 80,
                                  "protocol": "tcp"}]}

    def run_pod(self, namespace: str, name: str, containers: tuple[str, ...],
                host_port: int | None = None) -> KubePod:
        """What kubelet's RunPodSandbox + CreateContainer + StartContainer would leave."""
        netns_name = f"{self.prefix}-cni-{uuid.uuid4().hex[:8]}"
        pod = KubePod(namespace=namespace, name=name, uid=str(uuid.uuid4()),
                      sandbox_id=secrets.token_hex(32), netns=f"/run/netns/{netns_name}",
                      address="", host_port=host_port)
        self.pods.append(pod)  # before making anything: close() undoes what exists
        subprocess.run(["ip", "netns", "add", netns_name], check=True)
        result = cni_add(self.conflist, pod.sandbox_id, pod.netns,
                         runtime=self._port_mappings(pod))
        pod.address = result["ips"][0]["address"].split("/")[0]
        pod_meta = {
            "io.kubernetes.cri.sandbox-id": pod.sandbox_id,
            "io.kubernetes.cri.sandbox-name": name,
            "io.kubernetes.cri.sandbox-namespace": namespace,
            "io.kubernetes.cri.sandbox-uid": pod.uid,
        }
        kubelet_labels = {"io.kubernetes.pod.name": name,
                          "io.kubernetes.pod.namespace": namespace,
                          "io.kubernetes.pod.uid": pod.uid}
        self._run(pod, pod.sandbox_id, {
            **pod_meta, "io.kubernetes.cri.container-type": "sandbox",
            "io.kubernetes.cri.sandbox-log-directory": f"/var/log/pods/{namespace}_{name}_"
                                                       f"{pod.uid}"},
            {**kubelet_labels, "io.cri-containerd.kind": "sandbox"})
        for container in containers:
            cid = secrets.token_hex(32)
            pod.containers[container] = cid
            self._run(pod, cid, {
                **pod_meta, "io.kubernetes.cri.container-type": "container",
                "io.kubernetes.cri.container-name": container,
                "io.kubernetes.cri.image-name": IMAGE},
                {**kubelet_labels, "io.kubernetes.container.name": container,
                 "io.cri-containerd.kind": "container"})
        return pod

    def _run(self, pod: KubePod, cid: str, annotations: dict, labels: dict) -> None:
        args = ["run", "-d", "--snapshotter", "native", "--with-ns", f"network:{pod.netns}"]
        for key, value in annotations.items():
            args += ["--annotation", f"{key}={value}"]
        for key, value in labels.items():
            args += ["--label", f"{key}={value}"]
        self.ctr(*args, IMAGE, cid, *KEEP_RUNNING)

    def remove_pod(self, pod: KubePod, release_address: bool = True) -> list[str]:
        """Stop and delete the pod's containers, then (unless told not to: a runtime that
        crashed) release its address through CNI, then delete its namespace."""
        failures = []
        ids = [*pod.containers.values(), pod.sandbox_id]
        for cid in ids:
            self.ctr("tasks", "kill", "-s", "SIGKILL", cid, check=False)
        for cid in ids:
            for args in (("tasks", "rm", "-f", cid), ("containers", "rm", cid)):
                proc = self.ctr(*args, check=False)
                if proc.returncode != 0 and "not found" not in proc.stderr:
                    failures.append(proc.stderr.strip())
        if release_address and os.path.exists(pod.netns):
            failures += cni_del(self.conflist, pod.sandbox_id, pod.netns,
                                runtime=self._port_mappings(pod))
        if os.path.exists(pod.netns):
            subprocess.run(["ip", "netns", "del", os.path.basename(pod.netns)], check=False)
        if pod in self.pods:
            self.pods.remove(pod)
        return failures

    def leak_address(self) -> tuple[str, str]:
        """An address host-local allocated to a namespace that is gone, as a runtime that
        crashed between CNI ADD and DEL leaves it: (address, container id). Made on a second
        network (`20-...conflist`: bridge + host-local, no masquerade and no portmap, so the
        namespace's death leaves no rule behind); its file goes with the work directory."""
        leak = self.workdir / "net.d" / "20-nstest-leak.conflist"
        base = self.subnet.rsplit(".", 2)[0]
        leak.write_text(json.dumps({
            "cniVersion": "0.4.0", "name": f"{self.prefix}-leak", "plugins": [
                {"type": "bridge", "bridge": f"{self.prefix}lk", "isGateway": True,
                 "ipam": {"type": "host-local", "dataDir": str(self.workdir / "ipam"),
                          "ranges": [[{"subnet": f"{base}.{self._leak_octet()}.0/24"}]]}}]}))
        netns_name = f"{self.prefix}-cni-{uuid.uuid4().hex[:8]}"
        container_id = secrets.token_hex(32)
        subprocess.run(["ip", "netns", "add", netns_name], check=True)
        try:
            result = cni_add(leak, container_id, f"/run/netns/{netns_name}")
        finally:
            subprocess.run(["ip", "netns", "del", netns_name], check=False)
        return result["ips"][0]["address"].split("/")[0], container_id

    def _leak_octet(self) -> int:
        return (int(self.subnet.split(".")[2]) + 1) % 250 + 1

    def close(self) -> list[str]:
        """Remove every pod, the bridges, containerd itself and its directories."""
        failures = []
        for pod in list(self.pods):
            failures += self.remove_pod(pod)
        for bridge in (self.bridge, f"{self.prefix}lk"):
            subprocess.run(["ip", "link", "del", bridge], capture_output=True, check=False)
        if not self.portmap_was_there:
            runtime_chains.remove(PORTMAP_JUMPS, PORTMAP_CHAINS)
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for line in subprocess.run(["findmnt", "-rn", "-o", "TARGET"], capture_output=True,
                                   text=True).stdout.splitlines():
            if line.startswith(str(self.workdir)):
                subprocess.run(["umount", "-l", line], check=False)
        shutil.rmtree(self.workdir, ignore_errors=True)
        return failures
