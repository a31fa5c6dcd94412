"""Read and parse native nftables tables (`nft -j list ruleset`).

Tables iptables-nft manages are skipped here (their rules show as opaque `xt` expressions
in JSON): they are read with iptables-save. Rule text is rendered back from the JSON in
nft's own syntax; an expression netscope does not understand is kept as a match with
`recognised=False`, so that nothing a rule tests is silently lost.
"""

from __future__ import annotations

import json
import subprocess

from netscope.model.netfilter import (
    NfChain,
    NfMatch,
    NfRule,
    NfTable,
    docker_chain_label,
    table_key,
)

TIMEOUT = 20.0
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


class NftFailed(OSError):
    """nft could not run, or its output could not be read."""


ARGV = ("nft", "-j", "list", "ruleset")


def start_nft() -> subprocess.Popen:
    """Start `nft -j list ruleset` in this namespace; read it with finish_nft()."""
    try:
        return subprocess.Popen(ARGV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    except FileNotFoundError:
        raise NftFailed("nft is not installed: install the nftables package") from None


def finish_nft(proc: subprocess.Popen) -> dict:
    """The decoded output of a start_nft(), or NftFailed saying why not."""
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise NftFailed(f"nft did not answer within {TIMEOUT:.0f} s") from None
    if proc.returncode != 0:
        raise NftFailed(f"nft -j list ruleset failed ({proc.returncode}): {err.strip()[:200]}")
    try:
        return json.loads(out or '{"nftables": []}')
    except ValueError as e:
        raise NftFailed(f"nft -j printed something that is not JSON: {e}") from None


def run_nft() -> dict:
    """`nft -j list ruleset` in this namespace, decoded."""
    return finish_nft(start_nft())


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
    shown = hex(right) if field == "mark" or (binop and isinstance(right, int)) else None
    text = f"{left_text(left)} {shown_op}{shown or value_text(right, quoted)}"
    out = []
    if implied:
        out.append(NfMatch("proto", (implied,), False, True, f"({implied} implied)"))
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


def _nat_to(stmt) -> str | None:
    if not isinstance(stmt, dict):
        return None
    addr, port = stmt.get("addr"), stmt.get("port")
    if addr is not None and not isinstance(addr, str | int):
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
        to = _nat_to(body)
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


def rule_of(raw: dict, netns: str, key: str, position: int) -> NfRule:
    """An NfRule from one `rule` object of nft -j."""
    matches: list[NfMatch] = []
    texts: list[str] = []
    out: dict = {"action": "none", "jump": None, "nat_to": None, "action_args": {}}
    packets = nbytes = None
    side_action = None
    for expr in raw.get("expr", []):
        kind, body = next(iter(expr.items()))
        if kind == "match":
            got = match_of(body)
            texts.append(got[-1].text)
            matches.extend(m for m in got if not (m.text.endswith("implied)") and any(
                x.field == "proto" and x.values == m.values and not x.negated for x in matches)))
            continue
        texts.append(statement_text(kind, body))
        if kind == "counter" and isinstance(body, dict):
            packets, nbytes = body.get("packets"), body.get("bytes")
        elif kind in VERDICTS:
            out["action"] = kind
        elif kind in ("jump", "goto"):
            out["action"], out["jump"] = kind, body["target"]
        elif kind in NAT_STATEMENTS or kind in ("reject", "vmap", "notrack", "tproxy"):
            out["action"] = kind
            out["nat_to"] = _nat_to(body) if kind in NAT_STATEMENTS else None
            if kind == "vmap":
                out["action_args"] = {"key": left_text(body["key"]),
                                      "map": value_text(body["data"])}
            elif isinstance(body, dict):
                out["action_args"] = {k: value_text(v) for k, v in body.items()}
        elif kind in CONDITION_STATEMENTS or (kind == "xt" and body.get("type") == "match"):
            matches.append(NfMatch(f"xt:{body.get('name')}" if kind == "xt" else kind, (),
                                   False, False, texts[-1]))
        elif side_action is None:
            side_action = "mark" if kind == "mangle" else (
                f"xt:{body.get('name')}" if kind == "xt" else kind)
            if kind == "mangle":
                out["action_args"] = {"set": left_text(body["key"]),
                                      "value": value_text(body["value"])}
            elif isinstance(body, dict):
                out["action_args"] = {k: value_text(v) for k, v in body.items()}
    if out["action"] == "none" and side_action:
        out["action"] = side_action.lower()
    return NfRule(
        id=f"nfrule:{key}/{raw['chain']}/{position}", netns=netns, family=raw["family"],
        table=raw["table"], chain=raw["chain"], position=position, text=" ".join(texts),
        matches=tuple(matches), packets=packets, bytes=nbytes, comment=raw.get("comment"),
        handle=raw.get("handle"), **out)


def _priority(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_ruleset(data: dict, inode: int,
                  skip: set[tuple[str, str]] = frozenset()) -> list[NfTable]:
    """The native tables of `nft -j list ruleset` output, leaving out (family, name) in skip."""
    netns = f"ns:{inode}"
    tables: dict[tuple[str, str], dict] = {}
    chains: dict[tuple[str, str, str], dict] = {}
    rules: dict[tuple[str, str, str], list[NfRule]] = {}
    for item in data.get("nftables", []):
        kind, body = next(iter(item.items()))
        if kind in ("metainfo",) or not isinstance(body, dict):
            continue
        tkey = (body.get("family"), body.get("table", body.get("name")))
        if tkey in skip:
            continue
        if kind == "table":
            tables[tkey] = body
        elif kind == "chain":
            chains[(*tkey, body["name"])] = body
        elif kind == "rule":
            ckey = (*tkey, body["chain"])
            got = rules.setdefault(ckey, [])
            key = table_key(inode, tkey[0], tkey[1], "nft")
            got.append(rule_of(body, netns, key, len(got) + 1))
    out = []
    for (family, name), table in tables.items():
        key = table_key(inode, family, name, "nft")
        table_chains = tuple(
            NfChain(id=f"chain:{key}/{c['name']}", netns=netns, family=family, table=name,
                    name=c["name"], rules=tuple(rules.get(ckey, ())), hook=c.get("hook"),
                    type=c.get("type"), priority=_priority(c.get("prio")),
                    policy=c["policy"].upper() if c.get("policy") else None,
                    handle=c.get("handle"), label=docker_chain_label(c["name"]))
            for ckey, c in chains.items() if ckey[:2] == (family, name))
        out.append(NfTable(id=f"nftable:{key}", netns=netns, family=family, name=name,
                           backend="nft", chains=table_chains, handle=table.get("handle")))
    return out
