"""What a collector is, and what it is handed while it runs inside a namespace."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from netscope.host import oci
from netscope.host.netlink import RtnlSocket
from netscope.host.nfnl import nfnl_socket
from netscope.model import CollectorError, link_id, ns_id


@dataclass
class NsContext:
    """One namespace being read: the calling thread is inside it while collectors run.

    Subprocesses started from the collector (iptables-save ...) inherit the namespace, and
    sockets opened there belong to it. `fd` is an open descriptor on the namespace.
    """

    inode: int
    fd: int
    sock: RtnlSocket
    # ifindex -> link id, filled by the links collector for the others to use
    links: dict[int, str] = field(default_factory=dict)
    # what the collectors that already ran here found, by Snapshot field ("tables" ...)
    results: dict[str, list] = field(default_factory=dict)
    # also read what costs a walk of a kernel table shared by all namespaces (TCP connections)
    connections: bool = False
    _nfnl: RtnlSocket | None = None

    def nfnl(self) -> RtnlSocket:
        """The namespace's NETLINK_NETFILTER socket, opened on first use and shared by the
        collectors that ask nf_tables and conntrack (the runner closes it)."""
        if self._nfnl is None:
            self._nfnl = nfnl_socket()
        return self._nfnl

    def close(self) -> None:
        """Close what the collectors opened here (the rtnetlink socket is the runner's)."""
        if self._nfnl is not None:
            self._nfnl.close()
            self._nfnl = None

    @property
    def netns(self) -> str:
        return ns_id(self.inode)

    def link(self, ifindex: int | None) -> str | None:
        if ifindex is None or ifindex <= 0:
            return None
        return link_id(self.inode, ifindex)


class NamespaceCollector(Protocol):
    """Reads one concern (links, routes ...) of one namespace. Read-only, never loads modules."""

    name: str
    # the Snapshot field its objects go to
    field: str

    def can_run(self) -> str | None:
        """None when it can run here, else the reason it cannot (shown to the user)."""

    def collect(self, ctx: NsContext) -> list:
        """The model objects of this concern in the namespace `ctx` is inside.

        A collector may also define `begin()`: called once, before any namespace of a read
        is visited (namespaces are visited by several threads at once, in no set order), and
        `finish(objects) -> objects`: called once after every namespace was visited, with
        all the objects it returned, to complete them (what one walk of /proc found)."""


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Cyclic GC off while thousands of acyclic model objects are made (collections would
    walk them again and again for nothing: ~10-30% of a parse)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# daemons whose command lines say where their state is
RUNTIME_DAEMONS = ("containerd", "crio")


@dataclass
class HostContext:
    """A whole-host read after every namespace was visited: what was found so far, by
    Snapshot field (namespace collectors' objects, then each host collector's in turn)."""

    self_inode: int
    objects: dict[str, list]
    errors: list[CollectorError]
    _commands: dict[str, list[list[str]]] | None = None

    def error(self, collector: str, message: str) -> None:
        self.errors.append(CollectorError(collector, message))

    def commands(self, comm: str) -> list[list[str]]:
        """Command lines of the running processes named `comm` (containerd, crio): /proc is
        read once per snapshot for all the runtimes' daemons."""
        if self._commands is None:
            self._commands = oci.processes(RUNTIME_DAEMONS)
        return self._commands.get(comm, [])


class HostCollector(Protocol):
    """Reads one host-wide concern once per snapshot (a container runtime, CNI). Read-only;
    a runtime that is not installed is "nothing found", not an error."""

    name: str
    # the Snapshot fields its objects go to
    fields: tuple[str, ...]

    def can_run(self) -> str | None:
        """None when it can run here, else the reason it cannot (shown to the user)."""

    def collect(self, ctx: HostContext) -> dict[str, list]:
        """Its objects by Snapshot field; problems go to `ctx.error` (the rest still counts)."""
