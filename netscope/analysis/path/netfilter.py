"""Evaluate netfilter chains for one packet at one hook, against the structured rules.

Chains are followed through jumps, gotos and verdict maps (`vmap @service-ips`), named sets
are looked up with their contents, packet marks are tracked (MARK targets, `meta mark set`),
and NAT targets are collected. A random decision (`-m statistic --mode random`, `numgen
random mod N`) is a Choice: the evaluation stops there with verdict "choice" until the
caller says which option to take (`decisions`), so that a walk can follow every endpoint of
a service, each with its probability (`evaluate_all` does that for one hook).

A match netscope cannot evaluate (an unrecognised module, an ipset) makes the rule
"uncertain"; an uncertain rule that would decide the packet's fate stops the walk with
"uncertain at this rule" rather than a guess.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from netscope.analysis.path.nf_match import (
    PacketContext,
    match_result,
    one_value,
    packet_value,
    rule_result,
)
from netscope.analysis.path.nf_sets import (
    RulesetIndex,
    chain_priority,
    component_matches,
    index_of,
)
from netscope.model.netfilter import NfChain, NfElement, NfMatch, NfRule, NfTable, mark_after

__all__ = ["Choice", "Outcome", "PacketContext", "Verdict", "base_chains", "evaluate_all",
           "evaluate_hook", "match_result", "rule_result"]

NAT_ACTIONS = ("dnat", "snat", "masquerade", "redirect")
MAX_DEPTH = 32
# enumerate at most this many outcomes of one hook's random choices
MAX_OUTCOMES = 256


@dataclass(frozen=True)
class Choice:
    """A random decision netfilter takes once per new connection, which the walk follows
    every way: a `-m statistic --mode random` rule (options "match" and "no match") or a
    `numgen` lookup (one option per number it yields). `options` are (option, probability)."""

    rule: NfRule
    options: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Verdict:
    """What one hook decided: accept/drop/reject/uncertain, or "choice" when the evaluation
    reached a random decision not yet taken (`choice`; evaluate again with `decisions`).

    `rule` (or the chain's policy) decided it; `nat` is any NAT it asked for:
    ("dnat"|"snat"|"masquerade"|"redirect", rule as applied: a NAT rule taking its address
    from a map has `nat_to` resolved). `mark` is the packet mark after the hook (MARK and
    `meta mark set` rules change it). `traversed` are the chain ids visited in order;
    `elements` the (set or rule id, element) of every map or set element a lookup hit, so
    that kube-proxy's element comments can name a service.
    """

    verdict: str
    rule: NfRule | None = None
    chain: NfChain | None = None
    nat: tuple[str, NfRule] | None = None
    traversed: tuple[str, ...] = field(default=())
    mark: int = 0
    choice: Choice | None = None
    elements: tuple[tuple[str, NfElement], ...] = ()


def base_chains(tables: Iterable[NfTable], netns: str, family: str, hook: str,
                established: bool) -> list[NfChain]:
    """The base chains a packet of `family` crosses at `hook` in `netns`, in priority order.

    NAT chains see only the first packet of a connection, so not `established` ones.
    """
    families = {"inet": ("ip", "inet"), "inet6": ("ip6", "inet")}[family]
    chains = [c for t in tables if t.netns == netns and t.family in families
              for c in t.chains if c.hook == hook]
    if established:
        chains = [c for c in chains if c.table != "nat" and c.type != "nat"]
    return sorted(chains, key=lambda c: chain_priority(c, hook))


# what an action did to the walk of a chain: go on with the next rule, or leave the chain
_NEXT = object()


class _Walker:
    def __init__(self, index: RulesetIndex, ctx: PacketContext,
                 decisions: Mapping[str, str]) -> None:
        self.index = index
        self.ctx = ctx
        self.decisions = decisions
        self.traversed: list[str] = []
        self.elements: list[tuple[str, NfElement]] = []

    def run(self, chain: NfChain, depth: int = 0) -> Verdict | None:
        """A final Verdict, or None when the chain ran to its end (or returned)."""
        self.traversed.append(chain.id)
        if depth > MAX_DEPTH:
            return Verdict("uncertain", chain=chain)
        for rule in chain.rules:
            result, chance = self._rule_result(rule, chain)
            if result is False:
                continue
            if result is None:
                if rule.terminal or rule.action in ("jump", "goto", "vmap", "mark"):
                    return Verdict("uncertain", rule=rule, chain=chain)
                continue
            if chance is not None:
                taken = self.decisions.get(rule.id)
                if taken is None:
                    return Verdict("choice", rule=rule, chain=chain, choice=Choice(
                        rule, (("match", chance), ("no match", 1.0 - chance))))
                if taken != "match":
                    continue
            done = self._act(rule, chain, rule.action, rule.jump, depth)
            if done is not _NEXT:
                return done  # type: ignore[return-value]
        return None

    def verdict(self, verdict: str, rule: NfRule | None, chain: NfChain | None,
                nat: tuple[str, NfRule] | None, choice: Choice | None = None) -> Verdict:
        return Verdict(verdict, rule, chain, nat, tuple(self.traversed), self.ctx.mark, choice,
                       tuple(self.elements))

    def translated(self, nat: tuple[str, NfRule]) -> None:
        """Later chains of the hook see the packet as a DNAT left it (nft's filter chains
        after kube-proxy's nat-output at -100 test the endpoint, not the ClusterIP)."""
        kind, rule = nat
        addr, port = split_nat_to(rule.nat_to or "")
        if kind != "dnat" or addr is None:
            return
        status = self.ctx.ct_status if "dnat" in self.ctx.ct_status else (
            *self.ctx.ct_status, "dnat")
        self.ctx = dataclasses.replace(self.ctx, dst=addr, dport=port or self.ctx.dport,
                                       ct_status=status)

    def _rule_result(self, rule: NfRule, chain: NfChain) -> tuple[bool | None, float | None]:
        """(does it match, the probability of a statistic match it also needs)."""
        unknown, chance = False, None
        for m in rule.matches:
            if m.field == "probability" and m.recognised:
                try:
                    p = min(max(float(m.values[0]), 0.0), 1.0)
                except (ValueError, IndexError):
                    unknown = True
                    continue
                chance = 1.0 - p if m.negated else p
                continue
            r = self._match(m, chain)
            if r is False:
                return False, None
            if r is None:
                unknown = True
        return (None if unknown else True), chance

    def _match(self, m: NfMatch, chain: NfChain) -> bool | None:
        if not m.recognised or (m.field != "concat" and not any(
                v.startswith("@") for v in m.values)):
            return match_result(m, self.ctx)
        fields = m.key if m.field == "concat" else (m.field,)
        values = tuple(packet_value(f, self.ctx) for f in fields)
        results: list[bool | None] = []
        for v in m.values:
            if v.startswith("@"):
                found = self.index.named_set(chain, v)
                if found is None:
                    results.append(None)
                    continue
                hit = self.index.elements(found, fields, found.elements).find(values)
                if hit is not None:
                    self.elements.append((found.id, hit))
                results.append(hit is not None)
            elif m.field == "concat":
                parts = tuple(p.strip() for p in v.split(" . "))
                results.append(len(parts) == len(fields) and all(
                    component_matches(f, t, x) for f, t, x in zip(fields, parts, values,
                                                                  strict=True)))
            else:
                results.append(one_value(m, v, self.ctx))
        result = True if True in results else (None if None in results else False)
        return result if result is None else result != m.negated

    def _act(self, rule: NfRule, chain: NfChain, action: str, jump: str | None,
             depth: int) -> Verdict | object | None:
        """Do `action` (the rule's own, or the verdict a map gave): a final Verdict, None
        (leave this chain), or _NEXT (go on with the next rule)."""
        if action in ("jump", "goto"):
            target = self.index.chain(chain, jump) if jump else None
            if target is None:
                return Verdict("uncertain", rule=rule, chain=chain)
            sub = self.run(target, depth + 1)
            if sub is not None:
                return sub
            return None if action == "goto" else _NEXT
        if action == "return":
            return None
        if action == "accept":
            return Verdict("accept", rule=rule, chain=chain)
        if action in ("drop", "reject"):
            return Verdict(action, rule=rule, chain=chain)
        if action in NAT_ACTIONS:
            if rule.lookup is not None:
                return self._nat_from_map(rule, chain, action)
            return Verdict("accept", rule=rule, chain=chain, nat=(action, rule))
        if action == "queue":
            return Verdict("uncertain", rule=rule, chain=chain)
        if action == "vmap":
            return self._vmap(rule, chain, depth)
        if action == "mark" and rule.set_mark:
            self.ctx = dataclasses.replace(self.ctx, mark=mark_after(self.ctx.mark,
                                                                     rule.set_mark))
        return _NEXT

    def _looked_up(self, rule: NfRule, chain: NfChain) -> NfElement | Verdict | None:
        """The element the rule's lookup hits (None: none), or a Verdict (choice/uncertain)."""
        lookup = rule.lookup
        if lookup is None:
            return Verdict("uncertain", rule=rule, chain=chain)
        owner: object = lookup
        elements = lookup.elements
        if lookup.map:
            found = self.index.named_set(chain, lookup.map)
            if found is None:
                return Verdict("uncertain", rule=rule, chain=chain)
            owner, elements = found, found.elements
        if lookup.key == ("numgen",):
            taken = self.decisions.get(rule.id)
            if taken is None:
                n = lookup.modulus or 1
                return Verdict("choice", rule=rule, chain=chain, choice=Choice(rule, tuple(
                    (str(v), 1.0 / n) for v in range(lookup.offset, lookup.offset + n))))
            values: tuple[str | None, ...] = (taken,)
            fields = ("numgen",)
        else:
            fields = lookup.key
            values = tuple(packet_value(f, self.ctx) for f in fields)
        hit = self.index.elements(owner, fields, elements).find(values)
        if hit is not None:
            self.elements.append((getattr(owner, "id", rule.id), hit))
        return hit

    def _vmap(self, rule: NfRule, chain: NfChain, depth: int) -> Verdict | object | None:
        hit = self._looked_up(rule, chain)
        if isinstance(hit, Verdict):
            return hit
        if hit is None or not hit.value:
            return _NEXT
        verb, _, target = hit.value.partition(" ")
        return self._act(rule, chain, verb, target or None, depth)

    def _nat_from_map(self, rule: NfRule, chain: NfChain, action: str) -> Verdict | object:
        hit = self._looked_up(rule, chain)
        if isinstance(hit, Verdict):
            return hit
        if hit is None or not hit.value:
            return _NEXT  # no element: the NAT statement does nothing
        port = (rule.nat_to or "").removeprefix(":")
        to = hit.value if not port else (f"[{hit.value}]:{port}" if ":" in hit.value
                                         else f"{hit.value}:{port}")
        applied = dataclasses.replace(rule, nat_to=to)
        return Verdict("accept", rule=applied, chain=chain, nat=(action, applied))


def evaluate_hook(tables: list[NfTable], netns: str, hook: str, ctx: PacketContext,
                  decisions: Mapping[str, str] | None = None) -> Verdict:
    """Run every base chain of `hook` in order: the first drop (or uncertainty, or random
    choice not in `decisions`) ends it; NAT decisions are collected (the first DNAT/SNAT
    wins, as in the kernel); the mark changes as MARK rules say."""
    index = index_of(tables)
    walker = _Walker(index, ctx, decisions or {})
    nat = None
    last: Verdict | None = None
    for chain in index.base(netns, ctx.family, hook, ctx.ct_state != "new"):
        v = walker.run(chain)
        if v is None:
            policy = (chain.policy or "accept").lower()
            if policy == "drop":
                return walker.verdict("drop", None, chain, nat)
            last = Verdict("accept", chain=chain)
            continue
        if v.verdict != "accept":
            return walker.verdict(v.verdict, v.rule, v.chain, nat, v.choice)
        if v.nat and nat is None:
            nat = v.nat
            walker.translated(v.nat)
        last = v
    if last is None:
        return walker.verdict("accept", None, None, nat)
    return walker.verdict("accept", last.rule, last.chain, nat)


@dataclass(frozen=True)
class Outcome:
    """One way a hook can end: its probability, the random decisions that lead there (rule
    id -> option), and the Verdict."""

    probability: float
    decisions: Mapping[str, str]
    verdict: Verdict


def evaluate_all(tables: list[NfTable], netns: str, hook: str, ctx: PacketContext,
                 decisions: Mapping[str, str] | None = None) -> list[Outcome]:
    """Every outcome of a hook, following each random choice every way (in rule order).

    Beyond MAX_OUTCOMES the remaining choices are left as "choice" verdicts."""
    out: list[Outcome] = []
    pending = [(1.0, dict(decisions or {}))]
    while pending:
        probability, taken = pending.pop(0)
        v = evaluate_hook(tables, netns, hook, ctx, taken)
        if v.verdict == "choice" and v.choice and len(out) + len(pending) < MAX_OUTCOMES:
            pending[:0] = [(probability * p, {**taken, v.choice.rule.id: option})
                           for option, p in v.choice.options if p > 0]
            continue
        out.append(Outcome(probability, taken, v))
    return out


def split_nat_to(text: str) -> tuple[str | None, int | None]:
    """(address, port) of a NAT target as NfRule.nat_to writes it ("10.0.0.5:80",
    "[fd00::5]:80", "10.0.0.5", ":8080", "a-b:p-q": the first of each range)."""
    if not text:
        return None, None
    if text.startswith("["):
        addr, _, port = text[1:].partition("]:")
    elif text.count(":") == 1:
        addr, _, port = text.partition(":")
    else:
        addr, port = text, ""
    addr = addr.split("-")[0]
    port = port.split("-")[0]
    return addr or None, int(port) if port.isdigit() else None
