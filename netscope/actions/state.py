"""Is an operation's effect on the host right now? Asked before a repair runs (already done by
someone else?) and by `undo` (did the operation a crash interrupted run at all, and is its
effect gone after the undo?), so that undo never says "undone" while a change stays.

`effect_present(op)` answers True, False, or None when netscope cannot tell for that kind of
operation (an nft script, an `ip` command of a form not known here): callers treat None as
"run the undo, tolerate what is already gone, and say it could not be confirmed" where it
matters.
"""

from __future__ import annotations

import json
import os
import subprocess

from netscope.actions.ops import Cni, Ip, Iptables, IptablesPolicy, Op, Sysctl, ip_argv
from netscope.host import netns as host_netns

PROBE_TIMEOUT_S = 20


def _run(argv: list[str]) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _rule_spec(args: tuple[str, ...]) -> tuple[str, list[str]] | None:
    """(chain, rule spec) of an `-A/-I/-D CHAIN [POS] spec...` iptables command."""
    if len(args) < 3 or args[0] not in ("-A", "-I", "-D"):
        return None
    chain, spec = args[1], list(args[2:])
    if args[0] in ("-I", "-D") and spec and spec[0].isdigit():
        spec = spec[1:]  # a position, not part of the rule
    return (chain, spec) if spec else None


def rule_present(netns: str | None, table: str, chain: str, spec: list[str]) -> bool | None:
    """Whether `iptables -t table -C chain spec` finds the rule (None: could not ask)."""
    p = _run(Iptables(netns, table, ("-C", chain, *spec)).argv())
    if p is None:
        return None
    if p.returncode == 0:
        return True
    text = p.stderr
    if p.returncode == 1 and ("does a matching rule exist" in text or "No chain" in text
                              or "Bad rule" in text or not text.strip()):
        return False
    return None


def current_policy(netns: str | None, table: str, chain: str) -> str | None:
    """The policy of a builtin chain (ACCEPT, DROP), None when it cannot be read."""
    p = _run(Iptables(netns, table, ("-S", chain)).argv())
    if p is None or p.returncode != 0:
        return None
    first = p.stdout.splitlines()[0].split() if p.stdout.strip() else []
    return first[2] if len(first) == 3 and first[0] == "-P" else None


def sysctl_path(key: str) -> str:
    return "/proc/sys/" + (key if "/" in key else key.replace(".", "/"))


def read_sysctl(netns: str | None, key: str) -> str:
    """A sysctl's value read from inside `netns` (a name or a path). Raises OSError."""
    from netscope.actions.ops import netns_path

    fd = home = None
    try:
        if netns is not None:
            fd = os.open(netns_path(netns), os.O_RDONLY | os.O_CLOEXEC)
            home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            host_netns.setns(fd)
        try:
            with open(sysctl_path(key)) as f:
                return f.read().strip()
        finally:
            if home is not None:
                host_netns.setns(home)
    finally:
        for opened in (fd, home):
            if opened is not None:
                os.close(opened)


def _ip_json(netns: str | None, args: list[str]) -> list | None:
    p = _run(ip_argv(netns, ["-j", *args]))
    if p is None or p.returncode != 0:
        return None
    try:
        data = json.loads(p.stdout or "[]")
    except ValueError:
        return None
    return data if isinstance(data, list) else None


def _link_effect(op: Ip) -> bool | None:
    args = list(op.args)
    if len(args) < 4 or args[:2] != ["link", "set"]:
        return None
    dev, rest = args[2], args[3:]
    links = _ip_json(op.netns, ["link", "show", "dev", dev])
    if not links:
        return None
    link = links[0]
    if rest in (["up"], ["down"]):
        return ("UP" in link.get("flags", [])) == (rest == ["up"])
    if len(rest) == 2 and rest[0] == "mtu":
        return str(link.get("mtu")) == rest[1]
    if len(rest) == 2 and rest[0] == "master":
        return link.get("master") == rest[1]
    if rest == ["nomaster"]:
        return not link.get("master")
    return None


def _route_effect(op: Ip) -> bool | None:
    args = list(op.args)
    if len(args) < 5 or args[0] != "route" or args[2] != "default" or args[3] != "via":
        return None
    verb, gateway = args[1], args[4]
    routes = _ip_json(op.netns, ["route", "show", "default"])
    if routes is None:
        return None
    there = any(r.get("gateway") == gateway for r in routes)
    return there if verb in ("add", "replace") else not there if verb == "del" else None


def effect_present(op: Op) -> bool | None:
    """True when the host shows `op`'s effect now, False when it does not, None when netscope
    cannot tell for this kind of operation."""
    if isinstance(op, Iptables):
        found = _rule_spec(op.args)
        if found is None:
            return None
        present = rule_present(op.netns, op.table, *found)
        if present is None:
            return None
        return present if op.args[0] in ("-A", "-I") else not present
    if isinstance(op, IptablesPolicy):
        policy = current_policy(op.netns, op.table, op.chain)
        return None if policy is None else policy == op.policy
    if isinstance(op, Sysctl):
        try:
            return read_sysctl(op.netns, op.key) == op.value
        except OSError:
            return None
    if isinstance(op, Ip):
        return _link_effect(op) if op.args[:1] == ("link",) else _route_effect(op)
    if isinstance(op, Cni):
        return _cni_effect(op)
    return None


def _cni_effect(op: Cni) -> bool | None:
    """A CNI ADD shows as its interface in the container's namespace (a DEL as its absence);
    None when that namespace cannot be entered."""
    if not os.path.exists(op.target):
        return None
    p = _run(ip_argv(op.target, ["-j", "link", "show"]))
    if p is None or p.returncode != 0:
        return None
    try:
        names = {link.get("ifname") for link in json.loads(p.stdout or "[]")}
    except (ValueError, AttributeError):
        return None
    return (op.ifname in names) == (op.command == "ADD")
