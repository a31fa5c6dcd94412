"""A rule's statements and lookups, turned back into what `nft -j` prints (the second half
of host/nftnl_expr.py: loads and compares are there; this module adds lookups, verdicts,
counters, NAT, reject, log, limit, mark and set updates, and walks a rule's expressions).
"""

from __future__ import annotations

from netscope.host.nftnl_attrs import (
    NFT_LOOKUP_F_INV,
    NFT_REG_VERDICT,
    NFTA_COUNTER,
    NFTA_CT,
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
    NFTA_PAYLOAD,
    NFTA_REDIR,
    NFTA_REJECT,
)
from netscope.host.nftnl_expr import (
    VALUE,
    RuleContext,
    Value,
    bitwise,
    cmp,
    ct_load,
    fib,
    match,
    meta_load,
    numgen,
    payload,
    range_match,
    reg32,
    socket_load,
)
from netscope.host.nftnl_types import (
    BIG,
    CT_KEYS,
    HOST,
    ICMP6_CODES,
    ICMP_CODES,
    ICMPX_CODES,
    META_KEYS,
    Unsupported,
    as_int,
    value_of,
)

LOG_LEVELS = ("emerg", "alert", "crit", "err", "warn", "notice", "info", "debug")
LIMIT_UNITS = {1: "second", 60: "minute", 3600: "hour", 86400: "day", 604800: "week"}
NAT_FLAGS = ((4, "random"), (8, "persistent"), (16, "fully-random"))


def _lookup(ctx: RuleContext, a: dict) -> None:
    name = a[NFTA_LOOKUP.SET]
    info = ctx.sets.get(name)
    if info is None:
        raise Unsupported(f"lookup in set {name} that was not read")
    key = key_of(ctx, a[NFTA_LOOKUP.SREG], info)
    data = f"@{name}" if not info.anonymous else info.anonymous_json()
    inverted = a.get(NFTA_LOOKUP.FLAGS, 0) & NFT_LOOKUP_F_INV
    if NFTA_LOOKUP.DREG not in a:
        match(ctx, "!=" if inverted else "==", key.expr, data, key)
        return
    dreg = a[NFTA_LOOKUP.DREG]
    if inverted:
        raise Unsupported("inverted map lookup")
    if dreg == NFT_REG_VERDICT:
        ctx.out.append({"vmap": {"key": key.expr, "data": data}})
        return
    ctx.load(dreg, Value({"map": {"key": key.expr, "data": data}}, info.data_type or "",
                         info.data_len, BIG))


def key_of(ctx: RuleContext, sreg: int, info) -> Value:
    """The expression a lookup looks up: one register, or a concatenation of several."""
    start = reg32(sreg)
    if len(info.key_types) == 1:
        return ctx.reg(start)
    parts, reg = [], start
    for _ in info.key_types:
        value = ctx.regs.get(reg)
        if value is None or value.op is not None:
            raise Unsupported("concatenation of computed values")
        parts.append(value.expr)
        reg += (value.length + 3) // 4
    return Value({"concat": parts}, "concat", info.key_len, BIG)


def _immediate(ctx: RuleContext, a: dict) -> None:
    dreg = a[NFTA_IMMEDIATE.DREG]
    value = a[NFTA_IMMEDIATE.DATA]
    if dreg == NFT_REG_VERDICT:
        if not isinstance(value, dict):
            raise Unsupported("verdict register loaded with data")
        ctx.out.append(value)
        return
    if not isinstance(value, bytes):
        raise Unsupported("data register loaded with a verdict")
    loaded = a.get(VALUE)
    if loaded is None:
        loaded = a[VALUE] = Value(None, "", len(value), BIG, raw=value)
    ctx.load(dreg, loaded)


def _counter(ctx: RuleContext, a: dict) -> None:
    ctx.out.append({"counter": {"packets": a.get(NFTA_COUNTER.PACKETS, 0),
                                "bytes": a.get(NFTA_COUNTER.BYTES, 0)}})


def _flags(value: int) -> str | list[str] | None:
    names = [name for bit, name in NAT_FLAGS if value & bit]
    return None if not names else names[0] if len(names) == 1 else names


def _immediate_value(ctx: RuleContext, reg: int | None, dtype: str):
    if reg is None:
        return None
    value = ctx.reg(reg)
    if value.raw is None:
        if isinstance(value.expr, dict) and "map" in value.expr:
            return value.expr
        raise Unsupported("NAT from a computed register")
    return value_of(dtype, value.raw)


def _nat(ctx: RuleContext, a: dict) -> None:
    kind = "dnat" if a[NFTA_NAT.TYPE] == 1 else "snat"
    family = a.get(NFTA_NAT.FAMILY, 2)
    atype = "ipv4_addr" if family == 2 else "ipv6_addr"
    if NFTA_NAT.REG_ADDR_MAX in a and a[NFTA_NAT.REG_ADDR_MAX] != a.get(NFTA_NAT.REG_ADDR_MIN):
        raise Unsupported("NAT to an address range")
    body: dict = {}
    if ctx.family == "inet":
        body["family"] = "ip" if family == 2 else "ip6"
    addr = _immediate_value(ctx, a.get(NFTA_NAT.REG_ADDR_MIN), atype)
    if addr is not None:
        body["addr"] = addr
    _ports(ctx, body, a.get(NFTA_NAT.REG_PROTO_MIN), a.get(NFTA_NAT.REG_PROTO_MAX))
    flags = _flags(a.get(NFTA_NAT.FLAGS, 0))
    if flags:
        body["flags"] = flags
    ctx.out.append({kind: body})


def _ports(ctx: RuleContext, body: dict, low: int | None, high: int | None) -> None:
    first = _immediate_value(ctx, low, "inet_service")
    if first is None:
        return
    last = _immediate_value(ctx, high, "inet_service") if high and high != low else None
    body["port"] = first if last is None or last == first else {"range": [first, last]}


def _masq_redir(ctx: RuleContext, kind: str, a: dict, space) -> None:
    body: dict = {}
    _ports(ctx, body, a.get(space.REG_PROTO_MIN), a.get(space.REG_PROTO_MAX))
    flags = _flags(a.get(space.FLAGS, 0))
    if flags:
        body["flags"] = flags
    ctx.out.append({kind: body or None})


def _reject(ctx: RuleContext, a: dict) -> None:
    rtype = a[NFTA_REJECT.TYPE]
    code = a.get(NFTA_REJECT.ICMP_CODE, 0)
    if rtype == 1:
        ctx.out.append({"reject": {"type": "tcp reset"}})
    elif rtype == 2:
        ctx.out.append({"reject": {"type": "icmpx", "expr": ICMPX_CODES.get(code, code)}})
    elif rtype == 0 and ctx.l3 in ("ip", "ip6"):
        table = ICMP_CODES if ctx.l3 == "ip" else ICMP6_CODES
        ctx.out.append({"reject": {"type": "icmp" if ctx.l3 == "ip" else "icmpv6",
                                   "expr": table.get(code, code)}})
    else:
        raise Unsupported(f"reject type {rtype} without a known network protocol")


def _meta_set(ctx: RuleContext, key_json: dict, sreg: int) -> None:
    value = ctx.reg(sreg)
    if value.raw is not None:
        data = as_int(value.raw, HOST)
    elif value.op in ("|", "^", "&") and value.expr == key_json:
        data = {value.op: [value.expr, value.operand]}
    else:
        raise Unsupported("setting a key from a computed register")
    ctx.out.append({"mangle": {"key": key_json, "value": data}})


def _log(ctx: RuleContext, a: dict) -> None:
    body: dict = {}
    if NFTA_LOG.PREFIX in a:
        body["prefix"] = a[NFTA_LOG.PREFIX]
    if NFTA_LOG.GROUP in a:
        body["group"] = a[NFTA_LOG.GROUP]
    if NFTA_LOG.LEVEL in a:
        level = a[NFTA_LOG.LEVEL]
        body["level"] = LOG_LEVELS[level] if level < len(LOG_LEVELS) else level
    if set(a) - {NFTA_LOG.PREFIX, NFTA_LOG.GROUP, NFTA_LOG.LEVEL}:
        raise Unsupported("log options")
    ctx.out.append({"log": body or None})


def _limit(ctx: RuleContext, a: dict) -> None:
    # NFTA_LIMIT_TYPE 0 counts packets; NFTA_LIMIT_FLAGS bit 1 inverts
    if a.get(NFTA_LIMIT.TYPE, 0) != 0:
        raise Unsupported("byte-rate limit")
    unit = LIMIT_UNITS.get(a[NFTA_LIMIT.UNIT])
    if unit is None:
        raise Unsupported("limit unit")
    body = {"rate": a[NFTA_LIMIT.RATE], "burst": a.get(NFTA_LIMIT.BURST, 0), "per": unit}
    if a.get(NFTA_LIMIT.FLAGS, 0) & 1:
        body["inv"] = True
    ctx.out.append({"limit": body})


def _dynset(ctx: RuleContext, a: dict) -> None:
    plain = {NFTA_DYNSET.SET_NAME, NFTA_DYNSET.SET_ID, NFTA_DYNSET.OP, NFTA_DYNSET.SREG_KEY}
    # a zero timeout (the set's own) and no flags are what a plain `update @s { key }` has
    extra = {k: v for k, v in a.items() if k not in plain and v}
    if extra:
        raise Unsupported("dynamic set update with data, timeout or expressions")
    name = a[NFTA_DYNSET.SET_NAME]
    info = ctx.sets.get(name)
    if info is None or info.anonymous:
        raise Unsupported(f"update of set {name}")
    op = {0: "add", 1: "update", 2: "delete"}[a[NFTA_DYNSET.OP]]
    key = key_of(ctx, a[NFTA_DYNSET.SREG_KEY], info)
    ctx.out.append({"set": {"op": op, "elem": key.expr, "set": f"@{name}"}})


def rule_statements(exprs: list[tuple[str, dict]], ctx: RuleContext) -> list[dict]:
    """The `expr` list nft -j prints for a rule made of these expressions (name, the
    attributes of its NFTA_EXPR_DATA)."""
    for name, a in exprs:
        if name == "payload":
            if NFTA_PAYLOAD.SREG in a:
                raise Unsupported("payload write")
            ctx.load(a[NFTA_PAYLOAD.DREG], payload(ctx, a))
        elif name == "meta":
            if NFTA_META.SREG in a:
                key = META_KEYS.get(a[NFTA_META.KEY])
                if key is None:
                    raise Unsupported("meta set of an unknown key")
                _meta_set(ctx, {"meta": {"key": key[0]}}, a[NFTA_META.SREG])
            else:
                meta_load(ctx, a, a[NFTA_META.DREG])
        elif name == "ct":
            if NFTA_CT.SREG in a:
                key = CT_KEYS.get(a[NFTA_CT.KEY])
                if key is None or NFTA_CT.DIRECTION in a:
                    raise Unsupported("ct set")
                _meta_set(ctx, {"ct": {"key": key[0]}}, a[NFTA_CT.SREG])
            else:
                ct_load(ctx, a, a[NFTA_CT.DREG])
        elif name in _HANDLERS:
            _HANDLERS[name](ctx, a)
        elif name in ("match", "target"):
            ctx.out.append({"xt": {"type": name, "name": a[NFTA_MATCH.NAME]}})
        elif name == "notrack":
            ctx.out.append({"notrack": None})
        else:
            raise Unsupported(f"expression {name}")
    return [s for s in ctx.out if s is not None]


_HANDLERS = {
    "cmp": cmp, "bitwise": bitwise, "lookup": _lookup, "range": range_match,
    "immediate": _immediate, "counter": _counter, "nat": _nat, "reject": _reject,
    "masq": lambda ctx, a: _masq_redir(ctx, "masquerade", a, NFTA_MASQ),
    "redir": lambda ctx, a: _masq_redir(ctx, "redirect", a, NFTA_REDIR),
    "fib": lambda ctx, a: fib(ctx, a, a[NFTA_FIB.DREG]),
    "numgen": numgen, "log": _log, "limit": _limit, "dynset": _dynset,
    "socket": lambda ctx, a: socket_load(ctx, a),
}

