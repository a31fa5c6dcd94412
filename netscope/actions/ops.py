"""Operations: every change netscope makes to a host, as data, with the shell command it equals.

An operation names the namespace it acts in (`netns`, a name under /run/netns, or None for
the namespace netscope runs in), renders the equivalent shell command, and is applied by
`netscope.actions.execute`, which returns the operation that undoes it (some undos are only
known once applied: the previous value of a sysctl, the pid of a started server).

`contained` says the change lives inside its namespace and disappears with it: rolling back
a plan that created the namespace need not undo such changes one by one.
Operations serialize to plain dicts (`to_dict`/`op_from_dict`) for the journal.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import asdict, dataclass, fields
from typing import ClassVar

NAMED_NETNS = "/run/netns"


def netns_path(name: str) -> str:
    """The namespace file of an `ip netns` name (a path is already one)."""
    return name if name.startswith("/") else os.path.join(NAMED_NETNS, name)


def _in_ns(netns: str | None, argv: list[str]) -> list[str]:
    """argv run inside `netns`: an `ip netns` name, or a path to a namespace file (a Docker
    sandbox, /proc/<pid>/ns/net) for namespaces that have no name."""
    if netns is None:
        return argv
    if netns.startswith("/"):
        return ["nsenter", f"--net={netns}", *argv]
    return ["ip", "netns", "exec", netns, *argv]


def ip_argv(netns: str | None, args: list[str] | tuple[str, ...]) -> list[str]:
    """An `ip` command in `netns` (a name, a namespace file path, or None for our own)."""
    if netns is not None and netns.startswith("/"):
        return _in_ns(netns, ["ip", *args])
    return ["ip", *([] if netns is None else ["-n", netns]), *args]


@dataclass(frozen=True)
class Op:
    """Base class: see the module docstring."""

    tag: ClassVar[str] = ""
    contained: ClassVar[bool] = True

    @property
    def where(self) -> str | None:
        return getattr(self, "netns", None)

    def argv(self) -> list[str]:
        raise NotImplementedError

    def shell(self) -> str:
        """The equivalent shell command(s), safe to paste (names are quoted)."""
        return shlex.join(self.argv())

    def to_dict(self) -> dict:
        out = {"op": self.tag}
        for key, value in asdict(self).items():
            out[key] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass(frozen=True)
class NetnsAdd(Op):
    """Create a named network namespace (/run/netns/NAME)."""

    name: str
    tag: ClassVar[str] = "netns-add"
    contained: ClassVar[bool] = False

    @property
    def where(self) -> str | None:
        return None

    def argv(self) -> list[str]:
        return ["ip", "netns", "add", self.name]


@dataclass(frozen=True)
class NetnsDel(Op):
    """Stop every process left in the namespace, then delete it (and all its devices)."""

    name: str
    tag: ClassVar[str] = "netns-del"
    contained: ClassVar[bool] = False

    @property
    def where(self) -> str | None:
        return None

    def argv(self) -> list[str]:
        return ["ip", "netns", "del", self.name]

    def shell(self) -> str:
        pids = shlex.join(["ip", "netns", "pids", self.name])
        return f"{pids} | xargs -r kill; {shlex.join(self.argv())}"


@dataclass(frozen=True)
class Ip(Op):
    """An `ip` command run in `netns`; `undo` holds the arguments that revert it, if known."""

    netns: str | None
    args: tuple[str, ...]
    undo: tuple[str, ...] | None = None
    tag: ClassVar[str] = "ip"

    def argv(self) -> list[str]:
        return ip_argv(self.netns, self.args)


@dataclass(frozen=True)
class Sysctl(Op):
    """Set a net.* sysctl in `netns` (written to /proc/sys from inside the namespace)."""

    netns: str | None
    key: str
    value: str
    tag: ClassVar[str] = "sysctl"

    def argv(self) -> list[str]:
        return _in_ns(self.netns, ["sysctl", "-w", f"{self.key}={self.value}"])


@dataclass(frozen=True)
class Iptables(Op):
    """An iptables command (`-t TABLE` + args) in `netns`, with the args that revert it."""

    netns: str | None
    table: str
    args: tuple[str, ...]
    undo: tuple[str, ...] | None = None
    tag: ClassVar[str] = "iptables"

    def argv(self) -> list[str]:
        return _in_ns(self.netns, ["iptables", "-w", "-t", self.table, *self.args])


@dataclass(frozen=True)
class IptablesPolicy(Op):
    """Set a builtin chain's policy; the undo restores the policy found when applied."""

    netns: str | None
    table: str
    chain: str
    policy: str
    tag: ClassVar[str] = "iptables-policy"

    def argv(self) -> list[str]:
        return _in_ns(self.netns, ["iptables", "-w", "-t", self.table, "-P", self.chain,
                                   self.policy])


@dataclass(frozen=True)
class Nft(Op):
    """An nft script (`nft -f -`) in `netns`; `undo` is the script that reverts it."""

    netns: str | None
    script: str
    undo: str | None = None
    tag: ClassVar[str] = "nft"

    def argv(self) -> list[str]:
        return _in_ns(self.netns, ["nft", "-f", "-"])

    def shell(self) -> str:
        return f"{shlex.join(self.argv())} <<'EOF'\n{self.script.strip()}\nEOF"


@dataclass(frozen=True)
class Spawn(Op):
    """Start a long-running process in `netns` (a lab server); its undo stops it by pid."""

    netns: str
    label: str
    command: tuple[str, ...]
    log: str | None = None
    tag: ClassVar[str] = "spawn"
    contained: ClassVar[bool] = False

    def argv(self) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *self.command]

    def shell(self) -> str:
        return f"{shlex.join(self.argv())} &"


@dataclass(frozen=True)
class Stop(Op):
    """Stop the process `pid`, only if it is still the one started (same start time)."""

    pid: int
    start_time: int
    label: str = ""
    netns: str | None = None
    tag: ClassVar[str] = "stop"
    contained: ClassVar[bool] = False

    def argv(self) -> list[str]:
        return ["kill", str(self.pid)]


@dataclass(frozen=True)
class Cni(Op):
    """Run a CNI plugin as a container runtime does: inside `netns` (the node whose bridge
    and rules it makes), with the CNI_* environment naming the container's namespace
    (`target`, a namespace file) and interface, and the network configuration on its
    standard input. The undo of an ADD is the DEL of the same container, interface and
    configuration (CNI's contract: DEL releases what ADD allocated, and may run twice)."""

    netns: str
    plugin: str                   # the plugin's path (/usr/lib/cni/bridge)
    command: str                  # ADD or DEL
    container_id: str
    target: str                   # CNI_NETNS
    ifname: str
    config: str                   # the network configuration (JSON)
    cni_args: str = ""            # CNI_ARGS (K=V;K=V), as runtimes pass pod names
    tag: ClassVar[str] = "cni"
    contained: ClassVar[bool] = False   # its DEL runs on undo: host-local's files, rules

    def env(self) -> list[str]:
        env = [f"CNI_COMMAND={self.command}", f"CNI_CONTAINERID={self.container_id}",
               f"CNI_NETNS={self.target}", f"CNI_IFNAME={self.ifname}",
               f"CNI_PATH={self.plugin.rpartition('/')[0] or '/'}"]
        return env + ([f"CNI_ARGS={self.cni_args}"] if self.cni_args else [])

    def argv(self) -> list[str]:
        return _in_ns(self.netns, ["env", *self.env(), self.plugin])

    def shell(self) -> str:
        return f"{shlex.join(self.argv())} <<'EOF'\n{self.config.strip()}\nEOF"

    def with_command(self, command: str) -> Cni:
        return Cni(self.netns, self.plugin, command, self.container_id, self.target,
                   self.ifname, self.config, self.cni_args)


OP_TYPES: dict[str, type[Op]] = {t.tag: t for t in (
    NetnsAdd, NetnsDel, Ip, Sysctl, Iptables, IptablesPolicy, Nft, Spawn, Stop, Cni)}


def op_from_dict(data: dict) -> Op:
    """The operation a journal dict describes. Raises ValueError for an unknown one."""
    cls = OP_TYPES.get(data.get("op", ""))
    if cls is None:
        raise ValueError(f"unknown operation {data.get('op')!r}")
    kwargs = {}
    for f in fields(cls):
        if f.name in data:
            value = data[f.name]
            kwargs[f.name] = tuple(value) if isinstance(value, list) else value
    return cls(**kwargs)
