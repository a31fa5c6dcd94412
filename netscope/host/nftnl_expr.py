"""A rule's nf_tables expressions, decoded, and its loads and compares turned back into
what `nft -j` prints (statements, lookups and the walk over a rule: host/nftnl_stmt.py).

The kernel holds bytecode: `meta load l4proto => reg 1; cmp eq reg 1 6; payload load 2b @
transport header + 2 => reg 1; cmp eq reg 1 0x0050`. nft prints `tcp dport 80`: it names
header fields from what earlier matches proved about the packet, and hides those earlier
matches when they were only the dependency of a later one. This module follows nftables
1.0's rules for the constructs netscope's rulesets use; anything else raises Unsupported
and the caller reads that table with `nft -j` instead (never a guess).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from netscope.host.netlink import NLA_HDR, NLA_TYPE_MASK, parse_attrs
from netscope.host.nftnl_attrs import (
    NFT_REG32_00,
    NFT_REG_VERDICT,
    NFTA_BITWISE,
    NFTA_CMP,
    NFTA_COUNTER,
    NFTA_CT,
    NFTA_DATA,
    NFTA_DYNSET,
    NFTA_FIB,
    NFTA_IMMEDIATE,
    NFTA_LIMIT,
    NFTA_LOG,
    NFTA_LOOKUP,
    NFTA_MASQ,
    NFTA_MATCH,
    NFTA_META,
    NFTA_NAT,
    NFTA_NG,
    NFTA_PAYLOAD,
    NFTA_RANGE,
    NFTA_REDIR,
    NFTA_REJECT,
    NFTA_SOCKET,
    NFTA_VERDICT,
)
from netscope.host.nftnl_types import (
    BIG,
    BITMASK_TYPES,
    CT_DIRS,
    CT_KEYS,
    FIB_FLAGS,
    FIB_RESULT_TYPES,
    FIB_RESULTS,
    HEADER_FIELDS,
    HOST,
    META_KEYS,
    NETWORK,
    TRANSPORT,
    Unsupported,
    as_int,
    flag_list,
    protocol_numbers,
    value_of,
    verdict_json,
)
from netscope.host.rtnl_values import Memo

BE32 = struct.Struct(">I")
NLA = NLA_HDR.unpack_from
_data: Memo[bytes, bytes | dict] = Memo()
OPS = {0: "==", 1: "!=", 2: "<", 3: "<=", 4: ">", 5: ">="}
# inet, bridge and netdev rules prove the network protocol with a match of their own
L3_FROM_FAMILY = {"ip": "ip", "ip6": "ip6", "arp": "arp"}


def be32(raw: bytes) -> int:
    return BE32.unpack_from(raw)[0]


def reg32(reg: int) -> int:
    """The 32-bit register index of NFT_REG_1..4 (16-byte registers) or NFT_REG32_xx."""
    return reg if reg >= NFT_REG32_00 or reg == NFT_REG_VERDICT else NFT_REG32_00 + 4 * (reg - 1)


# the attribute space of each expression's NFTA_EXPR_DATA
EXPR_SPACES = {
    "immediate": NFTA_IMMEDIATE, "cmp": NFTA_CMP, "payload": NFTA_PAYLOAD, "meta": NFTA_META,
    "bitwise": NFTA_BITWISE, "lookup": NFTA_LOOKUP, "range": NFTA_RANGE,
    "counter": NFTA_COUNTER, "ct": NFTA_CT, "nat": NFTA_NAT, "masq": NFTA_MASQ,
    "redir": NFTA_REDIR, "reject": NFTA_REJECT, "fib": NFTA_FIB, "numgen": NFTA_NG,
    "dynset": NFTA_DYNSET, "match": NFTA_MATCH, "target": NFTA_MATCH, "log": NFTA_LOG,
    "limit": NFTA_LIMIT, "socket": NFTA_SOCKET, "notrack": None,
}


def _be_int(raw: bytes) -> int:
    return int.from_bytes(raw, "big")


def _text(raw: bytes) -> str:
    return raw.rstrip(b"\0").decode(errors="replace")


_DECODERS = {"be16": _be_int, "be32": _be_int, "be64": _be_int,
             "u8": lambda raw: raw[0] if raw else 0, "asciiz": _text}


def _decoders(space) -> dict:
    """attribute number -> how to decode it, from the space's declared kinds."""
    if space is None:
        return {}
    out = {}
    for number in space.numbers().values():
        kind = space.kind(number)
        if kind == "data":
            out[number] = data_value
        elif kind in _DECODERS:
            out[number] = _DECODERS[kind]
    return out


_EXPR_DECODERS: dict[str, dict] = {}


def decode_expression(name: str, data: bytes) -> tuple[str, dict[int, object]]:
    """(name, its attributes decoded by their declared kind: integers, text, data values).

    Done once per distinct expression (nftnl remembers them by their bytes)."""
    decoders = _EXPR_DECODERS.get(name)
    if decoders is None:
        if name not in EXPR_SPACES:
            raise Unsupported(f"expression {name}")
        decoders = _EXPR_DECODERS[name] = _decoders(EXPR_SPACES[name])
    get = decoders.get
    out: dict[int, object] = {}
    # parse_attrs' walk, each payload decoded as it is met (no dict of raw payloads between)
    off, end = 0, len(data)
    while off + 4 <= end:
        alen, number = NLA(data, off)
        if alen < 4:
            break
        number &= NLA_TYPE_MASK
        raw = data[off + 4 : off + alen]
        decode = get(number)
        out[number] = decode(raw) if decode is not None else raw
        off += (alen + 3) & ~3
    return name, out


def data_value(raw: bytes) -> bytes | dict:
    """An NFTA_DATA nest: the value's bytes, or a verdict as nft -j writes it (a dict that
    callers share and never change)."""
    got = _data.get(raw)
    return got if got is not None else _data.decoded(raw, _data_value)


def _data_value(raw: bytes) -> bytes | dict:
    a = parse_attrs(raw)
    if NFTA_DATA.VALUE in a:
        return a[NFTA_DATA.VALUE]
    v = parse_attrs(a[NFTA_DATA.VERDICT])
    code = struct.unpack(">i", v[NFTA_VERDICT.CODE])[0]
    chain = v.get(NFTA_VERDICT.CHAIN)
    return verdict_json(code, chain.rstrip(b"\0").decode() if chain else None)


@dataclass(eq=False)
class Value:
    """What a register holds: an expression nft would print, its type and byte order.

    Hashed by identity: a load's Value is made once per distinct expression and context, and
    what a compare of it prints is remembered against it (see _cmp)."""

    expr: object
    dtype: str
    length: int
    order: str = BIG
    layer: tuple[str, str] | None = None  # ("network"/"transport", protocol) of a payload
    mask: bytes | None = None  # a bitwise AND applied to it (xor 0)
    op: str | None = None  # a bitwise that computed a mark: "&", "|", "^" and its operand
    operand: int = 0
    raw: bytes | None = None  # an immediate's bytes
    partial: int | None = None  # only this many leading bytes of an address were loaded


class RuleContext:
    """One rule being turned into statements (a plain class: one is made per rule)."""

    __slots__ = ("deps", "family", "ifnames", "l3", "l4", "out", "regs", "sets")

    def __init__(self, family: str, sets: dict, ifnames: dict[int, str]) -> None:
        self.family = family
        self.sets = sets  # set name -> decoded set (nftnl.SetInfo)
        self.ifnames = ifnames
        self.regs: dict[int, Value] = {}
        self.out: list = []
        self.l3: str | None = L3_FROM_FAMILY.get(family)
        self.l4: str | None = None
        self.deps: dict[str, tuple[int, str, bool]] = {}

    def load(self, reg: int, value: Value) -> None:
        self.regs[reg32(reg)] = value

    def reg(self, reg: int) -> Value:
        value = self.regs.get(reg32(reg))
        if value is None:
            raise Unsupported(f"register {reg} read before it is written")
        return value


def payload(ctx: RuleContext, a: dict) -> Value:
    known = a.setdefault(VALUES, {})
    value = known.get((ctx.l3, ctx.l4))
    if value is None:
        value = known[(ctx.l3, ctx.l4)] = _payload_value(ctx, a)
    _kill_dependency(ctx, value.layer)
    return value


def _payload_value(ctx: RuleContext, a: dict) -> Value:
    base, offset, length = a[NFTA_PAYLOAD.BASE], a[NFTA_PAYLOAD.OFFSET], a[NFTA_PAYLOAD.LEN]
    if base == 0:
        if ctx.family not in ("bridge", "netdev"):
            raise Unsupported("link-layer payload outside bridge/netdev tables")
        proto, layer = "ether", ("link", "ether")
    elif base == 1:
        if ctx.l3 is None:
            raise Unsupported("network header with no known protocol")
        proto, layer = ctx.l3, ("network", ctx.l3)
    elif base == 2:
        proto = ctx.l4 or "th"
        layer = ("transport", proto)
    else:
        raise Unsupported(f"payload base {base}")
    fields = HEADER_FIELDS.get(proto, {})
    named, partial = fields.get((offset, length)), None
    if named is None:
        # nft loads only the bytes a prefix covers (`ip saddr 10.1.0.0/16`: 2 of 4)
        whole = next(((n, size) for (o, size), n in fields.items()
                      if o == offset and size > length and n[1] in ("ipv4_addr", "ipv6_addr")),
                     None)
        if whole is None:
            raise Unsupported(f"{proto} header bytes {offset}+{length}")
        named, partial, length = whole[0], length, whole[1]
    name, dtype = named
    return Value({"payload": {"protocol": proto, "field": name}}, dtype, length, BIG, layer,
                 partial=partial)


def _kill_dependency(ctx: RuleContext, layer: tuple[str, str]) -> None:
    """Hide the match that was only this header's dependency, as nft does when it prints."""
    if not ctx.deps:
        return
    level = {"network": "l3", "transport": "l4"}.get(layer[0])
    dep = ctx.deps.pop(level, None) if level else None
    if dep is None:
        return
    index, proto, from_payload = dep
    if proto != layer[1]:
        return
    if level == "l4" and from_payload and ctx.family in ("inet", "bridge", "netdev"):
        if proto in ("icmp", "icmpv6"):
            return  # nft keeps `ip protocol icmp` before `icmp type` in these families
        raise Unsupported("network-header protocol match before a transport header")
    ctx.out[index] = None


# Slots of a decoded expression's (memoized, shared) attribute dict where what follows from
# it alone is kept: attribute numbers are ints, these are not
VALUE, VALUES, RIGHTS = "value", "values", "rights"


def meta_load(ctx: RuleContext, a: dict, dreg: int) -> None:
    value = a.get(VALUE)
    if value is None:
        key = a[NFTA_META.KEY]
        known = META_KEYS.get(key)
        if known is None:
            raise Unsupported(f"meta key {key}")
        name, dtype, length, order = known
        value = a[VALUE] = Value({"meta": {"key": name}}, dtype, length, order, ("meta", name))
    ctx.load(dreg, value)


def ct_load(ctx: RuleContext, a: dict, dreg: int) -> None:
    value = a.get(VALUE)
    if value is None:
        key = a[NFTA_CT.KEY]
        known = CT_KEYS.get(key)
        if known is None:
            raise Unsupported(f"ct key {key}")
        name, dtype, length, order = known
        expr: dict = {"key": name}
        if NFTA_CT.DIRECTION in a:
            expr["dir"] = CT_DIRS[a[NFTA_CT.DIRECTION]]
        value = a[VALUE] = Value({"ct": expr}, dtype, length, order)
    ctx.load(dreg, value)


def bitwise(ctx: RuleContext, a: dict) -> None:
    if a.get(NFTA_BITWISE.OP, 0) != 0:
        raise Unsupported("bitwise shift")
    src = ctx.reg(a[NFTA_BITWISE.SREG])
    known = a.setdefault(VALUES, {})
    out = known.get(src)
    if out is None:
        out = known[src] = _masked(src, a[NFTA_BITWISE.MASK], a[NFTA_BITWISE.XOR])
    ctx.load(a[NFTA_BITWISE.DREG], out)


def _masked(src: Value, mask, xor) -> Value:
    if not isinstance(mask, bytes) or not isinstance(xor, bytes):
        raise Unsupported("bitwise with a verdict")
    out = Value(src.expr, src.dtype, src.length, src.order, src.layer, partial=src.partial)
    width = len(mask)
    full = (1 << (8 * width)) - 1
    m, x = as_int(mask, src.order), as_int(xor, src.order)
    if x == 0:
        out.mask, out.op, out.operand = mask, "&", m
    elif m & x == 0 and m | x == full:
        out.op, out.operand = "|", x
    elif m == full:
        out.op, out.operand = "^", x
    else:
        raise Unsupported("bitwise with both mask and xor")
    return out


def _prefix_len(mask: bytes) -> int | None:
    bits = int.from_bytes(mask, "big")
    width = 8 * len(mask)
    n = bin(bits).count("1")
    return n if bits == ((1 << n) - 1) << (width - n) else None


def _right(value: Value, raw: bytes, ctx: RuleContext):
    if value.dtype == "ifname" and not raw.endswith(b"\0"):
        return value_of("ifname", raw) + "*"  # nft's wildcard: a compare of the prefix only
    return value_of(value.dtype, raw, value.order, ctx.ifnames)


def cmp(ctx: RuleContext, a: dict) -> None:
    left = ctx.reg(a[NFTA_CMP.SREG])
    if left.dtype == "iface_index":  # names differ from namespace to namespace
        match(ctx, *_compare(ctx, a, left), left)
        return
    known = a.setdefault(RIGHTS, {})
    got = known.get(left)
    if got is None:
        op, expr, right = _compare(ctx, a, left)
        # one body per distinct compare, shared by every rule that makes it: readers of the
        # document may remember what they made of it (nft.parse_ruleset(shared=True))
        got = known[left] = (op, expr, right, {"op": op, "left": expr, "right": right})
    match(ctx, *got[:3], left, got[3])


def _compare(ctx: RuleContext, a: dict, left: Value) -> tuple[str, object, object]:
    """(op, left, right) of a compare of `left`, as nft prints it."""
    op = OPS[a[NFTA_CMP.OP]]
    raw = a[NFTA_CMP.DATA]
    if not isinstance(raw, bytes):
        raise Unsupported("compare with a verdict")
    expr = left.expr
    if left.partial is not None:
        bits = 8 * left.partial if left.op is None else (
            _prefix_len(left.mask or b"") if left.op == "&" else None)
        if bits is None or len(raw) != left.partial or op not in ("==", "!="):
            raise Unsupported("partial address compare")
        addr = value_of(left.dtype, raw + bytes(left.length - len(raw)))
        return op, expr, {"prefix": {"addr": addr, "len": bits}}
    if left.op == "&":
        mask = left.mask or b""
        if left.dtype in ("ct_state", "ct_status") and op == "!=" and not any(raw):
            return "in", expr, flag_list(left.operand, BITMASK_TYPES[left.dtype])
        plen = _prefix_len(mask) if left.dtype in ("ipv4_addr", "ipv6_addr") else None
        if plen is not None:
            return op, expr, {"prefix": {"addr": value_of(left.dtype, raw), "len": plen}}
        if left.dtype == "tcp_flag":
            operand = flag_list(left.operand, BITMASK_TYPES["tcp_flag"])
            operand = operand if isinstance(operand, list) else [operand]
            return op, {"&": [expr, operand]}, _right(left, raw, ctx)
        if left.dtype in ("mark", "integer"):
            return op, {"&": [expr, left.operand]}, as_int(raw, left.order)
        raise Unsupported(f"masked compare of {left.dtype}")
    if left.op is not None:
        raise Unsupported("compare of a computed value")
    return op, expr, _right(left, raw, ctx)


def match(ctx: RuleContext, op: str, left, right, value: Value,
           body: dict | None = None) -> None:
    last = ctx.out[-1] if ctx.out else None
    if op == "<=" and last is not None and "match" in last and last["match"]["op"] == ">=" \
            and last["match"]["left"] == left:
        # nft writes `udp sport 1000-2000` as two compares and prints them as one range
        ctx.out[-1] = {"match": {"op": "==", "left": left,
                                 "right": {"range": [last["match"]["right"], right]}}}
        return
    ctx.out.append({"match": body or {"op": op, "left": left, "right": right}})
    _note_protocol(ctx, op, value, right)


def _note_protocol(ctx: RuleContext, op: str, value: Value, right) -> None:
    """A `==` match on a protocol key proves the next header (and may be its dependency)."""
    if op != "==" or value.layer is None or value.op is not None or \
            not isinstance(right, str | int):
        return
    kind, name = value.layer
    index = len(ctx.out) - 1
    if (kind, name) in (("meta", "nfproto"), ("meta", "protocol")) or \
            (kind == "link" and value.expr == {"payload": {"protocol": "ether", "field": "type"}}):
        proto = NETWORK.get(right) or {"ip": "ip", "ip6": "ip6", "arp": "arp"}.get(right)
        if proto:
            ctx.l3 = proto
            ctx.deps["l3"] = (index, proto, False)
        return
    is_l4 = (kind, name) == ("meta", "l4proto") or (
        kind == "network" and value.expr.get("payload", {}).get("field") in
        ("protocol", "nexthdr"))
    if is_l4:
        number = right if isinstance(right, int) else protocol_numbers().get(right)
        proto = TRANSPORT.get(number) if number is not None else None
        if proto:
            ctx.l4 = proto
            ctx.deps["l4"] = (index, proto, kind == "network")


def range_match(ctx: RuleContext, a: dict) -> None:
    left = ctx.reg(a[NFTA_RANGE.SREG])
    low, high = a[NFTA_RANGE.FROM_DATA], a[NFTA_RANGE.TO_DATA]
    if left.op is not None or not isinstance(low, bytes) or not isinstance(high, bytes):
        raise Unsupported("range of a computed value")
    op = OPS[a[NFTA_RANGE.OP]]
    right = {"range": [_right(left, low, ctx), _right(left, high, ctx)]}
    match(ctx, op, left.expr, right, left)


def fib(ctx: RuleContext, a: dict, dreg: int) -> None:
    result = a[NFTA_FIB.RESULT]
    flags = a[NFTA_FIB.FLAGS]
    if result not in FIB_RESULTS:
        raise Unsupported(f"fib result {result}")
    dtype, length, order = FIB_RESULT_TYPES[result]
    names = [name for bit, name in FIB_FLAGS if flags & bit]
    ctx.load(dreg, Value({"fib": {"result": FIB_RESULTS[result], "flags": names}}, dtype,
                         length, order))


def numgen(ctx: RuleContext, a: dict) -> None:
    mode = {0: "inc", 1: "random"}.get(a[NFTA_NG.TYPE])
    if mode is None:
        raise Unsupported("numgen mode")
    expr = {"numgen": {"mode": mode, "mod": a[NFTA_NG.MODULUS],
                       "offset": a.get(NFTA_NG.OFFSET, 0)}}
    ctx.load(a[NFTA_NG.DREG], Value(expr, "integer", 4, HOST))


def socket_load(ctx: RuleContext, a: dict) -> None:
    key = {0: ("transparent", "integer", 1), 1: ("mark", "mark", 4),
           2: ("wildcard", "integer", 1)}.get(a[NFTA_SOCKET.KEY])
    if key is None:
        raise Unsupported("socket key")
    ctx.load(a[NFTA_SOCKET.DREG], Value({"socket": {"key": key[0]}}, key[1], key[2], HOST))


def forget() -> None:
    """Empty the memory of decoded data values."""
    _data.clear()
