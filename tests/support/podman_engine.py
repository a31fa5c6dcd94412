"""Real Podman (rootful, netavark) for the podman test tier, with a local busybox image.

No registry is reachable: the image is `podman import`ed from the rootfs tests/support/
docker_engine.py builds. Pods need that image as their infra image, with a command that keeps
running (no pause image here). This VM lacks CAP_SYS_RESOURCE, so Podman's default rlimits
fail ("error setting rlimit type 7"): the tier points CONTAINERS_CONF at a file with
`default_ulimits` inside the limits it may set. Everything is named with NAME_PREFIX.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.docker_engine import BUSYBOX, busybox_rootfs_tar

IMAGE = "localhost/netscope-test/busybox:latest"
NAME_PREFIX = "nstest-"
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:20000", "nproc=4096:4096"]
"""
KEEP_RUNNING = ("sleep", "3600")
# netavark's chains that outlive every container (its TeardownPolicy::Never rules)
NETAVARK_CHAINS = (("filter", "NETAVARK_FORWARD"), ("nat", "NETAVARK-HOSTPORT-DNAT"),
                   ("nat", "NETAVARK-HOSTPORT-SETMARK"), ("nat", "NETAVARK-HOSTPORT-MASQ"))
NETAVARK_JUMPS = (
    ("filter", "FORWARD", "-m", "comment", "--comment", "netavark firewall plugin rules", "-j",
     "NETAVARK_FORWARD"),
    ("nat", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j",
     "NETAVARK-HOSTPORT-DNAT"),
    ("nat", "OUTPUT", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "NETAVARK-HOSTPORT-DNAT"),
    ("nat", "POSTROUTING", "-j", "NETAVARK-HOSTPORT-MASQ"),
)


class PodmanFailed(Exception):
    """A podman command failed; the message holds its error output."""


@dataclass
class Podman:
    """The podman CLI with the tier's containers.conf; remembers what it made, to remove it."""

    conf: Path
    containers: list[str] = field(default_factory=list)
    pods: list[str] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "CONTAINERS_CONF": str(self.conf)}

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=180,
                              env=self.env)
        if check and proc.returncode != 0:
            raise PodmanFailed(f"podman {' '.join(args)} failed ({proc.returncode}): "
                               f"{proc.stderr.strip()}")
        return proc

    def ensure_image(self, workdir: Path) -> None:
        if self.cli("image", "exists", IMAGE, check=False).returncode == 0:
            return
        if not Path(BUSYBOX).exists():
            raise PodmanFailed(f"{BUSYBOX} is missing: install busybox-static (./setup.sh does)")
        self.cli("import", "--change", 'CMD ["/bin/sh"]', str(busybox_rootfs_tar(workdir)),
                 IMAGE)

    def run(self, name: str, *args: str, cmd: tuple[str, ...] = KEEP_RUNNING) -> str:
        """`podman run -d --name NAME ARGS IMAGE CMD`: the container id."""
        self.containers.append(name)  # before: a container created but not started goes too
        return self.cli("run", "-d", "--name", name, *args, IMAGE, *cmd).stdout.strip()

    def pod(self, name: str, *args: str) -> str:
        """`podman pod create` with the test image as infra (its command keeps running)."""
        self.pods.append(name)
        return self.cli("pod", "create", "--name", name, "--infra-image", IMAGE,
                        "--infra-command", " ".join(KEEP_RUNNING), *args).stdout.strip()

    def inspect(self, name: str, template: str) -> str:
        return self.cli("inspect", "--format", template, name).stdout.strip()

    def remove_all(self) -> list[str]:
        """Remove every container and pod this made; the failures, as messages."""
        failures = []
        if self.containers:
            proc = self.cli("rm", "-f", "-t", "0", *self.containers, check=False)
            if proc.returncode not in (0, 1):
                failures.append(proc.stderr.strip())
        for pod in self.pods:
            proc = self.cli("pod", "rm", "-f", "-t", "0", pod, check=False)
            if proc.returncode not in (0, 1):
                failures.append(proc.stderr.strip())
        self.containers.clear()
        self.pods.clear()
        return failures


def unique(suffix: str) -> str:
    return f"{NAME_PREFIX}{secrets.token_hex(3)}-{suffix}"


def make_podman(workdir: Path) -> Podman:
    conf = workdir / "containers.conf"
    conf.write_text(CONTAINERS_CONF)
    podman = Podman(conf=conf)
    podman.ensure_image(workdir)
    return podman
