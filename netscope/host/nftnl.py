"""Native nftables rulesets read over NETLINK_NETFILTER, without running nft.

`read_ruleset()` dumps tables, chains, sets with their elements and rules, and turns them
into the document `nft -j list ruleset` prints (host/nft.py parses either one into the same
model objects). A table holding something this reader does not decode is left out and
named, with the reason, so that the caller reads that table with `nft -j` instead.
nft 1.0's rendering is followed (its JSON is what tests compare with, on real rulesets).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from netscope.host.netlink import RtnlSocket, attr, attr_payloads, iter_attrs, parse_attrs
from netscope.host.nfnl import NFNL_SUBSYS_NFTABLES, NFPROTO_NAMES, Dumps
from netscope.host.nftnl_attrs import (
    NFT_MSG_GETCHAIN,
    NFT_MSG_GETRULE,
    NFT_MSG_GETSET,
    NFT_MSG_GETSETELEM,
    NFT_MSG_GETTABLE,
    NFT_SET_ANONYMOUS,
    NFT_SET_CONSTANT,
    NFT_SET_ELEM_INTERVAL_END,
    NFT_SET_INTERVAL,
    NFT_SET_MAP,
    NFT_SET_OBJECT,
    NFT_SET_TIMEOUT,
    NFTA_CHAIN,
    NFTA_EXPR,
    NFTA_HOOK,
    NFTA_RULE,
    NFTA_SET,
    NFTA_SET_ELEM,
    NFTA_SET_ELEM_LIST,
    NFTA_TABLE,
    NFTNL_UDATA_RULE_COMMENT,
    NFTNL_UDATA_SET_COMMENT,
    NFTNL_UDATA_SET_ELEM_COMMENT,
    NFTNL_UDATA_SET_KEYBYTEORDER,
)
from netscope.host.nftnl_expr import RuleContext, data_value, decode_expression
from netscope.host.nftnl_stmt import rule_statements
from netscope.host.nftnl_types import (
    BIG,
    HOST,
    NFT_DATA_VERDICT,
    TYPE_BITS,
    TYPE_NAMES,
    Unsupported,
    as_int,
    value_of,
)
from netscope.host.rtnl_values import Memo

# sizes of the types a set key can be made of (a concatenation's components are each
# padded to 4 bytes in the key)
TYPE_SIZES = {"ipv4_addr": 4, "ipv6_addr": 16, "inet_proto": 1, "inet_service": 2,
              "ether_addr": 6, "ether_type": 2, "mark": 4, "ifname": 16, "iface_index": 4,
              "nf_proto": 1, "icmp_type": 1, "icmpv6_type": 1, "ct_state": 4, "integer": 4}
HOOKS = {"arp": ("input", "output", "forward"), "netdev": ("ingress", "egress")}
INET_HOOKS = ("prerouting", "input", "forward", "output", "postrouting", "ingress")
POLICIES = {0: "drop", 1: "accept"}
# what decoding a message this reader does not understand can raise: that table is read
# with nft -j instead
DECODE_ERRORS = (Unsupported, KeyError, ValueError, IndexError, TypeError, struct.error)


def _text(raw: bytes | None) -> str:
    return raw.rstrip(b"\0").decode(errors="replace") if raw else ""


def _be(raw: bytes) -> int:
    return int.from_bytes(raw, "big")


def _udata(raw: bytes | None) -> dict[int, bytes]:
    """libnftnl's user data: TLVs of a 1-byte type and a 1-byte length."""
    out, off = {}, 0
    raw = raw or b""
    while off + 2 <= len(raw):
        kind, length = raw[off], raw[off + 1]
        out[kind] = raw[off + 2 : off + 2 + length]
        off += 2 + length
    return out


def _concat_types(type_id: int) -> tuple[str, ...]:
    parts = []
    while type_id:
        part = type_id & ((1 << TYPE_BITS) - 1)
        if part not in TYPE_NAMES:
            raise Unsupported(f"set key type {type_id}")
        parts.append(TYPE_NAMES[part])
        type_id >>= TYPE_BITS
    return tuple(reversed(parts))


@dataclass
class SetInfo:
    """A set or map of one table, with its elements as raw bytes."""

    family: str
    table: str
    name: str
    handle: int
    flags: int
    key_types: tuple[str, ...]
    key_len: int
    key_order: str
    data_type: str | None
    data_len: int
    comment: str | None
    elements: list[tuple[bytes, object, int, str | None]] = field(default_factory=list)

    @property
    def anonymous(self) -> bool:
        return bool(self.flags & NFT_SET_ANONYMOUS)

    def _key(self, raw: bytes):
        if len(self.key_types) == 1:
            return value_of(self.key_types[0], raw[: self.key_len], self.key_order)
        parts, off = [], 0
        for dtype in self.key_types:
            size = TYPE_SIZES.get(dtype)
            if size is None or dtype == "integer":
                raise Unsupported(f"concatenation of {dtype}")
            parts.append(value_of(dtype, raw[off : off + size]))
            off += (size + 3) // 4 * 4
        return {"concat": parts}

    def _sort_key(self, raw: bytes) -> int:
        """nft lists elements sorted by key value: a single value in its own byte order, a
        concatenation as the whole key's bytes read as one host-order (little-endian) number
        (so `1.2.3.4 . tcp . 80` comes before `172.30.0.41 . tcp . 80`, as nft shows)."""
        if len(self.key_types) == 1:
            return as_int(raw[: self.key_len], HOST if self.key_order == HOST else BIG)
        return as_int(raw[: self.key_len], HOST)

    def _data(self, value):
        if self.data_type is None:
            return None
        if isinstance(value, dict):
            return value
        return value_of(self.data_type, value[: self.data_len])

    def _intervals(self) -> list[tuple[bytes, object, str | None]]:
        """(key, value, comment) of an interval set, its ranges turned back into what nft
        prints: a prefix, a range or a single value."""
        if len(self.key_types) != 1 or self.data_type is not None:
            raise Unsupported("interval map or concatenation")
        dtype, size = self.key_types[0], self.key_len
        if dtype not in ("ipv4_addr", "ipv6_addr", "inet_service", "integer", "mark"):
            raise Unsupported(f"intervals of {dtype} (interface wildcards ...)")
        bounds = sorted(((as_int(k[:size], BIG), bool(f & NFT_SET_ELEM_INTERVAL_END), c)
                         for k, _, f, c in self.elements), key=lambda b: (b[0], not b[1]))
        out, start = [], None
        for number, is_end, comment in bounds:
            if not is_end:
                start = (number, comment)
                continue
            if start is not None:
                out.append(self._interval(dtype, size, start[0], number, start[1]))
                start = None
        if start is not None:
            out.append(self._interval(dtype, size, start[0], 1 << (8 * size), start[1]))
        return out

    def _interval(self, dtype: str, size: int, low: int, high: int, comment):
        def text(n: int):
            return value_of(dtype, n.to_bytes(size, "big"))

        span = high - low
        if span == 1:
            return (low, text(low), comment)
        if dtype in ("ipv4_addr", "ipv6_addr") and span & (span - 1) == 0 and low % span == 0:
            plen = 8 * size - span.bit_length() + 1
            return (low, {"prefix": {"addr": text(low), "len": plen}}, comment)
        return (low, {"range": [text(low), text(high - 1)]}, comment)

    def elements_json(self) -> list:
        if self.flags & NFT_SET_INTERVAL:
            items = [(v, None, c) for _, v, c in self._intervals()]
        else:
            ordered = sorted(self.elements, key=lambda e: self._sort_key(e[0]))
            items = [(self._key(k), self._data(d), c) for k, d, _, c in ordered]
        out = []
        for key, data, comment in items:
            if comment is not None:
                key = {"elem": {"val": key, "comment": comment}}
            out.append([key, data] if self.data_type is not None else key)
        return out

    def anonymous_json(self):
        """An anonymous set as a rule prints it: {"set": [...]}, a lone interval bare."""
        items = self.elements_json()
        if self.flags & NFT_SET_INTERVAL and len(items) == 1:
            return items[0]
        return {"set": items}

    def json(self) -> dict:
        kind = "map" if self.flags & NFT_SET_MAP else "set"
        body: dict = {"family": self.family, "name": self.name, "table": self.table,
                      "type": self.key_types[0] if len(self.key_types) == 1
                      else list(self.key_types), "handle": self.handle}
        if self.comment is not None:
            body["comment"] = self.comment
        flags = [name for bit, name in ((NFT_SET_CONSTANT, "constant"),
                                        (NFT_SET_INTERVAL, "interval"),
                                        (NFT_SET_TIMEOUT, "timeout")) if self.flags & bit]
        if flags:
            body["flags"] = flags
        if kind == "map":
            body["map"] = self.data_type
        elements = self.elements_json()
        if elements:
            body["elem"] = elements
        return {kind: body}


# types whose values the kernel keeps in host byte order (nft's datatypes say so)
HOST_ORDER_TYPES = {"mark", "ct_state", "ct_status", "ct_dir", "integer", "nf_proto",
                    "iface_index", "uid", "gid", "devgroup", "pkt_type", "fib_addrtype"}


def _key_order(udata: bytes | None, types: tuple[str, ...]) -> str:
    """The byte order of a set's keys: as the set's user data says (1 host, 2 big endian),
    else the type's own."""
    if udata:
        return HOST if int.from_bytes(udata, "little") == 1 else BIG
    return HOST if len(types) == 1 and types[0] in HOST_ORDER_TYPES else BIG


def _set_info(body: bytes) -> SetInfo:
    a = parse_attrs(body, 4)
    flags = _be(a.get(NFTA_SET.FLAGS, b""))
    if flags & NFT_SET_OBJECT:
        raise Unsupported("object map")
    udata = _udata(a.get(NFTA_SET.USERDATA))
    order = udata.get(NFTNL_UDATA_SET_KEYBYTEORDER)
    data_type = None
    if NFTA_SET.DATA_TYPE in a:
        dtype = _be(a[NFTA_SET.DATA_TYPE])
        data_type = "verdict" if dtype == NFT_DATA_VERDICT else TYPE_NAMES.get(dtype)
        if data_type is None:
            raise Unsupported(f"map data type {dtype}")
    comment = udata.get(NFTNL_UDATA_SET_COMMENT)
    return SetInfo(
        family=NFPROTO_NAMES.get(body[0], str(body[0])), table=_text(a[NFTA_SET.TABLE]),
        name=_text(a[NFTA_SET.NAME]), handle=_be(a.get(NFTA_SET.HANDLE, b"")), flags=flags,
        key_types=_concat_types(_be(a[NFTA_SET.KEY_TYPE])), key_len=_be(a[NFTA_SET.KEY_LEN]),
        key_order=_key_order(order, _concat_types(_be(a[NFTA_SET.KEY_TYPE]))),
        data_type=data_type, data_len=_be(a.get(NFTA_SET.DATA_LEN, b"")),
        comment=_text(comment) if comment is not None else None)


def _elements(sock: RtnlSocket, info: SetInfo, family: int) -> None:
    request = attr(NFTA_SET_ELEM_LIST.TABLE, info.table.encode() + b"\0") + \
        attr(NFTA_SET_ELEM_LIST.SET, info.name.encode() + b"\0")
    header = struct.pack("=BBH", family, 0, 0)
    for body in sock.dump(NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETSETELEM, header, request):
        elems = parse_attrs(body, 4).get(NFTA_SET_ELEM_LIST.ELEMENTS, b"")
        for _, raw in iter_attrs(elems):
            e = parse_attrs(raw)
            if NFTA_SET_ELEM.KEY_END in e or NFTA_SET_ELEM.EXPRESSIONS in e or \
                    NFTA_SET_ELEM.EXPR in e or NFTA_SET_ELEM.OBJREF in e:
                raise Unsupported("set elements with ranges of concatenations or statements")
            key = data_value(e[NFTA_SET_ELEM.KEY]) if NFTA_SET_ELEM.KEY in e else b""
            data = data_value(e[NFTA_SET_ELEM.DATA]) if NFTA_SET_ELEM.DATA in e else None
            comment = _udata(e.get(NFTA_SET_ELEM.USERDATA)).get(NFTNL_UDATA_SET_ELEM_COMMENT)
            info.elements.append((key if isinstance(key, bytes) else b"", data,
                                  _be(e.get(NFTA_SET_ELEM.FLAGS, b"")),
                                  _text(comment) if comment is not None else None))


def _chain(body: bytes) -> dict:
    a = parse_attrs(body, 4)
    family = NFPROTO_NAMES.get(body[0], str(body[0]))
    out: dict = {"family": family, "table": _text(a[NFTA_CHAIN.TABLE]),
                 "name": _text(a[NFTA_CHAIN.NAME]), "handle": _be(a[NFTA_CHAIN.HANDLE])}
    if NFTA_CHAIN.HOOK in a:
        hook = parse_attrs(a[NFTA_CHAIN.HOOK])
        number = _be(hook[NFTA_HOOK.HOOKNUM])
        names = HOOKS.get(family, INET_HOOKS)
        out["type"] = _text(a.get(NFTA_CHAIN.TYPE))
        out["hook"] = names[number] if number < len(names) else str(number)
        out["prio"] = struct.unpack(">i", hook[NFTA_HOOK.PRIORITY])[0]
        out["policy"] = POLICIES.get(_be(a.get(NFTA_CHAIN.POLICY, b"\0\0\0\1")), "accept")
    return out


def _expression(raw: bytes) -> tuple[str, dict]:
    e = parse_attrs(raw)
    name = e[NFTA_EXPR.NAME]
    text = _EXPR_NAMES.get(name)
    if text is None:
        text = _EXPR_NAMES[name] = _text(name)
    return decode_expression(text, e.get(NFTA_EXPR.DATA, b""))


_EXPR_NAMES: dict[bytes, str] = {}  # a few dozen expression names at most


# expressions by their bytes, decoded once: a big ruleset repeats most of them (the same
# interface match, port load, verdict) rule after rule; the decoded dicts are read only
_expressions: Memo[bytes, tuple[str, dict]] = Memo()


def _rule(a: dict[int, bytes], family: str, table: str, sets: dict[str, SetInfo],
          ifnames: dict[int, str], names: dict[bytes, str]) -> dict:
    """A rule from its message's attributes `a` (parsed once, by the caller) and its family
    and table (decoded once a table). `names`: chain names decoded so far."""
    get = _expressions.get
    exprs = [get(raw) or _expressions.decoded(raw, _expression)
             for raw in attr_payloads(a.get(NFTA_RULE.EXPRESSIONS, b""))]
    ctx = RuleContext(family, sets, ifnames)
    raw = a[NFTA_RULE.CHAIN]
    chain = names.get(raw)
    if chain is None:
        chain = names[raw] = _text(raw)
    out = {"family": family, "table": table, "chain": chain,
           "handle": _be(a[NFTA_RULE.HANDLE]), "expr": rule_statements(exprs, ctx)}
    comment = _udata(a.get(NFTA_RULE.USERDATA)).get(NFTNL_UDATA_RULE_COMMENT)
    if comment is not None:
        out["comment"] = _text(comment)
    return out


def read_ruleset(sock: RtnlSocket, ifnames: dict[int, str],
                 wanted: set[tuple[str, str]] | None = None, dumps: Dumps | None = None
                 ) -> tuple[dict, dict[tuple[str, str], str]]:
    """(the `nft -j list ruleset` document of every table decoded, {(family, table): why
    it was not} for the others). `wanted`: the tables to read (all when None).
    `ifnames`: interface names by index in this namespace, for `iif`/`oif` matches.
    `dumps`: the namespace's nf_tables dumps when the caller already asked for some."""
    dump = dumps or Dumps(sock)
    doc: list[dict] = []
    failed: dict[tuple[str, str], str] = {}
    tables = []
    for body in dump(NFT_MSG_GETTABLE):
        a = parse_attrs(body, 4)
        key = (NFPROTO_NAMES.get(body[0], str(body[0])), _text(a[NFTA_TABLE.NAME]))
        if wanted is None or key in wanted:
            tables.append((key, {"family": key[0], "name": key[1],
                                 "handle": _be(a[NFTA_TABLE.HANDLE])}))
    if not tables:
        return {"nftables": []}, failed
    wanted = {key for key, _ in tables}
    sets: dict[tuple[str, str], dict[str, SetInfo]] = {key: {} for key in wanted}
    for body in dump(NFT_MSG_GETSET):
        a = parse_attrs(body, 4)
        key = (NFPROTO_NAMES.get(body[0], str(body[0])), _text(a.get(NFTA_SET.TABLE)))
        if key not in wanted or key in failed:
            continue
        try:
            info = _set_info(body)
            _elements(sock, info, body[0])
            sets[key][info.name] = info
        except DECODE_ERRORS as e:
            failed[key] = f"set {_text(a.get(NFTA_SET.NAME))}: {e}"
    chains: dict[tuple[str, str], list[dict]] = {key: [] for key in wanted}
    for body in dump(NFT_MSG_GETCHAIN):
        chain = _chain(body)
        key = (chain["family"], chain["table"])
        if key in chains:
            chains[key].append(chain)
    rules: dict[tuple[str, str], list[dict]] = {key: [] for key in wanted}
    # (family number, table name bytes) -> key, and chain names, decoded once each
    keys: dict[tuple[int, bytes | None], tuple[str, str]] = {}
    names: dict[bytes, str] = {}
    for body in dump(NFT_MSG_GETRULE):
        a = parse_attrs(body, 4)
        raw = a.get(NFTA_RULE.TABLE)
        key = keys.get((body[0], raw))
        if key is None:
            key = keys[(body[0], raw)] = (NFPROTO_NAMES.get(body[0], str(body[0])), _text(raw))
        if key not in wanted or key in failed:
            continue
        try:
            rules[key].append(_rule(a, key[0], key[1], sets[key], ifnames, names))
        except DECODE_ERRORS as e:
            failed[key] = f"rule {_be(a.get(NFTA_RULE.HANDLE, b''))}: {e}"
    for key, table in tables:
        if key in failed:
            continue
        try:
            named = [s.json() for s in sets[key].values() if not s.anonymous]
        except DECODE_ERRORS as e:
            failed[key] = f"set elements: {e}"
            continue
        doc.append({"table": table})
        doc += named
        doc += ({"chain": c} for c in chains[key])
        doc += ({"rule": r} for r in rules[key])
    return {"nftables": doc}, failed


def forget() -> None:
    """Empty the reader's memories of decoded expressions (benchmarks time a first read)."""
    from netscope.host import nft, nftnl_expr

    _expressions.clear()
    nftnl_expr.forget()
    nft.forget_matches()
