"""Throw-away network namespaces for kernel tests: unique names, removed even on failure."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time


def sh(*argv: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess:
    """Run a command (argv, no shell); raise with its stderr when it fails and check is set."""
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def pings(ns: str, dst: str, wait_s: int = 1) -> bool:
    """One real ICMP echo from namespace `ns` to `dst` (busybox ping): answered or not."""
    return sh("ip", "netns", "exec", ns, "busybox", "ping", "-c", "1", "-W", str(wait_s), dst,
              check=False).returncode == 0


def ip(*args: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    argv = ["ip", *(["-n", ns] if ns else []), *args]
    return sh(*argv, check=check)


class Namespaces:
    """Creates namespaces named `<prefix>-<random>-<name>` and root-namespace devices, and
    deletes all of them in cleanup()."""

    def __init__(self, prefix: str) -> None:
        self.tag = f"{prefix}{secrets.token_hex(2)}"
        self.names: list[str] = []
        self.root_links: list[str] = []

    def add(self, name: str) -> str:
        full = f"{self.tag}-{name}"
        ip("netns", "add", full)
        self.names.append(full)
        ip("link", "set", "lo", "up", ns=full)
        return full

    def root_link_name(self, suffix: str) -> str:
        """A root-namespace device name (<= 15 chars) that cleanup() will delete."""
        name = f"{self.tag}{suffix}"[:15]
        self.root_links.append(name)
        return name

    def cleanup(self) -> None:
        for link in self.root_links:
            ip("link", "del", link, check=False)
        for name in self.names:
            ip("netns", "del", name, check=False)


def require_root() -> str | None:
    """None when kernel tests can run here, else why not."""
    if os.geteuid() != 0:
        return "kernel tests need root (they create network namespaces)"
    return None


def add_bridge(ns: str, name: str, cidr: str) -> None:
    """A bridge in `ns` holding `cidr` (e.g. "10.0.0.1/24"), up."""
    ip("link", "add", name, "type", "bridge", ns=ns)
    ip("addr", "add", cidr, "dev", name, ns=ns)
    ip("link", "set", name, "up", ns=ns)


def attach_container(host: str, bridge: str, host_end: str, container: str, cidr: str,
                     gateway: str | None) -> None:
    """A docker-style container: `container`'s eth0 (holding `cidr`) paired with `host_end`,
    a port of `bridge` in `host`; a default route via `gateway` when given."""
    ip("link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", container,
       ns=host)
    ip("link", "set", host_end, "master", bridge, "up", ns=host)
    ip("addr", "add", cidr, "dev", "eth0", ns=container)
    ip("link", "set", "eth0", "up", ns=container)
    if gateway:
        ip("route", "add", "default", "via", gateway, ns=container)


def add_host_client(spaces: Namespaces, net: str) -> tuple[str, str, str]:
    """A namespace joined to the namespace netscope runs in by a veth (`net`.1 on the host
    end, `net`.2 inside, default route via the host): a client "on the network" of the host,
    e.g. for reaching Docker's published ports from outside. Returns (name, host ip, its ip)."""
    ns = spaces.add("client")
    host_end = spaces.root_link_name("h")
    ip("link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip("addr", "add", f"{net}.1/30", "dev", host_end)
    ip("link", "set", host_end, "up")
    ip("addr", "add", f"{net}.2/30", "dev", "eth0", ns=ns)
    ip("link", "set", "eth0", "up", ns=ns)
    ip("route", "add", "default", "via", f"{net}.1", ns=ns)
    return ns, f"{net}.1", f"{net}.2"


def wait_ipv6_settled(namespaces: list[str], timeout: float = 5.0) -> None:
    """Until no address in `namespaces` is tentative: IPv6 DAD finishing adds local routes by
    itself, and a snapshot diff would rightly report them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(json.loads(ip("-6", "-j", "addr", "show", "tentative", ns=ns).stdout or "[]")
                   for ns in namespaces):
            return
        time.sleep(0.1)
