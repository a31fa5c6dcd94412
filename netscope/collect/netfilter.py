"""Netfilter rulesets of one namespace: iptables-managed tables and native nftables tables.

Subprocesses cost milliseconds each, so a netlink look at nf_tables decides first what to
run: nothing at all in a namespace without tables (most containers), iptables-save for the
families that have iptables-named tables (and iptables-legacy-save where x_tables are
loaded), nft -j only for tables iptables does not manage or cannot show faithfully.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

from netscope.collect.base import NsContext, gc_paused
from netscope.host import iptables, nfnl, nft
from netscope.model.netfilter import NfTable

FAMILIES = ("ip", "ip6")


class NetfilterCollector:
    """Reads the rulesets (the conntrack collector then finds them in ctx.results)."""

    name = "netfilter"
    field = "tables"

    def can_run(self) -> str | None:
        if not (shutil.which("iptables-save") or shutil.which("nft")):
            return "neither iptables-save nor nft is installed (packages iptables, nftables)"
        return None

    def collect(self, ctx: NsContext) -> list[NfTable]:
        with gc_paused():
            return self._read(ctx)

    def _read(self, ctx: NsContext) -> list[NfTable]:
        # The tools start first and run (on another core) while netlink is asked what they
        # may not show faithfully: at 1,200 rules that look costs ~10 ms, hidden here.
        sock = ctx.nfnl()
        present = nfnl.nf_tables(sock)
        legacy = [f for f in FAMILIES if nfnl.legacy_tables(f)]
        if not present and not legacy:
            return []
        wanted = [(f, "iptables-nft") for f in FAMILIES if _iptables_named(present, f)]
        wanted += [(f, "iptables-legacy") for f in legacy]
        saves: dict[tuple[str, str], subprocess.Popen] = {}
        native = None
        try:
            for key in wanted:
                saves[key] = iptables.start_save(*key)
            # a table iptables does not name needs nft whatever the look says
            if any(not _iptables_named([t], t[0]) for t in present):
                native = nft.start_nft()
            overview = nfnl.overview(sock, tables=present)
        finally:
            outputs = {key: _finished(iptables.finish_save, p) for key, p in saves.items()}
            ruleset = _finished(nft.finish_nft, native) if native else None
        tables: list[NfTable] = []
        covered: set[tuple[str, str]] = set()
        for (family, backend), text in outputs.items():
            if isinstance(text, OSError):
                raise text
            if backend == "iptables-legacy":
                tables += _parsed(iptables.parse_save, "iptables-legacy-save", text,
                                  ctx.inode, family, backend)
                continue
            names = {n for f, n in present if f == family}
            got = _iptables_tables(text, ctx.inode, family, names, overview.foreign)
            tables += got
            covered |= {(family, t.name) for t in got}
        if any(t not in covered for t in present):
            if ruleset is None:
                ruleset = nft.run_nft()
            if isinstance(ruleset, OSError):
                raise ruleset
            tables += _parsed(nft.parse_ruleset, "nft -j", ruleset, ctx.inode, covered)
        return tables


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
