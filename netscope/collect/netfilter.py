"""Netfilter rulesets of one namespace: iptables-managed tables and native nftables tables.

Subprocesses cost milliseconds each, so a netlink look at nf_tables decides first what to
run: nothing at all in a namespace without tables (most containers), iptables-save for the
families that have iptables-named tables (and iptables-legacy-save where x_tables are
loaded). Native tables, and iptables-named ones iptables-save cannot show faithfully, are
decoded from netlink (host.nftnl); `nft -j` runs only for a table holding something that
reader does not decode.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

from netscope.collect.base import NsContext, gc_paused
from netscope.host import iptables, nfnl, nft, nftnl
from netscope.model.netfilter import NfTable

FAMILIES = ("ip", "ip6")


class NetfilterCollector:
    """Reads the rulesets (the conntrack collector then finds them in ctx.results).

    `fallbacks`: (namespace inode, family, table) -> why the netlink reader left that table
    to `nft -j` (a construct host.nftnl does not decode), for the current read of the host.
    """

    name = "netfilter"
    field = "tables"

    def __init__(self) -> None:
        self.fallbacks: dict[tuple[int, str, str], str] = {}

    def begin(self) -> None:
        self.fallbacks = {}

    def can_run(self) -> str | None:
        if not (shutil.which("iptables-save") or shutil.which("nft")):
            return "neither iptables-save nor nft is installed (packages iptables, nftables)"
        return None

    def collect(self, ctx: NsContext) -> list[NfTable]:
        with gc_paused():
            return self._read(ctx)

    def _read(self, ctx: NsContext) -> list[NfTable]:
        # iptables-save starts first and runs (on another core) while netlink is read: the
        # look at what it may not show faithfully, and every native table, decoded here
        sock = ctx.nfnl()
        dumps = nfnl.Dumps(sock)
        present = nfnl.nf_tables(sock, dumps)
        legacy = [f for f in FAMILIES if nfnl.legacy_tables(f)]
        if not present and not legacy:
            return []
        wanted = [(f, "iptables-nft") for f in FAMILIES if _iptables_named(present, f)]
        wanted += [(f, "iptables-legacy") for f in legacy]
        saves: dict[tuple[str, str], subprocess.Popen] = {}
        try:
            for key in wanted:
                saves[key] = iptables.start_save(*key)
            overview = nfnl.overview(sock, tables=present, dumps=dumps)
            # tables iptables does not manage, or holds what it cannot show
            native = {t for t in present if not _iptables_named([t], t[0])} | overview.foreign
            doc, failed = nftnl.read_ruleset(sock, _ifnames(ctx), native, dumps)
        finally:
            outputs = {key: _finished(iptables.finish_save, p) for key, p in saves.items()}
        native_tables = _parsed(nft.parse_ruleset, "nf_tables", doc, ctx.inode, set(), True)
        covered: set[tuple[str, str]] = {(t.family, t.name) for t in native_tables}
        tables: list[NfTable] = []
        for (family, backend), text in outputs.items():
            if isinstance(text, OSError):
                raise text
            if backend == "iptables-legacy":
                tables += _parsed(iptables.parse_save, "iptables-legacy-save", text,
                                  ctx.inode, family, backend)
                continue
            names = {n for f, n in present if f == family and (f, n) not in covered}
            got = _iptables_tables(text, ctx.inode, family, names, overview.foreign)
            tables += got
            covered |= {(family, t.name) for t in got}
        rest = {t for t in present if t not in covered} - set(failed)
        if rest:  # iptables-named tables iptables-save called incompatible
            doc, more = nftnl.read_ruleset(sock, _ifnames(ctx), rest, dumps)
            failed.update(more)
            native_tables += _parsed(nft.parse_ruleset, "nf_tables", doc, ctx.inode, set(),
                                     True)
        if failed:
            # what the netlink reader does not decode is read by nft -j, and said so
            self.fallbacks.update({(ctx.inode, *key): why for key, why in failed.items()})
            ruleset = nft.run_nft()
            native_tables += _parsed(nft.parse_ruleset, "nft -j", ruleset, ctx.inode,
                                     {t for t in present if t not in failed})
        # native tables in the kernel's order, after the iptables ones, as nft -j lists them
        order = {t: i for i, t in enumerate(present)}
        return tables + sorted(native_tables, key=lambda t: order.get((t.family, t.name), 0))


def _ifnames(ctx: NsContext) -> dict[int, str]:
    return {link.ifindex: link.name for link in ctx.results.get("links", ())}


def _iptables_named(present: list[tuple[str, str]], family: str) -> bool:
    return any(f == family and n in nfnl.IPTABLES_CHAINS for f, n in present)


def _finished(finish: Callable, proc: subprocess.Popen):
    # every started tool is waited for, even when another one (or netlink) failed
    try:
        return finish(proc)
    except OSError as e:
        return e


def _iptables_tables(text: str, inode: int, family: str, names: set[str],
                     foreign: set[tuple[str, str]]) -> list[NfTable]:
    """The tables iptables-save shows faithfully: not those it calls incompatible, nor those
    holding what it cannot express (left for nft -j)."""
    skip = iptables.incompatible_tables(text) | {n for f, n in foreign if f == family}
    parsed = _parsed(iptables.parse_save, "iptables-save", text, inode, family)
    return [t for t in parsed if t.name in names and t.name not in skip]


def _parsed(parse, tool: str, *args) -> list[NfTable]:
    # output netscope cannot parse is a collector error for this namespace, not a crash
    try:
        return parse(*args)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
        raise nft.NftFailed(f"could not read {tool} output: {type(e).__name__}: {e}") from None
