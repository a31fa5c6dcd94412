"""The conntrack table of one namespace, capped, or why there is none.

Conntrack only runs in a namespace once something there uses it (a nat chain, a ct or
conntrack/state match, a NAT target): an empty dump from a namespace where nothing does
would look like "no connections" when the truth is "not tracked". So the collector says
`active=False` with the reason, and reads entries only where conntrack runs.
"""

from __future__ import annotations

import os
import struct

from netscope.collect.base import NsContext
from netscope.host import conntrack, kmod, nfnl
from netscope.model.netfilter import ConntrackTable, NfTable, conntrack_users

# at most this many entries per namespace go into a snapshot (the total is kept)
CONNTRACK_CAP = 10_000
SYSCTL_DIR = "/proc/sys/net/netfilter/"


def _sysctl(name: str) -> int | None:
    # /proc/sys/net follows the namespace of the thread that opens it
    try:
        with open(SYSCTL_DIR + name, "rb") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def why_inactive(count: int, tables: list[NfTable] | None, ctx: NsContext) -> str | None:
    """None when conntrack runs in the current namespace, else the reason it does not.

    `tables` are the namespace's rulesets if already read; else nf_tables is asked.
    """
    if count > 0:
        return None
    if tables is not None:
        users = conntrack_users(tables)
    else:
        users = nfnl.overview(ctx.nfnl(), conntrack=True).conntrack_users
        # x_tables (legacy) nat registers conntrack; legacy rules are not read here
        users += [f"legacy {f} nat table" for f in ("ip", "ip6")
                  if "nat" in nfnl.legacy_tables(f)]
    if users:
        return None
    return ("no rule in this namespace uses conntrack (no nat chain, ct or conntrack match), "
            "so the kernel does not track its connections")


class ConntrackCollector:
    name = "conntrack"
    field = "conntrack"

    def __init__(self, cap: int = CONNTRACK_CAP) -> None:
        self.cap = cap
        self._loaded: bool | None = None
        self._netlink = False

    def can_run(self) -> str | None:
        return None

    def begin(self) -> None:
        """Once per read: is nf_conntrack there at all, and can ctnetlink be asked?"""
        # module facts are the host's, not a namespace's: the calling thread's view serves
        self._loaded = os.path.exists(SYSCTL_DIR + "nf_conntrack_count")
        self._netlink = self._loaded and kmod.available("nf_conntrack_netlink", "NF_CT_NETLINK")

    def _size(self, ctx: NsContext) -> tuple[int | None, int | None]:
        """(nf_conntrack_count, nf_conntrack_max) of the namespace; count None: not loaded."""
        if self._loaded is None:
            self.begin()
        if not self._loaded:
            return None, None
        if self._netlink:
            try:
                return conntrack.table_size(ctx.nfnl())
            except OSError:
                pass  # the file says the same, slower
        return _sysctl("nf_conntrack_count"), _sysctl("nf_conntrack_max")

    def collect(self, ctx: NsContext) -> list[ConntrackTable]:
        ident = f"conntrack:{ctx.inode}"
        count, limit = self._size(ctx)
        if count is None:
            return [ConntrackTable(
                id=ident, netns=ctx.netns, active=False,
                reason="nf_conntrack is not loaded (no net.netfilter.nf_conntrack_count): "
                       "nothing on this host tracks connections")]
        # the netfilter collector runs first here: its tables tell what uses conntrack
        tables = ctx.results.get("tables")
        reason = why_inactive(count, tables, ctx)
        if reason:
            return [ConntrackTable(id=ident, netns=ctx.netns, active=False, reason=reason,
                                   count=count)]
        accounting = _sysctl("nf_conntrack_acct") == 1
        try:
            entries, truncated = conntrack.dump_entries(ctx.inode, self.cap)
        except (KeyError, IndexError, ValueError, struct.error) as e:
            # a message this parser does not understand: an error for this namespace only
            raise conntrack.ConntrackUnreadable(
                f"could not parse a conntrack entry: {type(e).__name__}: {e}") from None
        return [ConntrackTable(
            id=ident, netns=ctx.netns, active=True, count=max(count, len(entries)),
            max=limit, accounting=accounting, truncated=truncated, entries=tuple(entries))]
