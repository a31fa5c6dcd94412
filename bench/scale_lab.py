"""A docker-like lab of N namespaces for benchmarks: a bridge in the root namespace and, per
"container", a namespace with eth0 (a veth whose host end is a bridge port), an address,
a default route. Names start with `nsb<pid>` so that two benchmarks running at once never
tear down each other's lab; `ip netns list | grep ^nsb` finds leftovers of a crashed run.
"""

from __future__ import annotations

import os
import re
import subprocess
import time

PREFIX = f"nsb{os.getpid() % 10000:04d}"
BRIDGE = f"{PREFIX}br0"
# a Linux bridge takes at most 1,024 ports (BR_MAX_PORTS): namespace i is a port of bridge
# i // PORTS, each bridge with a /16 of its own (10.199/16, 10.198/16, ...)
PORTS = 1000


def _bridge(k: int) -> str:
    return f"{PREFIX}br{k}"


def _batch(lines: list[str], ns: str | None = None) -> None:
    argv = ["ip", *(["-n", ns] if ns else []), "-batch", "-"]
    done = subprocess.run(argv, input="\n".join(lines) + "\n", text=True, capture_output=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()[:500]}")


def namespace_names(count: int) -> list[str]:
    return [f"{PREFIX}-{i:03d}" for i in range(count)]


def others() -> list[str]:
    """Namespaces of other scale labs (another run, or one that crashed before its down())."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [n for n in (line.split()[0] for line in out.splitlines() if line.strip())
            if re.match(r"nsb\d{4}-", n) and not n.startswith(PREFIX + "-")]


def up(count: int) -> list[str]:
    """Create the lab; returns the namespace names. A lab that fails half-built is removed.

    Refuses while another scale lab's namespaces are on the host: every figure per
    namespace would count them too (a crashed run left 1,001 of them here once, and a
    whole curve was measured over them before anyone noticed)."""
    if found := others():
        raise RuntimeError(
            f"{len(found)} namespaces of another scale lab are on this host "
            f"({found[0][:7]}-...): a bench running now, or one that crashed. Remove them: "
            "ip netns list | grep -E '^nsb[0-9]{4}-' | sed 's/^/netns del /' | "
            "ip -force -batch -")
    down()
    try:
        return _up(count)
    except BaseException:
        down()
        raise


def _up(count: int) -> list[str]:
    names = namespace_names(count)
    root = []
    for k in range((count + PORTS - 1) // PORTS or 1):
        root += [f"link add {_bridge(k)} type bridge",
                 f"addr add 10.{199 - k}.0.1/16 dev {_bridge(k)}", f"link set {_bridge(k)} up"]
    for i, ns in enumerate(names):
        root += [f"netns add {ns}",
                 f"link add {PREFIX}v{i} type veth peer name eth0 netns {ns}",
                 f"link set {PREFIX}v{i} master {_bridge(i // PORTS)} up"]
    _batch(root)
    for i, ns in enumerate(names):
        net, j = 199 - i // PORTS, i % PORTS
        _batch(["link set lo up", f"addr add 10.{net}.{j // 250}.{j % 250 + 2}/16 dev eth0",
                "link set eth0 up", f"route add default via 10.{net}.0.1"], ns=ns)
    return names


def down() -> None:
    """Remove every namespace and device this module can have made."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    lines = [f"netns del {line.split()[0]}" for line in out.splitlines()
             if line.startswith(PREFIX + "-")]
    for name in os.listdir("/sys/class/net"):
        if name.startswith(f"{PREFIX}br"):
            subprocess.run(["ip", "link", "del", name], capture_output=True)
    if lines:
        subprocess.run(["ip", "-force", "-batch", "-"], input="\n".join(lines) + "\n",
                       text=True, capture_output=True)
    # a namespace's devices go with it a little later (the kernel's cleanup work runs
    # after the last reference): wait, so that the next up() can reuse their names
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and any(
            name.startswith(PREFIX) for name in os.listdir("/sys/class/net")):
        time.sleep(0.2)
