"""Turn a group of probe events into an observed journey (netscope.model.journey): the hops
a person reads, each explained, and how it ended.

Hop steps: connect, receive, queue, xmit, bridge (inferred from bridge ports: no probe fires
inside the bridge without kprobes), route (fib lookups), nat (the tuple changed), netfilter
(nftrace verdicts), drop, deliver, consume. Names come from Places (the host graph); drop
reasons and kernel locations from the kernel; explanations from analysis.hop_explain.
"""

from __future__ import annotations

import errno
from dataclasses import replace

from netscope.analysis.hop_explain import explain_hop
from netscope.model import link_id, ns_id
from netscope.model.journey import PROTOCOLS, Hop, Journey, Packet, Verdict
from netscope.trace.events import PacketTuple, ProbeEvent
from netscope.trace.journey import EventGroup
from netscope.trace.kernel_names import KernelSymbols, reason_name
from netscope.trace.nftrace import RuleVerdict
from netscope.trace.places import Places

TABLE_NAMES = {255: "local", 254: "main", 253: "default"}
_XMIT_RESULTS = {0: "ok", 1: "dropped by the device (NET_XMIT_DROP)",
                 2: "congestion (NET_XMIT_CN)", 0x10: "device busy (NETDEV_TX_BUSY)"}


class HopNamer:
    """Names for everything in an event: places, drop reasons, kernel code locations."""

    def __init__(self, places: Places, reasons: dict[int, str], symbols: KernelSymbols) -> None:
        self.places, self.reasons, self.symbols = places, reasons, symbols

    def at(self, e: ProbeEvent | None, netns: int | None = None,
           ifindex: int | None = None) -> dict:
        """The place fields of a Hop (netns, netns_name, device, link) and the packet's
        addresses, for an event (or given numbers)."""
        ns = e.netns if netns is None else netns
        ix = e.ifindex if ifindex is None else ifindex
        t = e.tuple if e is not None else None
        return {"netns": ns_id(ns) if ns else "", "netns_name": self.places.namespace(ns),
                "device": self.places.device(ns, ix),
                "link": link_id(ns, ix) if ns and ix else None,
                "src": t.src if t else None, "dst": t.dst if t else None}


def _hop(ts_us: float, step: str, where: dict, decision: str = "", **fields) -> Hop:
    return Hop(step=step, decision=decision, ts_us=ts_us, **where, **fields)


def nat_change(old: PacketTuple, new: PacketTuple) -> str:
    """e.g. "dst 172.17.0.1:8080 -> 10.0.0.2:80" (both ends when both changed). A source port
    0 is one not chosen yet (a connect), not a change."""
    parts = []
    if (old.src, old.sport or new.sport) != (new.src, new.sport):
        parts.append(f"src {old.src}:{old.sport} -> {new.src}:{new.sport}")
    if (old.dst, old.dport) != (new.dst, new.dport):
        parts.append(f"dst {old.dst}:{old.dport} -> {new.dst}:{new.dport}")
    return ", ".join(parts) or "tuple rewritten"


def _address_check(run: list[ProbeEvent]) -> bool:
    """A lone miss in the local table is "is this address mine?", not a routing decision."""
    return all(e.fib_table == 255 and e.result == -errno.EAGAIN for e in run)


def _route_hop(run: list[ProbeEvent], fix_netns: int | None, name: HopNamer, t0: int) -> Hop:
    """One hop for consecutive fib lookups of one packet (one per routing table tried)."""
    first = run[0]
    netns = fix_netns if (first.netns_from_task and fix_netns) else first.netns
    found = [e for e in run if e.result == 0]
    if found:
        e = found[-1]
        table = TABLE_NAMES.get(e.fib_table, str(e.fib_table))
        where = name.at(e, netns, e.fib_oif)
        what = "local delivery" if e.fib_table == 255 else f"out via {where['device']}"
        return _hop((e.ts_ns - t0) / 1000, "route", where, f"table {table}: {what}",
                    verdict="routed")
    last = run[-1]
    tables = ", ".join(TABLE_NAMES.get(e.fib_table, str(e.fib_table)) for e in run)
    err = -last.result
    why = "no route" if err in (errno.EAGAIN, errno.ENETUNREACH) else (
        f"route says {errno.errorcode.get(err, err)}")
    dst = last.tuple.dst if last.tuple else "?"
    ifindex = next((e.ifindex for e in run if e.ifindex), 0)
    return _hop((last.ts_ns - t0) / 1000, "route", name.at(last, netns, ifindex),
                f"{why} to {dst} (tables tried: {tables})", verdict="no route")


def build_hops(group: EventGroup, name: HopNamer) -> list[Hop]:
    events = sorted(group.events, key=lambda e: e.ts_ns)
    t0 = events[0].ts_ns if events else 0
    places = name.places
    hops: list[Hop] = []
    last_tuple: PacketTuple | None = None
    last_rx: ProbeEvent | None = None
    i = 0
    while i < len(events):
        e = events[i]
        if e.hook == "fib":
            run = [e]
            while i + 1 < len(events) and events[i + 1].hook == "fib":
                i += 1
                run.append(events[i])
            later = next((x for x in events[i + 1:] if x.hook != "fib"), None)
            if not _address_check(run):
                hops.append(_route_hop(run, later.netns if later else None, name, t0))
            i += 1
            continue
        ts = (e.ts_ns - t0) / 1000
        where = name.at(e)
        if e.hook == "connect" and e.tuple:
            hops.append(_hop(ts, "connect", {**where, "device": "-", "link": None},
                             f"a local socket connects to {e.tuple.dst}:{e.tuple.dport}"))
            last_tuple = e.tuple
            i += 1
            continue
        if e.rewritten and last_tuple and e.tuple:
            # the rewrite happened where the packet was last seen
            prev = {"netns": hops[-1].netns, "netns_name": hops[-1].netns_name} if hops else {}
            change = nat_change(last_tuple, e.tuple)
            hops.append(_hop(ts, "nat", {**where, **prev, "device": "-", "link": None},
                             change, nat=change))
        bridge = _bridge_between(last_rx, e, places)
        if bridge:
            master = places.graph.master(link_id(last_rx.netns, last_rx.ifindex))
            hops.append(_hop(ts, "bridge", {**where, "device": bridge[0],
                                            "link": master.id if master else None},
                             bridge[1], inferred=True))
        hop = _skb_hop(e, ts, where, name)
        if hop.step == "consume" and any(x.hook != "fib" for x in events[i + 1:]):
            # freed while the journey goes on: the kernel carries on with a copy
            # (__neigh_event_send: the packet waits for ARP/ND as a copy)
            hop = replace(hop, decision=f"{hop.decision}: freed, a copy goes on")
        hops.append(hop)
        if e.tuple:
            last_tuple = e.tuple
        if e.hook == "receive":
            last_rx = e
        elif e.hook in ("queue", "drop"):
            last_rx = None
        i += 1
    return hops


def _bridge_between(rx: ProbeEvent | None, e: ProbeEvent, places: Places):
    """(bridge name, detail) when `e` leaves (or dies in) the bridge `rx` came in through."""
    if rx is None or e.hook not in ("queue", "drop") or e.netns != rx.netns:
        return None
    if places.master_kind(rx.netns, rx.ifindex) != "bridge":
        return None
    bridge = places.master(rx.netns, rx.ifindex)
    inport = places.device(rx.netns, rx.ifindex)
    if e.ifindex and places.master(e.netns, e.ifindex) == bridge and e.ifindex != rx.ifindex:
        return bridge, f"forward {inport} -> {places.device(e.netns, e.ifindex)}"
    if e.hook == "drop" and e.ifindex in (rx.ifindex, 0):
        return bridge, f"from {inport}"
    return None


def _skb_hop(e: ProbeEvent, ts: float, where: dict, name: HopNamer) -> Hop:
    places = name.places
    if e.hook == "drop":
        reason = reason_name(name.reasons, e.reason)
        return _hop(ts, "drop", where, f"{reason} in {name.symbols.function(e.location)}",
                    verdict="dropped", drop_reason=reason,
                    location=name.symbols.name(e.location))
    if e.hook == "consume":
        dst = e.tuple.dst if e.tuple else None
        func = name.symbols.function(e.location)
        if dst and places.owns(e.netns, dst):
            return _hop(ts, "deliver", where, f"to the stack ({func})", verdict="delivered",
                        location=name.symbols.name(e.location))
        return _hop(ts, "consume", where, func, location=name.symbols.name(e.location))
    if e.hook == "xmit":
        return _hop(ts, "xmit", where, "", verdict=_XMIT_RESULTS.get(e.result,
                                                                      f"rc {e.result}"))
    detail, verdict = "", None
    if e.hook == "receive":
        master = places.master(e.netns, e.ifindex)
        detail = f"port of {master}" if master else ""
        if e.tuple and places.owns(e.netns, e.tuple.dst):
            verdict = "arrived"  # its destination address lives in this namespace
    return _hop(ts, e.hook, where, detail, verdict=verdict)


def _packet_keys(group: EventGroup) -> set[tuple]:
    return {(e.tuple.src, e.tuple.dst, e.tuple.proto, e.tuple.ip_id)
            for e in group.events if e.tuple and e.hook not in ("fib", "connect")}


def rule_hop(v: RuleVerdict, name: HopNamer, ts_us: float) -> Hop:
    where = f"{v.family} {v.table} {v.chain}"
    what = f"rule {v.rule!r}" if v.rule else (f"rule handle {v.handle}" if v.handle else
                                               "chain policy")
    rule = f"{where}: {v.rule or ('policy ' + v.verdict if v.kind == 'policy' else what)}"
    at = name.at(None, v.netns, v.oif or v.iif)
    if not (v.oif or v.iif):
        at["device"] = "-"
    return _hop(ts_us, "netfilter", at, f"{where}: {what} -> {v.verdict.upper()}",
                verdict=v.verdict, rule=rule)


def _chain_hook(places: Places, v: RuleVerdict) -> str | None:
    """The netfilter hook of the verdict's chain (None for a user chain or an unknown one)."""
    for table in places.graph.tables_in(ns_id(v.netns)):
        if table.name == v.table and table.family == v.family and \
                table.backend != "iptables-legacy":
            for chain in table.chains:
                if chain.name == v.chain:
                    return chain.hook
    return None


def add_rule_hops(hops: list[Hop], group: EventGroup, verdicts: list[RuleVerdict],
                  name: HopNamer) -> list[Hop]:
    """Insert the netfilter verdicts that judged this packet where they happened in each
    namespace: prerouting right after the packet came in, the others before it leaves,
    dies or is delivered there (for a bridged packet: after the bridge picked its port)."""
    keys = _packet_keys(group)
    placed: list[tuple[float, int, Hop]] = [(i, 0, h) for i, h in enumerate(hops)]
    last_hook: dict[int, str | None] = {}
    for n, v in enumerate(v for v in verdicts if v.packet_key() in keys):
        block = [i for i, h in enumerate(hops) if h.inode == v.netns]
        if not block:
            continue
        hook = _chain_hook(name.places, v) or last_hook.get(v.netns)
        last_hook[v.netns] = hook
        if hook == "prerouting":
            at = block[0] + 0.5
        else:
            at = next((i for i in block[1:] if hops[i].step in ("queue", "drop", "deliver",
                                                                 "consume")),
                      block[-1] + 1) - 0.5
        ts = hops[int(at)].ts_us if int(at) < len(hops) else hops[-1].ts_us
        placed.append((at, n + 1, rule_hop(v, name, ts)))
    return [h for _, _, h in sorted(placed, key=lambda x: (x[0], x[1]))]


def outcome_of(hops: list[Hop]) -> tuple[Verdict, str, str | None]:
    """(verdict, one-line summary, namespace id where it ended) of a journey's hops."""
    delivered = [h for h in hops if h.step == "deliver"]
    if delivered:
        h = delivered[0]
        rx = [x for x in hops if x.step == "receive" and x.netns == h.netns]
        via = f" via {rx[-1].device}" if rx else ""
        return Verdict.DELIVERED, f"delivered in {h.netns_name}{via}", h.netns
    # arrived where its destination lives, and sent on from nowhere after that (TCP frees
    # delivered packets where no tracepoint fires, so there may be no deliver hop)
    last_tx = max((i for i, h in enumerate(hops) if h.step in ("queue", "xmit")), default=-1)
    arrived = [i for i, h in enumerate(hops) if i > last_tx and h.verdict == "arrived"]
    if arrived:
        h = hops[arrived[-1]]
        # a copy dropped elsewhere (a purged queue) does not undo the arrival
        died_there = any(x.step == "drop" and x.netns == h.netns
                         for x in hops[arrived[-1]:])
        if not died_there:
            return (Verdict.DELIVERED, f"delivered in {h.netns_name} via {h.device}",
                    h.netns)
    drops = [h for h in hops if h.step == "drop"]
    if drops:
        h = drops[-1]  # the packet's end; earlier ones may be copies
        idx = hops.index(h)
        back = idx - 1
        while back >= 0 and hops[back].step == "netfilter":
            back -= 1
        bridge = hops[back] if back >= 0 and hops[back].step == "bridge" else None
        at = f"bridge {bridge.device} ({bridge.decision})" if bridge else h.device
        rules = [x for x in hops[:idx] if x.step == "netfilter" and x.verdict == "drop"
                 and x.netns == h.netns]
        by = f", by {rules[-1].rule}" if rules else ""
        return Verdict.DROPPED, (f"dropped in {h.netns_name} at {at}: {h.drop_reason} "
                                 f"({h.location}){by}"), h.netns
    unrouted = [h for h in hops if h.verdict == "no route"]
    if unrouted:
        h = unrouted[-1]
        return Verdict.NO_ROUTE, f"no route in {h.netns_name}: {h.decision}", h.netns
    if hops and hops[-1].step == "xmit":
        h = hops[-1]
        return (Verdict.LEFT_HOST, f"last seen leaving {h.netns_name} via {h.device}",
                h.netns)
    if hops:
        h = hops[-1]
        return (Verdict.UNKNOWN, f"last seen in {h.netns_name} at {h.device} ({h.step})",
                h.netns)
    return Verdict.UNKNOWN, "no events", None


def journey_of(group: EventGroup, name: HopNamer,
               verdicts: list[RuleVerdict] | None = None) -> Journey:
    """The observed journey of one packet's events, every hop explained from the graph."""
    hops = build_hops(group, name)
    if verdicts:
        hops = add_rule_hops(hops, group, verdicts, name)
    graph = name.places.graph
    hops = [replace(h, explain=explain_hop(graph, h)) for h in hops]
    verdict, summary, end_netns = outcome_of(hops)
    t = group.first_tuple
    packet = t.describe() if t else "?"
    if t and all(e.hook in ("fib", "connect") for e in group.events):
        src = t.src if t.src != "0.0.0.0" else "(no source yet)"
        packet = f"{t.proto_name} {src} -> {t.dst}: route lookup only, no packet left"
    flow = None
    if t is not None and t.family in (4, 6):
        flow = Packet("inet" if t.family == 4 else "inet6", t.src, t.dst,
                      PROTOCOLS.get(t.proto, str(t.proto)), t.sport, t.dport,
                      tcp_flags=t.tcp_flags)
    return Journey(packet, tuple(hops), verdict, summary, end_netns, flow=flow, observed=True,
                   id=group.id, is_reply=group.reply, reply_to=group.reply_to,
                   start_ns=group.events[0].ts_ns if group.events else 0)
