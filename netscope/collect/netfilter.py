"""Netfilter rulesets of one namespace: iptables-managed tables and native nftables tables.

Subprocesses cost milliseconds each, so a netlink look at nf_tables decides first what to
run: nothing at all in a namespace without tables (most containers), iptables-save for the
families that have iptables-named tables, nft -j only when some table is not iptables'.
"""

from __future__ import annotations

import shutil

from netscope.collect.base import NsContext
from netscope.host import iptables, nfnl, nft
from netscope.model.netfilter import NfTable

FAMILIES = ("ip", "ip6")


class NetfilterCollector:
    name = "netfilter"
    field = "tables"

    def can_run(self) -> str | None:
        if not (shutil.which("iptables-save") or shutil.which("nft")):
            return "neither iptables-save nor nft is installed (packages iptables, nftables)"
        return None

    def collect(self, ctx: NsContext) -> list[NfTable]:
        with nfnl.nfnl_socket() as sock:
            overview = nfnl.overview(sock)
        tables: list[NfTable] = []
        covered: set[tuple[str, str]] = set()
        for family in FAMILIES:
            names = {n for f, n in overview.tables if f == family}
            if names & nfnl.IPTABLES_CHAINS.keys():
                got = _iptables_tables(ctx.inode, family, names, overview.foreign)
                tables += got
                covered |= {(family, t.name) for t in got}
            if nfnl.legacy_tables(family):
                tables += _parsed(iptables.parse_save, "iptables-legacy-save",
                                  iptables.run_save(family, "iptables-legacy"), ctx.inode,
                                  family, "iptables-legacy")
        if any(t not in covered for t in overview.tables):
            tables += _parsed(nft.parse_ruleset, "nft -j", nft.run_nft(), ctx.inode, covered)
        return tables


def _iptables_tables(inode: int, family: str, names: set[str],
                     foreign: set[tuple[str, str]]) -> list[NfTable]:
    """The tables iptables-save shows faithfully: not those it calls incompatible, nor those
    holding what it cannot express (left for nft -j)."""
    text = iptables.run_save(family, "iptables-nft")
    skip = iptables.incompatible_tables(text) | {n for f, n in foreign if f == family}
    parsed = _parsed(iptables.parse_save, "iptables-save", text, inode, family)
    return [t for t in parsed if t.name in names and t.name not in skip]


def _parsed(parse, tool: str, *args) -> list[NfTable]:
    # output netscope cannot parse is a collector error for this namespace, not a crash
    try:
        return parse(*args)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
        raise nft.NftFailed(f"could not read {tool} output: {type(e).__name__}: {e}") from None
