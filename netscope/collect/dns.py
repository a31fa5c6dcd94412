"""The DNS view of one namespace: the resolver configs its processes read, DNS sockets there.

A namespace with processes: their /etc/resolv.conf and /etc/hosts, read through
/proc/<pid>/root once per mount namespace and merged by contents. A named namespace with no
process: /etc/netns/<name>/resolv.conf if it exists, else /etc/resolv.conf (what `ip netns
exec` would give a process started there). Read-only, like every collector.
"""

from __future__ import annotations

import os

from netscope.collect.base import NsContext
from netscope.host import dns as host_dns
from netscope.model.dns import DnsNamespace, ResolverConfig
from netscope.model.made import replaced

RESOLV = "/etc/resolv.conf"
HOSTS = "/etc/hosts"
MAX_PIDS = 20


def _read(root: str, path: str) -> tuple[bytes | None, tuple | None, str | None]:
    try:
        data, identity = host_dns.read_in_root(root, path)
    except OSError as e:
        return None, None, e.strerror or str(e)
    return data, identity, None


def _config(netns: str, where: str, root: str, resolv_path: str, hosts_path: str,
            pids: list[int], comms: list[str]) -> tuple[tuple, ResolverConfig]:
    """Read resolv.conf and hosts under `root`; `where` prefixes the paths shown."""
    resolv, identity, error = _read(root, resolv_path)
    hosts, _, _ = _read(root, hosts_path)
    parsed = host_dns.parse_resolv_conf(resolv.decode(errors="replace")) if resolv else None
    config = ResolverConfig(
        id="", netns=netns, path=where + resolv_path, pids=tuple(pids[:MAX_PIDS]),
        comms=tuple(comms[:MAX_PIDS]),
        nameservers=parsed.nameservers if parsed else (),
        search=parsed.search if parsed else (), ndots=parsed.ndots if parsed else None,
        options=parsed.options if parsed else (),
        hosts_path=where + hosts_path if hosts is not None else None,
        hosts=host_dns.parse_hosts(hosts.decode(errors="replace")) if hosts else (),
        host_file=identity is not None and identity == host_dns.file_identity(RESOLV),
        error=f"{where}{resolv_path}: {error}" if error else None)
    return (resolv, hosts, error, config.host_file), config


def _read_group(netns: str, group: host_dns.ProcessGroup) -> tuple[tuple, ResolverConfig] | None:
    """The group's files through the first of its processes still alive; None when all have
    exited since the index was taken (a short-lived command is not a resolver user)."""
    for pid in group.pids[:MAX_PIDS]:
        root = f"/proc/{pid}/root"
        key, config = _config(netns, root, root, RESOLV, HOSTS, group.pids, group.comms)
        if config.error is None or os.path.exists(f"/proc/{pid}"):
            return key, config
    return None


def _netns_file(index: host_dns.ProcessIndex, names: list[str], default: str) -> str:
    """/etc/netns/<name>/<file> when it exists (ip netns exec mounts it over /etc/<file>)."""
    base = os.path.basename(default)
    return next((f"{host_dns.NETNS_ETC}/{n}/{base}" for n in names
                 if base in index.netns_etc.get(n, ())), default)


class DnsCollector:
    name = "dns"
    field = "dns"

    def __init__(self) -> None:
        self.index = host_dns.CachedIndex(ttl=1.0)
        # files of the host's own tree, read once per process index (hundreds of lab
        # namespaces without processes all read the same /etc/resolv.conf)
        self._shared: dict[tuple[str, str], tuple[tuple, ResolverConfig]] = {}
        self._shared_for: host_dns.ProcessIndex | None = None

    def can_run(self) -> str | None:
        return None

    def begin(self) -> None:
        """A new read of the host starts: one fresh process index serves all its namespaces."""
        self.index.get(fresh=True)

    @staticmethod
    def _listeners(ctx: NsContext) -> list:
        tables = ctx.results.get("sockets")
        if tables is None:  # the sockets collector did not run here: read them on our own
            return host_dns.read_dns_listeners()
        return host_dns.dns_listeners((s.proto, s.state, s.local, s.local_port)
                                      for t in tables for s in t.sockets)

    def collect(self, ctx: NsContext) -> list[DnsNamespace]:
        # begin() took this read's index; the TTL only serves callers that did not call it
        index = self.index.index if self.index.index is not None else self.index.get()
        groups = index.groups.get(ctx.inode, [])
        if not groups:
            # no process: the files `ip netns exec` would give one, shared by the many
            # namespaces that have the same (lab and CNI namespaces with nobody inside)
            names = index.named.get(ctx.inode, [])
            if self._shared_for is not index:
                self._shared, self._shared_for = {}, index
            paths = (_netns_file(index, names, RESOLV), _netns_file(index, names, HOSTS))
            if paths not in self._shared:
                self._shared[paths] = _config("", "", "/", *paths, [], [])
            config = replaced(self._shared[paths][1], id=f"resolv:{ctx.inode}/0",
                              netns=ctx.netns)
            return [DnsNamespace(id=f"dns:{ctx.inode}", netns=ctx.netns, resolvers=(config,),
                                 listeners=())]
        found: dict[tuple, ResolverConfig] = {}
        for group in groups:
            read = _read_group(ctx.netns, group)
            if read is None:
                continue
            key, config = read
            seen = found.get(key)
            if seen is None:
                found[key] = config
                continue
            pids = (*seen.pids, *config.pids)[:MAX_PIDS]
            comms = (*seen.comms, *config.comms)[:MAX_PIDS]
            found[key] = replaced(seen, pids=pids, comms=comms)
        resolvers = tuple(replaced(c, id=f"resolv:{ctx.inode}/{i}")
                          for i, c in enumerate(found.values()))
        # sockets belong to processes: a namespace nobody runs in has none to list
        listeners = tuple(self._listeners(ctx))
        return [DnsNamespace(id=f"dns:{ctx.inode}", netns=ctx.netns, resolvers=resolvers,
                             listeners=listeners)]
