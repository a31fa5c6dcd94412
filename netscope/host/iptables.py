"""Read and parse `iptables-save -c` / `ip6tables-save -c` (nf_tables or legacy backend).

iptables-save keeps what `nft -j` flattens for rules iptables-nft wrote (DNAT targets,
comments, xt matches), and reads 1,200 rules in ~17 ms. Run from a thread inside a network
namespace, the subprocess reads that namespace's rules. Parsing never fails on an option it
does not know: such a match is kept, with its text, as `recognised=False`.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Container, Iterator

from netscope.host import command
from netscope.host.command import CommandFailed
from netscope.model.made import maker
from netscope.model.netfilter import (
    MARK_BITS,
    NfChain,
    NfMatch,
    NfRule,
    NfTable,
    chain_label,
    table_key,
    xmark,
)

SAVE_COMMANDS = {
    ("ip", "iptables-nft"): ("iptables-save", "-c"),
    ("ip6", "iptables-nft"): ("ip6tables-save", "-c"),
    ("ip", "iptables-legacy"): ("iptables-legacy-save", "-c"),
    ("ip6", "iptables-legacy"): ("ip6tables-legacy-save", "-c"),
}
TIMEOUT = 20.0

# table -> built-in chain -> nf_tables priority iptables registers it with
BUILTIN_PRIORITIES = {
    "raw": {"PREROUTING": -300, "OUTPUT": -300},
    "mangle": dict.fromkeys(("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"), -150),
    "nat": {"PREROUTING": -100, "INPUT": 100, "OUTPUT": -100, "POSTROUTING": 100},
    "filter": dict.fromkeys(("INPUT", "FORWARD", "OUTPUT"), 0),
    "security": dict.fromkeys(("INPUT", "FORWARD", "OUTPUT"), 50),
}
VERDICTS = {"ACCEPT": "accept", "DROP": "drop", "RETURN": "return", "QUEUE": "queue",
            "NFQUEUE": "queue", "NOTRACK": "notrack"}
NAT_TARGETS = {"DNAT": "to-destination", "SNAT": "to-source", "MASQUERADE": "to-ports",
               "REDIRECT": "to-ports", "NETMAP": "to"}

CORE_OPTIONS = {"-s": "saddr", "-d": "daddr", "-i": "iif", "-o": "oif", "-p": "proto",
                "--source": "saddr", "--destination": "daddr", "--in-interface": "iif",
                "--out-interface": "oif", "--protocol": "proto"}
_PORTS = {"--dport": "dport", "--sport": "sport", "--destination-port": "dport",
          "--source-port": "sport"}
# (module, option) -> match field; values split on "," where the module lists them so
MODULE_OPTIONS: dict[tuple[str, str], str] = {
    **{(m, o): f for m in ("tcp", "udp", "sctp", "dccp", "udplite") for o, f in _PORTS.items()},
    ("tcp", "--tcp-flags"): "tcp_flags",
    ("tcp", "--syn"): "tcp_flags",
    ("multiport", "--dports"): "dport",
    ("multiport", "--destination-ports"): "dport",
    ("multiport", "--sports"): "sport",
    ("multiport", "--source-ports"): "sport",
    ("multiport", "--ports"): "port",
    ("conntrack", "--ctstate"): "ct_state",
    ("conntrack", "--ctstatus"): "ct_status",
    ("conntrack", "--ctdir"): "ct_direction",
    ("state", "--state"): "ct_state",
    ("addrtype", "--src-type"): "saddr_type",
    ("addrtype", "--dst-type"): "daddr_type",
    ("mark", "--mark"): "mark",
    ("icmp", "--icmp-type"): "icmp_type",
    ("icmp6", "--icmpv6-type"): "icmp_type",
    ("physdev", "--physdev-in"): "physdev_in",
    ("physdev", "--physdev-out"): "physdev_out",
    ("physdev", "--physdev-is-bridged"): "physdev_is_bridged",
    ("set", "--match-set"): "ipset",
    ("iprange", "--src-range"): "saddr",
    ("iprange", "--dst-range"): "daddr",
    ("statistic", "--probability"): "probability",
    ("statistic", "--every"): "probability",
}
# options that only qualify another option of their module (statistic's --mode random is
# implied by --probability, --mode nth by --every)
QUALIFIERS = {("statistic", "--mode"), ("statistic", "--packet"),
              # nfacct only counts; `recent --set` records the source and always matches
              ("nfacct", "--nfacct-name"), ("recent", "--set"), ("recent", "--name"),
              ("recent", "--mask"), ("recent", "--rsource"), ("recent", "--rdest")}
LIST_FIELDS = {"ct_state", "ct_status", "saddr_type", "daddr_type", "dport", "sport", "port"}
LOWER_FIELDS = {"ct_state", "ct_status", "ct_direction", "saddr_type", "daddr_type"}
# modules that add no condition of their own (the protocol is already matched by -p)
SILENT_MODULES = {"tcp", "udp", "sctp", "dccp", "udplite", "icmp", "icmp6", "comment",
                  "nfacct"}

_new_rule = maker(NfRule)  # tens of thousands per ruleset on a Kubernetes node
_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')
_UNESCAPE = re.compile(r"\\(.)")
_COUNTERS = re.compile(r"\[(\d+):(\d+)\]")


class SaveFailed(CommandFailed):
    """iptables-save could not run or failed; the message says which and why."""


def start_save(family: str, backend: str) -> subprocess.Popen:
    """Start `iptables-save -c` (or its ip6/legacy sibling) in this namespace; read its
    output with finish_save(). The child keeps the namespace it was started in."""
    return command.start(SAVE_COMMANDS[(family, backend)], "iptables", SaveFailed)


def finish_save(proc: subprocess.Popen) -> str:
    """The output of a save started with start_save(), or SaveFailed saying why not."""
    return command.finish(proc, TIMEOUT, SaveFailed)


def run_save(family: str, backend: str) -> str:
    """The output of `iptables-save -c` (or its ip6/legacy sibling) in this namespace."""
    return finish_save(start_save(family, backend))


def tokenize(text: str) -> list[tuple[str, bool]]:
    """iptables-save's words as (word, was_quoted); quotes and backslash escapes removed."""
    out = []
    for quoted, bare in _TOKEN.findall(text):
        if bare:
            out.append((bare, False))
        else:
            out.append((_UNESCAPE.sub(r"\1", quoted), True))
    return out


_NOTHING_QUOTED: frozenset[int] = frozenset()


def _words(args: str) -> tuple[list[str], frozenset[int] | set[int]]:
    """The words of a rule, and the indexes of those that were quoted (values, always)."""
    if '"' not in args:
        return args.split(), _NOTHING_QUOTED
    if "\\" not in args:
        # no escapes (kube-proxy's comments, on 30,000 rules): the quotes alone cut words,
        # three times faster than the tokenizer
        words: list[str] = []
        quoted: set[int] = set()
        for i, part in enumerate(args.split('"')):
            if i % 2:
                quoted.add(len(words))
                words.append(part)
            else:
                words += part.split()
        return words, quoted
    tokens = tokenize(args)
    return [w for w, _ in tokens], {i for i, (_, q) in enumerate(tokens) if q}


def _match_text(module: str | None, option: str, values: list[str], negated: bool) -> str:
    parts = [f"-m {module}"] if module else []
    parts += ["!"] if negated else []
    parts.append(option)
    parts += [f'"{v}"' if " " in v or not v else v for v in values]
    return " ".join(parts)


# matches made so far, by what they were made from: equal conditions recur across thousands
# of rules (`-p tcp`, `-m tcp --dport 80`, kube-proxy's `-m mark ! --mark 0x4000/0x4000`),
# and NfMatch is immutable, so one object serves them all
_MATCHES: dict[tuple, NfMatch] = {}
_MATCHES_MAX = 100_000


def _option_match(module: str | None, option: str, values: list[str],
                  negated: bool) -> NfMatch:
    key = (module, option, *values, negated)
    got = _MATCHES.get(key)
    if got is None:
        if len(_MATCHES) >= _MATCHES_MAX:
            _MATCHES.clear()
        got = _MATCHES[key] = _new_option_match(module, option, values, negated)
    return got


def _new_option_match(module: str | None, option: str, values: list[str],
                      negated: bool) -> NfMatch:
    text = _match_text(module, option, values, negated)
    field = CORE_OPTIONS.get(option) if module is None else MODULE_OPTIONS.get((module, option))
    if field is None:
        return NfMatch(module or option, tuple(values), negated, False, text)
    if field in LIST_FIELDS and len(values) == 1:
        values = values[0].split(",")
    if field in LOWER_FIELDS:
        values = [v.lower() for v in values]
    if option == "--syn":
        values = ["FIN,SYN,RST,ACK", "SYN"]
    if option == "--every":
        # every n-th new connection: over connections, a choice with probability 1/n
        try:
            values = [repr(1 / int(values[0]))]
        except (ValueError, IndexError, ZeroDivisionError):
            return NfMatch(module or option, tuple(values), negated, False, text)
    return NfMatch(field, tuple(values), negated, True, text)


def _options(words: list[str], quoted: frozenset[int] | set[int]
             ) -> Iterator[tuple[str, list[str], bool]]:
    """(option, values, negated) in order; "-m NAME" comes out as ("-m", [NAME])."""
    i, n = 0, len(words)
    while i < n:
        word = words[i]
        i += 1
        negated = word == "!" and (i - 1) not in quoted
        if negated:
            if i >= n:
                return
            word = words[i]
            i += 1
        start = i
        while i < n and (i in quoted or (words[i][0] != "-" and words[i] != "!")):
            i += 1
        yield word, words[start:i], negated


def parse_rule_args(args: str, chains: Container[str]) -> dict:
    """The structured form of one rule's arguments (after `-A CHAIN`).

    Returns matches, action, jump, nat_to, action_args and comment, ready for NfRule.
    """
    words, quoted = _words(args)
    matches: list[NfMatch] = []
    module: str | None = None
    module_used = True
    comment = None
    out: dict = {"action": "none", "jump": None, "nat_to": None, "action_args": {},
                 "set_mark": None}
    target: str | None = None
    for option, values, negated in _options(words, quoted):
        if target is not None:
            out["action_args"][option.lstrip("-")] = " ".join(values)
            continue
        if option in ("-m", "--match"):
            if not module_used and module not in SILENT_MODULES:
                matches.append(NfMatch(module, (), False, False, f"-m {module}"))
            module, module_used = (values[0] if values else ""), False
        elif option in ("-j", "--jump") and values:
            target = values[0]
        elif option in ("-g", "--goto") and values:
            out["action"], out["jump"] = "goto", values[0]
        elif module == "comment" and option == "--comment":
            comment, module_used = " ".join(values), True
        elif (module, option) in QUALIFIERS:
            module_used = True
        elif option in CORE_OPTIONS or option in ("-f", "--fragment"):
            matches.append(_option_match(None, option, values, negated))
        else:
            matches.append(_option_match(module, option, values, negated))
            module_used = True
    if not module_used and module not in SILENT_MODULES:
        matches.append(NfMatch(module, (), False, False, f"-m {module}"))
    if target is not None:
        _set_target(out, target, chains)
    out["matches"] = tuple(matches)
    out["comment"] = comment
    return out


def _set_target(out: dict, target: str, chains: Container[str]) -> None:
    args = out["action_args"]
    if target in chains:
        out["action"], out["jump"] = "jump", target
    elif target in VERDICTS:
        out["action"] = VERDICTS[target]
    elif target == "CT" and "notrack" in args:
        out["action"] = "notrack"
    else:
        out["action"] = target.lower()
    nat_option = NAT_TARGETS.get(target)
    if nat_option and args.get(nat_option):
        out["nat_to"] = args[nat_option]
    if target == "MARK":
        out["set_mark"] = mark_target(args)


def mark_target(args: dict[str, str]) -> str | None:
    """NfRule.set_mark of a `-j MARK` target from its options (None if none is known).

    iptables-save prints --set-xmark whatever was typed; the other spellings are the
    kernel's xt_MARK in other words (libxt_MARK): --set-mark v/m zeroes m and ORs v.
    """
    try:
        if "set-xmark" in args or "set-mark" in args:
            value, _, mask = args.get("set-xmark", args.get("set-mark", "")).partition("/")
            v, m = int(value, 0), int(mask, 0) if mask else MARK_BITS
            return xmark(v, m if "set-xmark" in args else m | v)
        for option, form in (("or-mark", lambda b: (b, b)), ("xor-mark", lambda b: (b, 0)),
                             ("and-mark", lambda b: (0, ~b))):
            if option in args:
                return xmark(*form(int(args[option], 0)))
    except ValueError:
        return None
    return None


def _chain_meta(table: str, name: str, policy: str) -> dict:
    priority = BUILTIN_PRIORITIES.get(table, {}).get(name)
    if policy == "-" or priority is None:
        return {}
    if table == "nat":
        kind = "nat"
    elif table == "mangle" and name == "OUTPUT":
        kind = "route"
    else:
        kind = "filter"
    return {"hook": name.lower(), "type": kind, "priority": priority, "policy": policy}


def parse_save(text: str, inode: int, family: str, backend: str = "iptables-nft") -> list[NfTable]:
    """Every table in iptables-save output (family "ip" or "ip6"), as model objects.

    Tables iptables-nft reports as incompatible (native nft tables sharing a name) are left
    out here: read them with `nft -j`.
    """
    netns = f"ns:{inode}"
    tables: list[NfTable] = []
    table = None
    chain_heads: dict[str, tuple[str, int, int]] = {}
    rules: dict[str, list[NfRule]] = {}
    key = ""
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        if line[0] == "*":
            table = line[1:].strip()
            key = table_key(inode, family, table, backend)
            chain_heads, rules = {}, {}
        elif line[0] == ":" and table:
            name, policy, counters = [*line[1:].split(None, 2), "-", ""][:3]
            m = _COUNTERS.match(counters)
            chain_heads[name] = (policy, int(m[1]) if m else 0, int(m[2]) if m else 0)
            rules[name] = []
        elif line == "COMMIT" and table:
            tables.append(_table(netns, key, family, table, backend, chain_heads, rules))
            table = None
        elif table:
            rule = _rule(line, netns, key, family, table, chain_heads, rules)
            if rule is not None:
                rules.setdefault(rule.chain, []).append(rule)
    return tables


def _rule(line: str, netns: str, key: str, family: str, table: str,
          chain_heads: dict, rules: dict) -> NfRule | None:
    packets = nbytes = None
    rest = line
    if line[0] == "[":
        m = _COUNTERS.match(line)
        if m:
            packets, nbytes = int(m[1]), int(m[2])
            rest = line[m.end():].lstrip()
    if not rest.startswith("-A "):
        return None
    chain, _, args = rest[3:].partition(" ")
    position = len(rules.get(chain, ())) + 1
    p = parse_rule_args(args, chain_heads)
    return _new_rule(f"nfrule:{key}/{chain}/{position}", netns, family, table, chain, position,
                     rest, p["action"], p["matches"], p["jump"], p["nat_to"], p["action_args"],
                     packets, nbytes, p["comment"], None, p["set_mark"], None)


def _table(netns: str, key: str, family: str, table: str, backend: str,
           chain_heads: dict, rules: dict) -> NfTable:
    chains = []
    for name, (policy, packets, nbytes) in chain_heads.items():
        meta = _chain_meta(table, name, policy)
        chains.append(NfChain(
            id=f"chain:{key}/{name}", netns=netns, family=family, table=table, name=name,
            rules=tuple(rules.get(name, ())),
            packets=packets if meta else None, bytes=nbytes if meta else None,
            label=chain_label(table, name, rules.get(name, ())), **meta))
    return NfTable(id=f"nftable:{key}", netns=netns, family=family, name=table,
                   backend=backend, chains=tuple(chains))


def incompatible_tables(text: str) -> set[str]:
    """Names of tables iptables-nft-save skipped as "incompatible, use 'nft' tool"."""
    return set(re.findall(r"# Table `([^']+)' is incompatible", text))
