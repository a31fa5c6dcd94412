"""Rule-level netfilter verdicts: nftables tracing (nftrace) for the traced packets.

A temporary table `inet netscope_trace_<pid>_<start time>` (its owner mark) marks packets
that match the trace filter with `meta nftrace set 1` at prerouting and output (priority
-500, before every other chain); the kernel then reports each rule and policy that judged
them on the NFTRACE netlink group of that namespace. The table is a change to the host: it
is added only for the trace, in the namespaces that have nf_tables rules, and removed on
exit, Ctrl-C, SIGTERM and errors; one a SIGKILL left is removed by the next netscope that
traces or repairs (netscope.actions.leftovers) and reported by the doctor. Legacy x_tables
(iptables-legacy) rules are not traced by the kernel.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import socket
import struct
from dataclasses import dataclass, replace

from netscope.host import command, owner
from netscope.host.netlink import NLMSG_HDR, parse_attrs
from netscope.host.netns import entered
from netscope.trace.errors import ProbeError
from netscope.trace.tracer import TraceFilter

NETLINK_NETFILTER = 12
NFNLGRP_NFTRACE = 9
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_TRACE = 17
NFGENMSG = struct.Struct("=BBH")
# NFTA_TRACE_* attributes
TABLE, CHAIN, RULE_HANDLE, TYPE, VERDICT, ID = 1, 2, 3, 4, 5, 6
NETWORK_HEADER, TRANSPORT_HEADER, IIF, OIF, NFPROTO, POLICY = 8, 9, 10, 12, 15, 16
VERDICT_CODE, VERDICT_CHAIN = 1, 2
TRACE_TYPES = {1: "policy", 2: "return", 3: "rule"}  # enum nft_trace_types
VERDICTS = {0: "drop", 1: "accept", 2: "stolen", 3: "queue", 4: "repeat", 5: "stop",
            -1: "continue", -2: "break", -3: "jump", -4: "goto", -5: "return"}
FAMILIES = {1: "inet", 2: "ip", 3: "arp", 5: "netdev", 7: "bridge", 10: "ip6"}
TABLE_PREFIX = owner.NFTRACE_TABLE_PREFIX
_HANDLE = re.compile(r"^\s*(.*?)\s*# handle (\d+)\s*$")
_COUNTER = re.compile(r"counter packets \d+ bytes \d+")
_MAX_PACKETS = 10000


@dataclass(frozen=True)
class RuleVerdict:
    """One rule (or chain policy) that judged a traced packet, in one namespace."""

    netns: int
    family: str
    table: str
    chain: str
    kind: str                 # rule, return, policy
    verdict: str              # accept, drop, continue, jump <chain> ...
    handle: int | None = None
    src: str | None = None
    dst: str | None = None
    proto: int = 0
    ip_id: int = 0
    iif: int = 0
    oif: int = 0
    trace_id: int = 0         # the kernel's id of the traced packet in this namespace
    rule: str | None = None   # the rule's text (nft -a), filled in when known

    def packet_key(self) -> tuple:
        return (self.src, self.dst, self.proto, self.ip_id)

    @property
    def decisive(self) -> bool:
        """Did this end the packet's walk of the chain with accept or drop?"""
        return self.verdict in ("accept", "drop", "queue", "stolen")


def _be32(raw: bytes | None) -> int:
    return struct.unpack(">i", raw[:4])[0] if raw and len(raw) >= 4 else 0


def decode_trace(netns: int, msg: bytes) -> RuleVerdict | None:
    """Decode one netlink message from the NFTRACE group (None if it is something else)."""
    if len(msg) < NLMSG_HDR.size + NFGENMSG.size:
        return None
    _len, msg_type, _flags, _seq, _pid = NLMSG_HDR.unpack_from(msg)
    if msg_type != (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_TRACE):
        return None
    family = FAMILIES.get(msg[NLMSG_HDR.size], str(msg[NLMSG_HDR.size]))
    attrs = parse_attrs(msg, NLMSG_HDR.size + NFGENMSG.size)
    verdict = ""
    if VERDICT in attrs:
        nested = parse_attrs(attrs[VERDICT])
        verdict = VERDICTS.get(_be32(nested.get(VERDICT_CODE)), "?")
        if VERDICT_CHAIN in nested:
            verdict += " " + nested[VERDICT_CHAIN].rstrip(b"\0").decode(errors="replace")
    kind = TRACE_TYPES.get(_be32(attrs.get(TYPE)), "?")
    if kind == "policy" and POLICY in attrs:
        verdict = VERDICTS.get(_be32(attrs[POLICY]), "?")
    src = dst = None
    proto = ip_id = 0
    net = attrs.get(NETWORK_HEADER, b"")
    if len(net) >= 20 and net[0] >> 4 == 4:
        ip_id = struct.unpack(">H", net[4:6])[0]
        proto = net[9]
        src, dst = socket.inet_ntoa(net[12:16]), socket.inet_ntoa(net[16:20])
    elif len(net) >= 40 and net[0] >> 4 == 6:
        proto = net[6]
        src = socket.inet_ntop(socket.AF_INET6, net[8:24])
        dst = socket.inet_ntop(socket.AF_INET6, net[24:40])
    handle = struct.unpack(">Q", attrs[RULE_HANDLE][:8])[0] if RULE_HANDLE in attrs else None
    return RuleVerdict(
        netns=netns, family=family,
        table=attrs.get(TABLE, b"").rstrip(b"\0").decode(errors="replace"),
        chain=attrs.get(CHAIN, b"").rstrip(b"\0").decode(errors="replace"),
        kind=kind, verdict=verdict, handle=handle, src=src, dst=dst, proto=proto,
        ip_id=ip_id, iif=_be32(attrs.get(IIF)), oif=_be32(attrs.get(OIF)),
        trace_id=_be32(attrs.get(ID)) & 0xFFFFFFFF)


def trace_table(name: str, flt: TraceFilter) -> str:
    """The nft script of the temporary table that marks the filter's packets, both ways."""
    def match(src: str | None, dst: str | None, port_side: str) -> str:
        parts = []
        if src:
            parts.append(f"ip saddr {src}")
        if dst:
            parts.append(f"ip daddr {dst}")
        if flt.proto:
            parts.append(f"meta l4proto {flt.proto}")
        if flt.port:
            parts.append(f"th {port_side} {flt.port}")
        return " ".join(parts)

    rules = [f"{m} meta nftrace set 1".strip() for m in
             (match(flt.src, flt.dst, "dport"), match(flt.dst, flt.src, "sport"))]
    if rules[0] == rules[1]:
        rules = rules[:1]
    body = "".join(f"\t\t{r}\n" for r in rules)
    chains = "".join(
        f"\tchain {hook} {{\n\t\ttype filter hook {hook} priority -500; policy accept;\n"
        f"{body}\t}}\n" for hook in ("prerouting", "output"))
    return f"table inet {name} {{\n{chains}}}\n"


def _nft_in(ns_path: str, *args: str, script: str | None = None) -> command.Finished:
    """nft inside the namespace at `ns_path`, by the host's one command runner (its
    CommandFailed is an OSError: a tool missing or hung is one line, never a traceback)."""
    return command.run_status(["nsenter", f"--net={ns_path}", "nft", *args], "nftables",
                              stdin=script, timeout=10)


class NfTraceListener:
    """Trace tables and NFTRACE listeners in a set of namespaces; a context manager that
    removes every table it added, whatever happens."""

    def __init__(self, targets: dict[int, str], flt: TraceFilter) -> None:
        """targets: netns inode -> a path to its nsfs file (/run/netns/x, /proc/<pid>/ns/net)."""
        self.targets = targets
        self.filter = flt
        # the owner mark (pid, start time) lets a later netscope remove it if this one is
        # killed before it can (netscope.actions.leftovers)
        self.table = owner.mark(TABLE_PREFIX)
        self._socks: dict[int, socket.socket] = {}
        self._added: dict[int, str] = {}
        self._rules: dict[tuple, dict[int, str]] = {}
        self._packets: dict[tuple[int, int], RuleVerdict] = {}  # (netns, trace id) -> headers

    def __enter__(self) -> NfTraceListener:
        try:
            self._open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _open(self) -> None:
        home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        script = trace_table(self.table, self.filter)
        try:
            for inode, path in self.targets.items():
                try:
                    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                except OSError:
                    continue  # the namespace went away
                try:
                    with entered(fd, home):
                        sock = socket.socket(socket.AF_NETLINK,
                                             socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                                             NETLINK_NETFILTER)
                        sock.bind((0, 0))  # unbound sockets get no multicast
                finally:
                    os.close(fd)
                sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTRACE)
                sock.setblocking(False)
                self._socks[inode] = sock
                self._added[inode] = path  # before nft runs: a half-added table is removed too
                done = _nft_in(path, "-f", "-", script=script)
                if done.returncode != 0:
                    raise ProbeError(f"cannot add the nft trace table in netns {inode}: "
                                     f"{done.stderr.strip().splitlines()[-1:]}")
        finally:
            os.close(home)

    def poll(self, timeout_s: float = 0) -> list[RuleVerdict]:
        """Rule and policy verdicts that arrived since the last call, with the packet's
        addresses (the kernel sends them once per packet and chain) and the rule's text.
        The trace table's own rules and "continue" verdicts are left out."""
        out = []
        for v in self._receive(timeout_s):
            key = (v.netns, v.trace_id)
            if v.src is not None:
                if len(self._packets) > _MAX_PACKETS:
                    self._packets.clear()
                self._packets[key] = v
            elif key in self._packets:
                p = self._packets[key]
                v = replace(v, src=p.src, dst=p.dst, proto=p.proto, ip_id=p.ip_id,
                            iif=v.iif or p.iif, oif=v.oif or p.oif)
            if v.table == self.table or v.verdict in ("continue", "") or v.kind == "return":
                continue
            out.append(replace(v, rule=self.rule_text(v)) if v.kind == "rule" else v)
        return out

    def _receive(self, timeout_s: float) -> list[RuleVerdict]:
        out: list[RuleVerdict] = []
        if not self._socks:
            return out
        ready, _, _ = select.select(list(self._socks.values()), [], [], timeout_s)
        by_sock = {s: inode for inode, s in self._socks.items()}
        for sock in ready:
            while True:
                try:
                    data = sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:  # ENOBUFS: the kernel dropped trace messages
                    break
                out += _split(by_sock[sock], data)
        return out

    def rule_text(self, v: RuleVerdict) -> str | None:
        """The rule's text as `nft -a list chain` prints it, looked up by handle."""
        if v.handle is None or v.netns not in self.targets:
            return None
        key = (v.netns, v.family, v.table, v.chain)
        if key not in self._rules:
            try:
                listed = _nft_in(self.targets[v.netns], "-a", "list", "chain", v.family,
                                 v.table, v.chain).stdout
            except OSError:
                listed = ""  # the verdict stays, named by its handle
            rules = {}
            for line in listed.splitlines():
                m = _HANDLE.match(line)
                if m and not line.strip().startswith(("chain", "table", "type")):
                    rules[int(m.group(2))] = _COUNTER.sub("counter", m.group(1))
            self._rules[key] = rules
        return self._rules[key].get(v.handle)

    def close(self) -> None:
        """Remove every trace table added and close the listeners (idempotent)."""
        for inode, path in list(self._added.items()):
            # a hung or vanished nft must not keep the other tables in place
            with contextlib.suppress(OSError):
                _nft_in(path, "delete", "table", "inet", self.table)
            del self._added[inode]
        for sock in self._socks.values():
            sock.close()
        self._socks.clear()


def _split(netns: int, data: bytes) -> list[RuleVerdict]:
    out, off = [], 0
    while off + NLMSG_HDR.size <= len(data):
        length = NLMSG_HDR.unpack_from(data, off)[0]
        if length < NLMSG_HDR.size:
            break
        v = decode_trace(netns, data[off:off + length])
        if v is not None:
            out.append(v)
        off += (length + 3) & ~3
    return out


def nftables_namespaces(snapshot) -> dict[int, str]:
    """netns inode -> nsfs path, for namespaces with nf_tables tables (where a rule can
    judge a packet); legacy x_tables are left out: the kernel does not trace them."""
    with_tables = {t.netns for t in snapshot.tables if t.backend != "iptables-legacy"}
    out = {}
    for ns in snapshot.namespaces:
        if ns.id in with_tables and ns.origins:
            out[ns.inode] = ns.origins[0].path
    return out


def rule_targets(snapshot, expected) -> dict[int, str]:
    """Where to add nftrace tables: namespaces with nf_tables rules on the expected journey
    (a netscope.model.journey.Journey, its reply's included), or all of them when there is
    no expected journey."""
    with_rules = nftables_namespaces(snapshot)
    if expected is None:
        return with_rules
    on_path = {h.inode for _, whole in expected.outcomes()
               for j in (whole, whole.reply) if j is not None for h in j.hops}
    return {i: p for i, p in with_rules.items() if i in on_path}
