"""NETLINK_NETFILTER framing, and a cheap look at nf_tables without running nft.

Every message starts with `nfgenmsg` (family, version, resource id); the message type is
`subsystem << 8 | command`. The nf_tables look here answers, per namespace and without a
subprocess: which tables exist (none: skip iptables-save and nft entirely; one dump, tens of
microseconds), which iptables-named tables iptables-save would misreport, and does anything
make the kernel track connections (nat chains, ct expressions, conntrack/state matches).
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass, field

from netscope.host.netlink import RtnlSocket, iter_attrs, parse_attrs

NETLINK_NETFILTER = 12
NFNL_SUBSYS_CTNETLINK = 1
NFNL_SUBSYS_NFTABLES = 10
NFGENMSG = struct.Struct("=BBH")

NFT_MSG_GETTABLE = 1
NFT_MSG_GETCHAIN = 4
NFT_MSG_GETRULE = 7
NFT_MSG_GETSET = 10
NFTA_SET_TABLE = 1
NFTA_TABLE_NAME = 1
NFTA_CHAIN_TABLE = 1
NFTA_CHAIN_NAME = 3
NFTA_CHAIN_HOOK = 4
NFTA_CHAIN_TYPE = 7
NFTA_RULE_TABLE = 1
NFTA_RULE_CHAIN = 2
NFTA_RULE_EXPRESSIONS = 4
NFTA_EXPR_NAME = 1
NFTA_EXPR_DATA = 2
NFTA_MATCH_NAME = 1  # also NFTA_TARGET_NAME

NFPROTO_NAMES = {1: "inet", 2: "ip", 3: "arp", 5: "netdev", 7: "bridge", 10: "ip6"}
# nf_tables expressions and xt extensions that take a conntrack reference in the namespace
CT_EXPRESSIONS = {"ct", "nat", "masq", "redir", "connlimit", "ct_expect", "flow_offload"}
CT_XT = {"conntrack", "state", "connmark", "CONNMARK", "helper", "connbytes", "connlabel",
         "connlimit", "cluster", "MASQUERADE", "SNAT", "DNAT", "REDIRECT", "NETMAP", "CT"}


# The tables iptables-nft manages, their built-in chains, and the nf_tables expressions
# iptables-nft 1.8 writes (what iptables-save can turn back into iptables syntax).
IPTABLES_CHAINS = {
    "filter": {"INPUT", "FORWARD", "OUTPUT"},
    "nat": {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"},
    "mangle": {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"},
    "raw": {"PREROUTING", "OUTPUT"},
    "security": {"INPUT", "FORWARD", "OUTPUT"},
}
# nf_tables expressions iptables-nft 1.8 never writes into ip/ip6 tables: a rule holding one
# is native nft that iptables-save would silently show without it. Found by their attribute
# bytes (NFTA_EXPR_NAME, NUL-terminated) in the raw rule messages: no per-expression decoding.
NFT_ONLY_EXPRESSIONS = ("lookup", "dynset", "range", "fib", "ct", "nat", "masq", "redir",
                        "reject", "socket", "tproxy", "quota", "numgen", "hash", "rt",
                        "exthdr", "osf", "xfrm", "synproxy", "connlimit", "objref", "fwd",
                        "dup", "queue", "notrack", "flow_offload", "last", "inner",
                        "byteorder", "tunnel", "ct_expect", "secmark")


def _expr_name_pattern(names: tuple[str, ...]) -> re.Pattern[bytes]:
    # a list element's type (NFTA_LIST_ELEM with or without NLA_F_NESTED) then
    # its NFTA_EXPR_NAME: never an xt extension's name, nested deeper in NFTA_EXPR_DATA
    heads = [re.escape(struct.pack("=HH", 5 + len(n), NFTA_EXPR_NAME) + n.encode() + b"\0")
             for n in names]
    return re.compile(b"\x01[\x00\x80](?:" + b"|".join(heads) + b")")


_NFT_ONLY = _expr_name_pattern(NFT_ONLY_EXPRESSIONS)


def nfnl_socket() -> RtnlSocket:
    """A NETLINK_NETFILTER socket in the namespace the calling thread is in."""
    return RtnlSocket(NETLINK_NETFILTER)


def nfgen(family: int = 0) -> bytes:
    return NFGENMSG.pack(family, 0, 0)


def _cstr(raw: bytes | None) -> str:
    return raw.rstrip(b"\0").decode(errors="replace") if raw else ""


class Dumps:
    """The nf_tables dumps of one namespace, each asked for once and shared (the overview
    below and the ruleset reader, host.nftnl, read the same chains, sets and rules)."""

    def __init__(self, sock: RtnlSocket) -> None:
        self.sock = sock
        self._got: dict[int, list[bytes]] = {}

    def __call__(self, msg: int) -> list[bytes]:
        got = self._got.get(msg)
        if got is None:
            got = self._got[msg] = self.sock.dump(NFNL_SUBSYS_NFTABLES << 8 | msg, nfgen())
        return got


def nf_tables(sock: RtnlSocket, dumps: Dumps | None = None) -> list[tuple[str, str]]:
    """(family, name) of every nf_tables table in the namespace (iptables-nft's included)."""
    out = []
    for body in (dumps or Dumps(sock))(NFT_MSG_GETTABLE):
        family = NFPROTO_NAMES.get(body[0], str(body[0]))
        out.append((family, _cstr(parse_attrs(body, 4).get(NFTA_TABLE_NAME))))
    return out


def _expressions(attrs: dict[int, bytes]) -> list[tuple[str, str | None]]:
    """(expression name, xt extension name or None) of every expression of a rule."""
    out = []
    for _, elem in iter_attrs(attrs.get(NFTA_RULE_EXPRESSIONS, b"")):
        expr = parse_attrs(elem)
        name = _cstr(expr.get(NFTA_EXPR_NAME))
        xt = None
        if name in ("match", "target"):
            xt = _cstr(parse_attrs(expr.get(NFTA_EXPR_DATA, b"")).get(NFTA_MATCH_NAME))
        out.append((name, xt))
    return out


def _ct_user(exprs: list[tuple[str, str | None]]) -> str | None:
    for name, xt in exprs:
        if name in CT_EXPRESSIONS:
            return f"an nft '{name}' expression"
        if xt in CT_XT:
            return f"an iptables '{xt}' {name}"
    return None


@dataclass
class Overview:
    """What nf_tables holds in one namespace, from a few netlink dumps.

    `tables`: (family, name) of every table. `foreign`: ip/ip6 tables with an iptables name
    (filter, nat ...) that hold what iptables-save cannot show faithfully (base chains
    iptables does not know, sets, nft-only expressions): read them with nft instead.
    `conntrack_users` (only when asked for): what makes the kernel track connections here,
    e.g. "nat chain ip nat/POSTROUTING" (empty: nothing in nf_tables does).
    """

    tables: list[tuple[str, str]] = field(default_factory=list)
    foreign: set[tuple[str, str]] = field(default_factory=set)
    conntrack_users: list[str] = field(default_factory=list)


def _family(body: bytes) -> str:
    return NFPROTO_NAMES.get(body[0], str(body[0]))


def _iptables_named(family: str, table: str) -> bool:
    return family in ("ip", "ip6") and table in IPTABLES_CHAINS


def overview(sock: RtnlSocket, conntrack: bool = False,
             tables: list[tuple[str, str]] | None = None, dumps: Dumps | None = None
             ) -> Overview:
    """Tables and foreign iptables-named tables (see Overview); with `conntrack`, also what
    uses conntrack (that decodes every rule's expressions: ~15 ms for 1,200 rules).
    `tables` is nf_tables(sock) when the caller already has it; `dumps` shares the dumps."""
    found = Overview(tables=nf_tables(sock) if tables is None else tables)
    if not found.tables:
        return found
    dump = dumps or Dumps(sock)
    for body in dump(NFT_MSG_GETCHAIN):
        attrs = parse_attrs(body, 4)
        family = _family(body)
        table, chain = _cstr(attrs.get(NFTA_CHAIN_TABLE)), _cstr(attrs.get(NFTA_CHAIN_NAME))
        if _cstr(attrs.get(NFTA_CHAIN_TYPE)) == "nat":
            found.conntrack_users.append(f"nat chain {family} {table}/{chain}")
        if _iptables_named(family, table) and NFTA_CHAIN_HOOK in attrs and \
                chain not in IPTABLES_CHAINS[table]:
            found.foreign.add((family, table))
    # iptables-nft makes no sets in ip/ip6 tables (only ebtables' among does, in bridge ones)
    for body in dump(NFT_MSG_GETSET):
        table = _cstr(parse_attrs(body, 4).get(NFTA_SET_TABLE))
        if _iptables_named(_family(body), table):
            found.foreign.add((_family(body), table))
    iptables_named = any(_iptables_named(f, t) for f, t in found.tables)
    if not (iptables_named or conntrack):
        return found
    for body in dump(NFT_MSG_GETRULE):
        attrs = parse_attrs(body, 4)
        foreign = _NFT_ONLY.search(attrs.get(NFTA_RULE_EXPRESSIONS, b"")) is not None
        if not (foreign or conntrack):
            continue
        family, table = _family(body), _cstr(attrs.get(NFTA_RULE_TABLE))
        if foreign and _iptables_named(family, table):
            found.foreign.add((family, table))
        user = _ct_user(_expressions(attrs)) if conntrack else None
        if user:
            found.conntrack_users.append(
                f"{user} in {family} {table}/{_cstr(attrs.get(NFTA_RULE_CHAIN))}")
    return found


def legacy_tables(family: str) -> list[str]:
    """x_tables (iptables-legacy) tables loaded in this namespace, from /proc/net."""
    # thread-self: /proc/net is the main thread's namespace, not the visiting thread's
    path = f"/proc/thread-self/net/{'ip' if family == 'ip' else 'ip6'}_tables_names"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return []
    try:
        return os.read(fd, 4096).decode().split()
    finally:
        os.close(fd)
