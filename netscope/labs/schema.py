"""The keys each topology section accepts, their types, and the checks that need no context.

A field spec is a (kind, required) pair. Kinds: "str", "text", "int", "bool", "port", "mtu",
"ip", "cidr" (an interface address like 10.0.0.2/24), "net" (a network, host bits zero, or
"default"), "cidrs", "ports", "sysctl", "rule" (an iptables rule string), "strs",
"ref:<section>" (the key of an object in that section), or a tuple of allowed strings.
"""

from __future__ import annotations

import ipaddress
import re
import shlex

from netscope.labs.topology import (
    CHECK_OUTCOMES,
    CHECK_PROTOS,
    IPTABLES_TABLES,
    LINK_KINDS,
    MACVLAN_MODES,
    NODE_ROLES,
)

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
NODE_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")
IFNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")
CHAIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,28}$")
SYSCTL_RE = re.compile(r"^net\.[A-Za-z0-9_.-]+$")
NFT_TABLE_RE = re.compile(r"^\s*table\s+(ip|ip6|inet|arp|bridge|netdev)\s+([A-Za-z0-9_-]+)\s*\{",
                          re.MULTILINE)

Spec = dict[str, tuple[object, bool]]

LAB_FIELDS: Spec = {"name": ("str", True), "summary": ("str", True), "explain": ("text", True)}

SECTIONS: dict[str, Spec] = {
    "nodes": {"role": (NODE_ROLES, True), "sysctl": ("sysctl", False)},
    "links": {
        "node": ("ref:nodes", True), "name": ("ifname", False), "kind": (LINK_KINDS, True),
        "addresses": ("cidrs", False), "mtu": ("mtu", False), "up": ("bool", False),
        "master": ("ref:links", False), "peer": ("ref:links", False),
        "parent": ("ref:links", False), "mode": (MACVLAN_MODES, False),
        "vni": ("int", False), "local": ("ip", False), "remote": ("ip", False),
        "dev": ("ref:links", False), "port": ("port", False),
    },
    "routes": {
        "node": ("ref:nodes", True), "to": ("net", True), "via": ("ip", False),
        "dev": ("ref:links", False), "src": ("ip", False), "metric": ("int", False),
        "table": ("int", False),
    },
    "ip_rules": {
        "node": ("ref:nodes", True), "priority": ("int", True), "table": ("int", True),
        "from": ("net", False), "to": ("net", False),
    },
    "chains": {
        "node": ("ref:nodes", True), "table": (IPTABLES_TABLES, False),
        "chain": ("chain", True), "policy": (("ACCEPT", "DROP"), False),
    },
    "iptables": {
        "node": ("ref:nodes", True), "table": (IPTABLES_TABLES, False),
        "chain": ("chain", True), "rule": ("rule", True), "position": ("int", False),
    },
    "nft": {"node": ("ref:nodes", True), "ruleset": ("text", True)},
    "servers": {"node": ("ref:nodes", True), "tcp": ("ports", False), "udp": ("ports", False),
                "bind": ("ip", False), "reuseport": ("bool", False)},
    "checks": {
        "from": ("ref:nodes", True), "to": ("ip", True), "proto": (CHECK_PROTOS, True),
        "expect": (CHECK_OUTCOMES, True), "port": ("port", False), "reply": ("strs", False),
        "reply_all": ("bool", False), "peer": ("ip", False),
        "payload": (("big", "mtu"), False), "source": ("ip", False),
        "dev": ("ref:links", False), "explain": ("text", False),
    },
    "variants": {
        "fault": ("str", False), "summary": ("str", True), "symptom": ("text", True),
        "target": ("str", True), "set": ("table", False), "remove": ("strs", False),
    },
}

SCALE_FIELDS: Spec = {
    "host": ("ref:nodes", True), "bridge": ("ref:links", True), "subnet": ("net", True),
    "gateway": ("ip", True), "node_prefix": ("str", False), "veth_prefix": ("str", False),
}


def type_problem(kind: object, value: object) -> str | None:
    """Why `value` is not of field kind `kind`, or None when it is."""
    if isinstance(kind, tuple):
        if value not in kind:
            return f"{value!r} is not one of {', '.join(kind)}"
        return None
    checker = _CHECKERS.get(str(kind).split(":")[0])
    return checker(value) if checker else f"unknown field kind {kind}"


def _is_str(v: object) -> str | None:
    return None if isinstance(v, str) and v else "must be a non-empty string"


def _is_int(v: object) -> str | None:
    return None if isinstance(v, int) and not isinstance(v, bool) else "must be an integer"


def _is_bool(v: object) -> str | None:
    return None if isinstance(v, bool) else "must be true or false"


def _ranged(lo: int, hi: int, what: str):
    def check(v: object) -> str | None:
        if _is_int(v) or not lo <= v <= hi:  # type: ignore[operator]
            return f"must be {what} ({lo}..{hi})"
        return None
    return check


def _ip(v: object) -> str | None:
    if not isinstance(v, str):
        return "must be an IP address string"
    try:
        ipaddress.ip_address(v)
    except ValueError:
        return f"{v!r} is not an IP address"
    return None


def _cidr(v: object) -> str | None:
    if not isinstance(v, str) or "/" not in v:
        return f"{v!r} is not an address with a prefix length (like 10.0.0.2/24)"
    try:
        ipaddress.ip_interface(v)
    except ValueError:
        return f"{v!r} is not a valid address/prefix"
    return None


def _net(v: object) -> str | None:
    if v == "default":
        return None
    if not isinstance(v, str):
        return "must be a network string like 10.0.0.0/24 or \"default\""
    try:
        ipaddress.ip_network(v)
    except ValueError as e:
        return f"{v!r} is not a network: {e}"
    return None


def _list_of(check, what: str):
    def run(v: object) -> str | None:
        if not isinstance(v, list):
            return f"must be a list of {what}"
        for item in v:
            problem = check(item)
            if problem:
                return problem
        return None
    return run


def _ifname(v: object) -> str | None:
    if not isinstance(v, str) or not IFNAME_RE.match(v):
        return (f"{v!r} is not a usable interface name (1-15 characters: letters, digits, "
                "'_', '.', '-')")
    return None


def _chain(v: object) -> str | None:
    if not isinstance(v, str) or not CHAIN_RE.match(v):
        return f"{v!r} is not a usable chain name (letters, digits, '_', '-'; at most 29)"
    return None


def _rule(v: object) -> str | None:
    if not isinstance(v, str) or not v.strip():
        return "must be an iptables rule string like \"-s 10.0.0.0/24 -j MASQUERADE\""
    try:
        words = shlex.split(v)
    except ValueError as e:
        return f"cannot be split into words: {e}"
    if any('"' in w or "\n" in w for w in words):
        return "must not hold double quotes or newlines inside a word"
    if words[0] in ("-A", "-I", "-D", "-N", "-X", "-P", "-F", "-t"):
        return f"starts with {words[0]}: give only the matches and target; table/chain are keys"
    return None


def _sysctl(v: object) -> str | None:
    if not isinstance(v, dict):
        return "must be a table of sysctl = value"
    for key, value in v.items():
        if not SYSCTL_RE.match(key):
            return f"{key!r} is not a net.* sysctl name"
        if isinstance(value, bool) or not isinstance(value, int | str):
            return f"{key}: value must be an integer or a string"
    return None


def _table(v: object) -> str | None:
    return None if isinstance(v, dict) else "must be a table"


def _key_ref(v: object) -> str | None:
    return None if isinstance(v, str) and v else "must name an object by its key"


_CHECKERS = {
    "str": _is_str, "text": _is_str, "int": _is_int, "bool": _is_bool,
    "port": _ranged(1, 65535, "a port"), "mtu": _ranged(68, 65535, "an MTU"),
    "ip": _ip, "cidr": _cidr, "net": _net, "cidrs": _list_of(_cidr, "addresses"),
    "ports": _list_of(_ranged(1, 65535, "a port"), "ports"),
    "strs": _list_of(_is_str, "strings"), "ifname": _ifname, "chain": _chain,
    "rule": _rule, "sysctl": _sysctl, "table": _table, "ref": _key_ref,
}
