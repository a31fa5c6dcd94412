"""nft's JSON expressions (`nft -j`), read into netscope's model and written back as text.

Matches, values, set elements, map lookups (`vmap`, `numgen ... map`) and mark statements:
what a rule of a native nftables table tests and does. Used by the `nft -j` reader
(netscope/host/nft.py); anything not understood is kept as text, never dropped.
"""

from __future__ import annotations

import json

from netscope.model.netfilter import MARK_BITS, NfElement, NfLookup, NfMatch, xmark

VERDICTS = ("accept", "drop", "return", "continue", "queue")
NAT_STATEMENTS = ("dnat", "snat", "masquerade", "redirect")
# statements that are conditions rather than actions (the packet goes on only if they pass)
CONDITION_STATEMENTS = ("limit", "quota", "connlimit", "numgen", "meter")
L4 = ("tcp", "udp", "sctp", "dccp", "udplite")
META_FIELDS = {"iifname": "iif", "iif": "iif", "oifname": "oif", "oif": "oif",
               "l4proto": "proto", "nfproto": "family", "mark": "mark"}
CT_FIELDS = {"state": "ct_state", "status": "ct_status", "direction": "ct_direction"}
# fields whose values name things nft prints quoted
QUOTED = {"iif", "oif"}
# binary operators of values (a mark statement's `meta mark | 0x4000`), as nft lists them
BINOPS = ("&", "|", "^")


def _compact(value) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def value_text(value, quoted: bool = False) -> str:
    """A right-hand value (or set element) as nft writes it."""
    if isinstance(value, str):
        return f'"{value}"' if quoted else value
    if isinstance(value, bool) or value is None:
        return _compact(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return ",".join(value_text(v, quoted) for v in value)
    if isinstance(value, dict):
        verdict = next(iter(value), None)
        if verdict in (*VERDICTS, "drop") and value[verdict] is None:
            return verdict
        if verdict in ("jump", "goto") and isinstance(value[verdict], dict):
            return f"{verdict} {value[verdict].get('target')}"
        if "prefix" in value:
            return f"{value['prefix']['addr']}/{value['prefix']['len']}"
        if "range" in value:
            low, high = value["range"]
            return f"{value_text(low)}-{value_text(high)}"
        if "set" in value:
            items = value["set"] if isinstance(value["set"], list) else [value["set"]]
            return "{ " + ", ".join(_element_text(v, quoted) for v in items) + " }"
        if "concat" in value:
            return " . ".join(value_text(v, quoted) for v in value["concat"])
        if "elem" in value and isinstance(value["elem"], dict):
            comment = value["elem"].get("comment")
            return value_text(value["elem"].get("val"), quoted) + (
                f' comment "{comment}"' if comment else "")
        if "map" in value and isinstance(value["map"], dict):
            return f"{left_text(value['map']['key'])} map {value_text(value['map']['data'])}"
        if verdict in BINOPS and isinstance(value[verdict], list):
            a, b = value[verdict]
            return f"{left_text(a)} {verdict} {hex(b) if isinstance(b, int) else value_text(b)}"
        if verdict in ("meta", "payload", "numgen", "ct", "fib"):
            return left_text(value)
    return _compact(value)


def _element_text(item, quoted: bool) -> str:
    # a [key, value] pair is a map element
    if isinstance(item, list) and len(item) == 2:
        return f"{value_text(item[0], quoted)} : {value_text(item[1])}"
    return value_text(item, quoted)


def left_text(left) -> str:
    if isinstance(left, dict):
        if "meta" in left:
            key = left["meta"]["key"]
            return key if key in ("iifname", "oifname", "iif", "oif") else f"meta {key}"
        if "payload" in left:
            p = left["payload"]
            if "protocol" in p:
                return f"{p['protocol']} {p['field']}"
            return f"@{p.get('base')},{p.get('offset')},{p.get('len')}"
        if "ct" in left:
            return f"ct {left['ct']['key']}"
        if "fib" in left:
            return f"fib {' . '.join(left['fib'].get('flags', []))} {left['fib']['result']}"
        if "concat" in left:
            return " . ".join(left_text(c) for c in left["concat"])
        if "numgen" in left:
            g = left["numgen"]
            offset = f" offset {g['offset']}" if g.get("offset") else ""
            return f"numgen {g.get('mode')} mod {g.get('mod')}{offset}"
        if "&" in left:
            inner, mask = left["&"]
            if isinstance(mask, list):
                return f"{left_text(inner)} & ({'|'.join(map(str, mask))})"
            return f"{left_text(inner)} & {hex(mask) if isinstance(mask, int) else mask}"
        name = next(iter(left), "?")
        body = left[name]
        if isinstance(body, dict) and set(body) == {"key"}:
            return f"{name} {body['key']}"
        return f"{name} {_compact(body)}"
    return value_text(left)


def _flat_values(right, field: str) -> tuple[str, ...]:
    """Right-hand values in the shape MATCH_FIELDS documents for `field`."""
    items = right["set"] if isinstance(right, dict) and "set" in right else right
    if not isinstance(items, list):
        items = [items]
    out = []
    for item in items:
        if isinstance(item, dict) and "range" in item and field in ("sport", "dport"):
            low, high = item["range"]
            out.append(f"{low}:{high}")
        elif isinstance(item, str) and field in QUOTED and item.endswith("*"):
            out.append(item[:-1] + "+")
        elif isinstance(item, int) and field == "mark":
            out.append(hex(item))
        else:
            out.append(value_text(item))
    return tuple(out)


def _field_of(left) -> tuple[str | None, str | None]:
    """(match field, l4 protocol the test implies) for a left-hand expression."""
    if not isinstance(left, dict):
        return None, None
    if "meta" in left:
        return META_FIELDS.get(left["meta"]["key"]), None
    if "ct" in left:
        return CT_FIELDS.get(left["ct"]["key"]), None
    if "fib" in left and left["fib"].get("result") == "type":
        flags = left["fib"].get("flags", [])
        return ("daddr_type" if "daddr" in flags else "saddr_type" if "saddr" in flags
                else None), None
    if "payload" in left:
        proto, name = left["payload"].get("protocol"), left["payload"].get("field")
        if proto in ("ip", "ip6") and name in ("saddr", "daddr"):
            return name, None
        if (proto, name) in (("ip", "protocol"), ("ip6", "nexthdr")):
            return "proto", None
        if name in ("sport", "dport") and (proto in L4 or proto == "th"):
            return name, proto if proto in L4 else None
        if name == "type" and proto in ("icmp", "icmpv6"):
            return "icmp_type", "icmp" if proto == "icmp" else "ipv6-icmp"
    return None, None


def match_of(m: dict) -> list[NfMatch]:
    """The NfMatch (plus any protocol it implies) of one nft `match` expression."""
    left, right, op = m["left"], m["right"], m.get("op", "==")
    binop = isinstance(left, dict) and "&" in left
    shown_op = "" if op == "in" or (op == "==" and not binop) else op + " "
    field, implied = _field_of(left)
    quoted = field in QUOTED
    shown = hex(right) if isinstance(right, int) and (field == "mark" or binop) else None
    text = f"{left_text(left)} {shown_op}{shown or value_text(right, quoted)}"
    out = []
    if implied:
        out.append(NfMatch("proto", (implied,), False, True, f"({implied} implied)"))
    if isinstance(left, dict) and "concat" in left:
        fields, protos = key_fields(left)
        out += [NfMatch("proto", (p,), False, True, f"({p} implied)") for p in protos]
        if fields is None or op not in ("==", "!=", "in"):
            out.append(NfMatch("concat", (value_text(right),), op == "!=", False, text))
        else:
            out.append(NfMatch("concat", _flat_values(right, "concat"), op == "!=", True, text,
                               key=fields))
        return out
    if isinstance(left, dict) and "&" in left:
        inner, mask = left["&"]
        if _field_of(inner)[0] == "mark" and isinstance(mask, int) and isinstance(right, int):
            out.append(NfMatch("mark", (f"{hex(right)}/{hex(mask)}",), op == "!=", True, text))
            return out
        if left_text(inner) == "tcp flags":
            out.append(NfMatch("tcp_flags", (value_text(mask), value_text(right)), op == "!=",
                               True, text))
            return out
        field = None
    if field is None or op not in ("==", "!=", "in"):
        name = left_text(left).split(" ")[0] if isinstance(left, dict) else "match"
        out.append(NfMatch(name, (value_text(right),), op == "!=", False, text))
        return out
    out.append(NfMatch(field, _flat_values(right, field), op == "!=", True, text))
    return out


def key_fields(expr) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    """(MATCH_FIELDS names of a key expression, one per concatenated component, or None if
    one is not understood; the l4 protocols the key implies, as `tcp dport` does)."""
    parts = expr["concat"] if isinstance(expr, dict) and "concat" in expr else [expr]
    fields, protos = [], []
    for part in parts:
        field, implied = _field_of(part)
        if field is None:
            return None, ()
        fields.append(field)
        protos += [implied] if implied else []
    return tuple(fields), tuple(protos)


def element_of(item, is_map: bool) -> NfElement:
    """One element of a set or map as nft -j lists it: a value, {"elem": {"val", "comment"}},
    or for a map a [key, data] pair (whose key may be such an "elem")."""
    key, data = (item[0], item[1]) if is_map and isinstance(item, list) else (item, None)
    comment = None
    if isinstance(key, dict) and isinstance(key.get("elem"), dict):
        comment = key["elem"].get("comment")
        key = key["elem"].get("val")
    parts = key["concat"] if isinstance(key, dict) and "concat" in key else [key]
    return NfElement(tuple(value_text(p) for p in parts),
                     None if data is None else value_text(data), comment)


def lookup_of(key, data) -> NfLookup | None:
    """The NfLookup of `KEY vmap DATA` or `KEY map DATA` (None: a key netscope cannot
    compute, such as jhash)."""
    numgen = key.get("numgen") if isinstance(key, dict) else None
    if isinstance(numgen, dict):
        try:
            spec = {"key": ("numgen",), "numgen": str(numgen.get("mode")),
                    "modulus": int(numgen["mod"]), "offset": int(numgen.get("offset") or 0)}
        except (KeyError, TypeError, ValueError):
            return None
    else:
        fields, _ = key_fields(key)
        if fields is None:
            return None
        spec = {"key": fields}
    if isinstance(data, str) and data.startswith("@"):
        return NfLookup(map=data, **spec)
    items = data.get("set") if isinstance(data, dict) else None
    if items is None:
        return None
    items = items if isinstance(items, list) else [items]
    return NfLookup(elements=tuple(element_of(i, True) for i in items), **spec)


def set_mark_of(value) -> str | None:
    """NfRule.set_mark of `meta mark set VALUE` (None: not computable from the rule alone).

    The kernel computes the new mark as (mark & keep) ^ xor (nft's bitwise expression);
    `meta mark | 0x4000` is keep=~0x4000, xor=0x4000, and so on for & and ^ nested."""
    if isinstance(value, int):
        return xmark(value, MARK_BITS)
    keep_xor = _mark_expr(value)
    if keep_xor is None:
        return None
    keep, xor = keep_xor
    return xmark(xor, ~keep)


def _mark_expr(value) -> tuple[int, int] | None:
    if isinstance(value, dict) and value.get("meta", {}).get("key") == "mark":
        return MARK_BITS, 0
    op = next(iter(value), None) if isinstance(value, dict) else None
    if op not in BINOPS or not isinstance(value[op], list) or len(value[op]) != 2:
        return None
    inner, n = value[op]
    got = _mark_expr(inner)
    if got is None or not isinstance(n, int):
        return None
    keep, xor = got
    if op == "&":
        return keep & n, xor & n
    if op == "|":
        return keep & ~n & MARK_BITS, (xor & ~n) | n
    return keep, xor ^ n


def nat_to(stmt) -> str | None:
    """The address[:port] a NAT statement translates to (":port" when the address comes
    from a map lookup, see lookup_of)."""
    if not isinstance(stmt, dict):
        return None
    addr, port = stmt.get("addr"), stmt.get("port")
    if isinstance(addr, dict) and "map" in addr:
        addr = None
    elif addr is not None and not isinstance(addr, str | int):
        return None
    if port is not None and not isinstance(port, str | int):
        port = value_text(port)
    if addr is None:
        return f":{port}" if port is not None else None
    addr = str(addr)
    if port is None:
        return addr
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def statement_text(kind: str, body) -> str:
    if body is None:
        return kind
    if kind in ("jump", "goto"):
        return f"{kind} {body['target']}"
    if kind == "counter" and isinstance(body, dict):
        return f"counter packets {body.get('packets', 0)} bytes {body.get('bytes', 0)}"
    if kind in NAT_STATEMENTS:
        to = nat_to(body)
        addr = body.get("addr") if isinstance(body, dict) else None
        if isinstance(addr, dict) and "map" in addr:
            to = value_text(addr) + (f" : {value_text(body['port'])}" if "port" in body else "")
        flags = body.get("flags") if isinstance(body, dict) else None
        flags = " " + value_text(flags).replace(",", " ") if flags else ""
        if to:
            return f"{kind} to {to}{flags}"
        return f"{kind}{flags}" if set(body) <= {"flags"} else f"{kind} {_compact(body)}"
    if kind == "mangle":
        return f"{left_text(body['key'])} set {value_text(body['value'])}"
    if kind == "vmap":
        return f"{left_text(body['key'])} vmap {value_text(body['data'])}"
    if kind == "xt":
        return f"xt {body.get('type', '')} {body.get('name', '')}".strip()
    if isinstance(body, dict):
        parts = [f'{k} "{v}"' if k == "prefix" else f"{k} {value_text(v)}"
                 for k, v in body.items()]
        return " ".join([kind, *parts])
    return f"{kind} {_compact(body)}"

