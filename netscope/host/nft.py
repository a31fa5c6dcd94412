"""Read and parse native nftables tables (`nft -j list ruleset`).

Tables iptables-nft manages are skipped here (their rules show as opaque `xt` expressions
in JSON): they are read with iptables-save. Rule text is rendered back from the JSON in
nft's own syntax; an expression netscope does not understand is kept as a match with
`recognised=False`, so that nothing a rule tests is silently lost.
"""

from __future__ import annotations

import json
import subprocess

from netscope.host import command
from netscope.host.command import CommandFailed
from netscope.host.nft_expr import (
    CONDITION_STATEMENTS,
    NAT_STATEMENTS,
    VERDICTS,
    element_of,
    key_fields,
    left_text,
    lookup_of,
    match_of,
    nat_to,
    set_mark_of,
    statement_text,
    value_text,
)
from netscope.model.netfilter import (
    NfChain,
    NfMatch,
    NfRule,
    NfSet,
    NfTable,
    chain_label,
    table_key,
)

__all__ = ["NftFailed", "match_of", "parse_ruleset", "rule_of", "run_nft", "value_text"]

TIMEOUT = 20.0


class NftFailed(CommandFailed):
    """nft could not run, or its output could not be read."""


ARGV = ("nft", "-j", "list", "ruleset")


def start_nft() -> subprocess.Popen:
    """Start `nft -j list ruleset` in this namespace; read it with finish_nft()."""
    return command.start(ARGV, "nftables", NftFailed)


def finish_nft(proc: subprocess.Popen) -> dict:
    """The decoded output of a start_nft(), or NftFailed saying why not."""
    out = command.finish(proc, TIMEOUT, NftFailed)
    try:
        return json.loads(out or '{"nftables": []}')
    except ValueError as e:
        raise NftFailed(f"nft -j printed something that is not JSON: {e}") from None


def run_nft() -> dict:
    """`nft -j list ruleset` in this namespace, decoded."""
    return finish_nft(start_nft())


# match bodies -> what match_of made of them, by identity (see parse_ruleset's `shared`)
_MATCHES: dict[int, tuple[dict, list[NfMatch]]] = {}
MATCHES_KEPT = 16384


def _shared_match_of(body: dict) -> list[NfMatch]:
    hit = _MATCHES.get(id(body))
    if hit is not None and hit[0] is body:
        return hit[1]
    got = match_of(body)
    if len(_MATCHES) >= MATCHES_KEPT:
        _MATCHES.clear()
    _MATCHES[id(body)] = (body, got)
    return got


def forget_matches() -> None:
    """Empty the memory of shared match bodies."""
    _MATCHES.clear()


def rule_of(raw: dict, netns: str, key: str, position: int, shared: bool = False) -> NfRule:
    """An NfRule from one `rule` object of nft -j. `shared`: equal match bodies are the same
    object (the netlink reader's documents), so what one became is remembered."""
    matches: list[NfMatch] = []
    texts: list[str] = []
    out: dict = {"action": "none", "jump": None, "nat_to": None, "action_args": {},
                 "set_mark": None, "lookup": None}
    packets = nbytes = None
    side_action = None
    for expr in raw.get("expr", []):
        kind, body = next(iter(expr.items()))
        if kind == "match":
            got = _shared_match_of(body) if shared else match_of(body)
            texts.append(got[-1].text)
            if len(got) == 1:  # no implied protocol to leave out when already matched
                matches.append(got[0])
                continue
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
            out["nat_to"] = nat_to(body) if kind in NAT_STATEMENTS else None
            if kind == "vmap":
                out["action_args"] = {"key": left_text(body["key"]),
                                      "map": value_text(body["data"])}
                out["lookup"] = lookup_of(body["key"], body["data"])
                matches += _implied_protocols(body["key"], matches)
            elif isinstance(body, dict):
                out["action_args"] = {k: value_text(v) for k, v in body.items()}
                addr = body.get("addr")
                if kind in NAT_STATEMENTS and isinstance(addr, dict) and "map" in addr:
                    out["lookup"] = lookup_of(addr["map"]["key"], addr["map"]["data"])
        elif kind in CONDITION_STATEMENTS or (kind == "xt" and body.get("type") == "match"):
            matches.append(NfMatch(f"xt:{body.get('name')}" if kind == "xt" else kind, (),
                                   False, False, texts[-1]))
        elif side_action is None:
            side_action = "mark" if kind == "mangle" else (
                f"xt:{body.get('name')}" if kind == "xt" else kind)
            if kind == "mangle":
                out["action_args"] = {"set": left_text(body["key"]),
                                      "value": value_text(body["value"])}
                if body["key"] == {"meta": {"key": "mark"}}:
                    out["set_mark"] = set_mark_of(body["value"])
            elif isinstance(body, dict):
                out["action_args"] = {k: value_text(v) for k, v in body.items()}
    if out["action"] == "none" and side_action:
        out["action"] = side_action.lower()
    return NfRule(
        id=f"nfrule:{key}/{raw['chain']}/{position}", netns=netns, family=raw["family"],
        table=raw["table"], chain=raw["chain"], position=position, text=" ".join(texts),
        matches=tuple(matches), packets=packets, bytes=nbytes, comment=raw.get("comment"),
        handle=raw.get("handle"), **out)


def _implied_protocols(key, matches: list[NfMatch]) -> list[NfMatch]:
    # `tcp dport vmap {...}` only looks up TCP packets
    _, protos = key_fields(key)
    have = {m.values for m in matches if m.field == "proto" and not m.negated}
    return [NfMatch("proto", (p,), False, True, f"({p} implied)") for p in protos
            if (p,) not in have]


def set_of(body: dict, netns: str, key: str, is_map: bool) -> NfSet:
    """An NfSet from one `set` or `map` object of nft -j."""
    key_type = body.get("type")
    key_type = tuple(key_type) if isinstance(key_type, list) else (str(key_type),)
    data = body.get("map") if is_map else None
    items = body.get("elem") or []
    return NfSet(
        id=f"nfset:{key}/{body['name']}", netns=netns, family=body["family"],
        table=body["table"], name=body["name"], key_type=key_type,
        data_type=None if data is None else value_text(data),
        flags=tuple(body.get("flags") or ()) if isinstance(body.get("flags"), list)
        else ((body["flags"],) if body.get("flags") else ()),
        elements=tuple(element_of(i, is_map) for i in items),
        comment=body.get("comment"), handle=body.get("handle"))


def _priority(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_ruleset(data: dict, inode: int, skip: set[tuple[str, str]] = frozenset(),
                  shared: bool = False) -> list[NfTable]:
    """The native tables of `nft -j list ruleset` output, leaving out (family, name) in skip.

    `shared`: the document comes from host.nftnl, whose equal match bodies are one object."""
    netns = f"ns:{inode}"
    tables: dict[tuple[str, str], dict] = {}
    chains: dict[tuple[str, str, str], dict] = {}
    rules: dict[tuple[str, str, str], list[NfRule]] = {}
    sets: dict[tuple[str, str], list[NfSet]] = {}
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
            got.append(rule_of(body, netns, key, len(got) + 1, shared))
        elif kind in ("set", "map"):
            key = table_key(inode, tkey[0], tkey[1], "nft")
            sets.setdefault(tkey, []).append(set_of(body, netns, key, kind == "map"))
    out = []
    for (family, name), table in tables.items():
        key = table_key(inode, family, name, "nft")
        table_chains = tuple(
            NfChain(id=f"chain:{key}/{c['name']}", netns=netns, family=family, table=name,
                    name=c["name"], rules=tuple(rules.get(ckey, ())), hook=c.get("hook"),
                    type=c.get("type"), priority=_priority(c.get("prio")),
                    policy=c["policy"].upper() if c.get("policy") else None,
                    handle=c.get("handle"),
                    label=chain_label(name, c["name"], rules.get(ckey, ())))
            for ckey, c in chains.items() if ckey[:2] == (family, name))
        out.append(NfTable(id=f"nftable:{key}", netns=netns, family=family, name=name,
                           backend="nft", chains=table_chains, handle=table.get("handle"),
                           sets=tuple(sets.get((family, name), ()))))
    return out
