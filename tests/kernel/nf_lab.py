"""A client -- router -- server lab for the netfilter and conntrack kernel tests.

Namespaces come from tests.support.netns (prefix `nsnf`, removed even on failure); helpers
run one collector inside a namespace, start real servers and make real flows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

from netscope.collect.base import NsContext
from netscope.host import netns
from netscope.host.netlink import RtnlSocket
from tests.support.netns import Namespaces, ip, sh

CLIENT_IP, ROUTER_C, ROUTER_S, SERVER_IP = "10.61.1.2", "10.61.1.1", "10.61.2.1", "10.61.2.2"

SERVER = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(64)
print("ready", flush=True)
conns = []
while True:
    c, _ = s.accept()
    c.sendall(c.recv(64))
    conns.append(c)
"""


@dataclass
class NatLab:
    """client (10.61.1.2) -> router (10.61.1.1 | 10.61.2.1) -> server (10.61.2.2)."""

    spaces: Namespaces
    client: str = ""
    router: str = ""
    server: str = ""
    procs: list[subprocess.Popen] = field(default_factory=list)

    def build(self) -> NatLab:
        self.client, self.router, self.server = (self.spaces.add(n) for n in ("c", "r", "s"))
        ip("link", "add", "eth0", "type", "veth", "peer", "name", "rc0", "netns", self.router,
           ns=self.client)
        ip("link", "add", "eth0", "type", "veth", "peer", "name", "rs0", "netns", self.router,
           ns=self.server)
        for ns, dev, addr in ((self.client, "eth0", CLIENT_IP), (self.router, "rc0", ROUTER_C),
                              (self.router, "rs0", ROUTER_S), (self.server, "eth0", SERVER_IP)):
            ip("addr", "add", f"{addr}/24", "dev", dev, ns=ns)
            ip("link", "set", dev, "up", ns=ns)
        ip("route", "add", "default", "via", ROUTER_C, ns=self.client)
        ip("route", "add", "default", "via", ROUTER_S, ns=self.server)
        self.run(self.router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        return self

    def run(self, ns: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return sh("ip", "netns", "exec", ns, *argv, check=check)

    def serve(self, ns: str, port: int) -> None:
        """A TCP echo server in `ns` that keeps every connection open."""
        p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", SERVER,
                              str(port)], stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        assert p.stdout.readline().strip() == "ready"

    def connect(self, ns: str, host: str, port: int) -> None:
        """One TCP connection from `ns`, held open (ESTABLISHED) until cleanup."""
        code = ("import socket,sys,time; s=socket.create_connection((sys.argv[1], "
                "int(sys.argv[2])), timeout=5); s.sendall(b'hi'); assert s.recv(64) == b'hi'; "
                "print('ok', flush=True); time.sleep(120)")
        p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", code, host,
                              str(port)], stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        assert p.stdout.readline().strip() == "ok", f"no TCP connection to {host}:{port}"

    def udp(self, ns: str, host: str, ports: range | list[int]) -> None:
        code = ("import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                "[s.sendto(b'x', (sys.argv[1], int(p))) for p in sys.argv[2:]]")
        self.run(ns, sys.executable, "-c", code, host, *map(str, ports))

    def cleanup(self) -> None:
        for p in self.procs:
            p.kill()
            p.wait()


def collect_in(ns_name: str, collector) -> list:
    """Run one collector with this thread inside namespace `ns_name`, as the runner does."""
    fd = os.open(f"{netns.NAMED_DIR}/{ns_name}", os.O_RDONLY | os.O_CLOEXEC)
    home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        inode = os.fstat(fd).st_ino
        with netns.entered(fd, home), RtnlSocket() as sock:
            ctx = NsContext(inode, fd, sock)
            try:
                return collector.collect(ctx)
            finally:
                ctx.close()
    finally:
        os.close(fd)
        os.close(home)


def ns_inode(ns_name: str) -> int:
    return os.stat(f"{netns.NAMED_DIR}/{ns_name}").st_ino


def wait_for(predicate, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()
