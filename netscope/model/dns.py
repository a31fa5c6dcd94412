"""Service discovery per namespace: the resolver configuration its processes read, and the
sockets there that could answer DNS."""

from __future__ import annotations

from dataclasses import dataclass

# Docker's embedded DNS server: containers on user-defined networks are given this address;
# rules in the container's own nat table send port 53 to dockerd's sockets there.
DOCKER_EMBEDDED_DNS = "127.0.0.11"
# systemd-resolved's stub listener: reachable only from the namespace it runs in.
RESOLVED_STUB = "127.0.0.53"


@dataclass(frozen=True)
class HostsEntry:
    """One /etc/hosts line: an address and the names it gives."""

    address: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class ResolverConfig:
    """A resolv.conf (and the /etc/hosts beside it) as processes of one namespace see it.

    `path` is the file read: `/proc/<pid>/root/etc/resolv.conf` for running processes (so a
    container's own file), `/etc/netns/<name>/resolv.conf` or `/etc/resolv.conf` for a named
    namespace with no process (what `ip netns exec` would show). Processes that see the same
    contents share one config; `pids`/`comms` name up to 20 of them (empty when none runs).
    `host_file` is True when the file read is the host's own /etc/resolv.conf (the one
    netscope's namespace uses): a process elsewhere that reads it inherited the host's
    configuration (`ip netns exec` without /etc/netns/<name>/resolv.conf) rather than being
    given one. `error` says why a file could not be read (the fields are then empty).
    """

    id: str
    netns: str
    path: str
    pids: tuple[int, ...] = ()
    comms: tuple[str, ...] = ()
    nameservers: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    ndots: int | None = None
    options: tuple[str, ...] = ()
    hosts_path: str | None = None
    hosts: tuple[HostsEntry, ...] = ()
    host_file: bool = False
    error: str | None = None


@dataclass(frozen=True)
class DnsListener:
    """A socket in the namespace that can take DNS queries: bound to port 53, or to Docker's
    embedded DNS address (whose real ports are random and reached through DNAT)."""

    proto: str
    address: str
    port: int


@dataclass(frozen=True)
class DnsNamespace:
    """DNS as seen from one namespace (`dns:<inode>`)."""

    id: str
    netns: str
    resolvers: tuple[ResolverConfig, ...] = ()
    listeners: tuple[DnsListener, ...] = ()
