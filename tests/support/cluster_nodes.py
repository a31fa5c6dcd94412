"""Simulated Kubernetes nodes for the cluster tests, made of network namespaces.

Each node is a namespace of its own (its root network namespace) joined to an "underlay"
namespace's bridge by a veth (the node's eth0), with a cni0 bridge holding its pod CIDR and
pods (namespaces) on it, and, in "vxlan" mode, a flannel-style overlay: flannel.1 (VXLAN
VNI 1, UDP 8472, no learning) with, per remote node, the route `POD_CIDR via FLANNEL_IP dev
flannel.1 onlink`, a permanent neighbour entry (the remote flannel.1's MAC) and an FDB entry
sending that MAC to the remote node's underlay address, as flanneld writes them. In
"host-gw" mode, per remote node a direct route `POD_CIDR via NODE_IP dev eth0`.

`snapshot_as_node` runs `netscope snapshot` confined as a node pod would see its node: in the
node's network namespace, with its own mount, pid and UTS namespaces (hostname = the node's
name), /run/netns holding only that node's pods, and no container runtime state or socket of
the real host. No kubelet or flanneld runs: their state is written as they write it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.netns import Namespaces, ip, sh

REPO = Path(__file__).resolve().parents[2]
UNDERLAY = "10.99.0"
FLANNEL_MTU = 1450


@dataclass
class Node:
    name: str          # the node's name (its hostname in its snapshot)
    netns: str         # its root network namespace
    index: int
    pods: list[str] = field(default_factory=list)

    @property
    def underlay_ip(self) -> str:
        return f"{UNDERLAY}.{self.index + 1}"

    @property
    def pod_cidr(self) -> str:
        return f"10.244.{self.index}.0/24"

    @property
    def flannel_ip(self) -> str:
        return f"10.244.{self.index}.0"

    @property
    def flannel_mac(self) -> str:
        return f"02:00:0a:f4:{self.index:02x}:00"

    def pod_ip(self, j: int) -> str:
        return f"10.244.{self.index}.{10 + j}"


def build_nodes(spaces: Namespaces, count: int, mode: str = "vxlan",
                pods_per_node: int = 2) -> list[Node]:
    """`count` nodes on one underlay, pods on each, routed to each other by `mode`."""
    ul = spaces.add("ul")
    ip("link", "add", "br0", "type", "bridge", ns=ul)
    ip("link", "set", "br0", "up", ns=ul)
    nodes = [Node(f"node-{chr(ord('a') + i)}", spaces.add(f"n{i}"), i) for i in range(count)]
    for node in nodes:
        ns = node.netns
        ip("link", "add", f"ul{node.index}", "type", "veth", "peer", "name", "eth0", "netns",
           ns, ns=ul)
        ip("link", "set", f"ul{node.index}", "master", "br0", "up", ns=ul)
        ip("addr", "add", f"{node.underlay_ip}/24", "dev", "eth0", ns=ns)
        ip("link", "set", "eth0", "up", ns=ns)
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        ip("link", "add", "cni0", "type", "bridge", ns=ns)
        ip("link", "set", "cni0", "mtu", str(FLANNEL_MTU), ns=ns)
        ip("addr", "add", f"10.244.{node.index}.1/24", "dev", "cni0", ns=ns)
        ip("link", "set", "cni0", "up", ns=ns)
        for j in range(pods_per_node):
            pod = spaces.add(f"n{node.index}p{j}")
            ip("link", "add", f"veth{j}", "mtu", str(FLANNEL_MTU), "type", "veth", "peer",
               "name", "eth0", "netns", pod, ns=ns)
            ip("link", "set", f"veth{j}", "master", "cni0", "up", ns=ns)
            ip("link", "set", "eth0", "mtu", str(FLANNEL_MTU), "up", ns=pod)
            ip("addr", "add", f"{node.pod_ip(j)}/24", "dev", "eth0", ns=pod)
            ip("route", "add", "default", "via", f"10.244.{node.index}.1", ns=pod)
            node.pods.append(pod)
        if mode == "vxlan":
            ip("link", "add", "flannel.1", "type", "vxlan", "id", "1", "local",
               node.underlay_ip, "dev", "eth0", "dstport", "8472", "nolearning", ns=ns)
            ip("link", "set", "flannel.1", "address", node.flannel_mac, "mtu",
               str(FLANNEL_MTU), "up", ns=ns)
            ip("addr", "add", f"{node.flannel_ip}/32", "dev", "flannel.1", ns=ns)
    for node in nodes:
        for other in nodes:
            if other is not node:
                join(node, other, mode)
    return nodes


def join(node: Node, other: Node, mode: str) -> None:
    """What flanneld writes on `node` for `other` (vxlan), or the direct route (host-gw)."""
    ns = node.netns
    if mode == "host-gw":
        ip("route", "add", other.pod_cidr, "via", other.underlay_ip, "dev", "eth0", ns=ns)
        return
    ip("route", "add", other.pod_cidr, "via", other.flannel_ip, "dev", "flannel.1", "onlink",
       ns=ns)
    ip("neigh", "add", other.flannel_ip, "lladdr", other.flannel_mac, "dev", "flannel.1",
       "nud", "permanent", ns=ns)
    sh("bridge", "-n", ns, "fdb", "append", other.flannel_mac, "dev", "flannel.1", "dst",
       other.underlay_ip)


def forget_fdb(node: Node, other: Node) -> None:
    """Delete `node`'s FDB entry for `other` (what a lost flanneld update looks like)."""
    sh("bridge", "-n", node.netns, "fdb", "del", other.flannel_mac, "dev", "flannel.1", "dst",
       other.underlay_ip)


NODE_POD = """
import os, socket, subprocess, sys
node, out, pods = sys.argv[1], sys.argv[2], sys.argv[3:]
def mount(*argv):
    subprocess.run(["mount", *argv], check=True)
# keep a way to the host's /run/netns (in a tmpfs of this mount namespace only) before
# covering it with the node's own view
mount("--make-rprivate", "/")
mount("-t", "tmpfs", "tmpfs", "/mnt")
os.makedirs("/mnt/ns-all")
mount("--rbind", "/run/netns", "/mnt/ns-all")
mount("-t", "tmpfs", "tmpfs", "/run/netns")
for pod in pods:
    open("/run/netns/" + pod, "w").close()
    mount("--bind", "/mnt/ns-all/" + pod, "/run/netns/" + pod)
for hidden in ("/var/run/docker", "/run/containerd", "/run/podman", "/run/crio",
               "/var/lib/cni", "/etc/cni"):
    if os.path.isdir(hidden):
        mount("-t", "tmpfs", "tmpfs", hidden)
mount("-t", "proc", "proc", "/proc")
socket.sethostname(node)
os.execv(sys.executable, [sys.executable, "-m", "netscope", "snapshot", "-o", out,
                          "--note", "simulated node " + node])
"""


def snapshot_as_node(node: Node, out: Path) -> subprocess.CompletedProcess:
    """`netscope snapshot -o out` confined as netscope's node pod sees its node."""
    argv = ["ip", "netns", "exec", node.netns, "unshare", "--mount", "--uts", "--pid",
            "--fork", sys.executable, "-c", NODE_POD, node.name, str(out), *node.pods]
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(REPO))}
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env,
                          cwd=REPO)
