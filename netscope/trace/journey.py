"""Group probe events into journeys: one journey per packet, from where it was first seen to
where it ended (delivered, dropped, no route, or left the host).

Pure code over ProbeEvent values. A packet is recognised by its skb while the skb lives,
by its identity (addresses, ports, IP id, sequence) across clones and NAT, and routing
lookups (which have no skb) by their tuple and time. Replies are their own journeys, linked
to the request they answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netscope.trace.events import PacketTuple, ProbeEvent

_SAME_PACKET_NS = 1_000_000_000  # a clone or a rewritten copy shows up within this
_LOOKUP_AHEAD_NS = 20_000_000    # an output route lookup precedes its packet by less
_ENDING_HOOKS = ("drop", "consume")


def identity(t: PacketTuple) -> tuple:
    """What stays the same for one packet while it travels (NAT aside)."""
    return (t.proto, t.src, t.dst, t.sport, t.dport, t.ip_id, t.seq, t.icmp_type,
            t.tcp_flags)


@dataclass
class EventGroup:
    """The events of one packet, in time order."""

    id: int
    events: list[ProbeEvent] = field(default_factory=list)
    reply: bool = False
    reply_to: int | None = None
    flows: set[tuple] = field(default_factory=set)

    @property
    def first_tuple(self) -> PacketTuple | None:
        for e in self.events:
            if e.tuple and e.hook not in ("fib", "connect"):
                return e.tuple
        for e in self.events:
            if e.tuple:
                return e.tuple
        return None

    @property
    def last_ts(self) -> int:
        return self.events[-1].ts_ns if self.events else 0


def _lookup_matches(fib: ProbeEvent, t: PacketTuple, rewritten: bool = False) -> bool:
    """Does an output route lookup (or a connect) belong to the packet with tuple t?"""
    f = fib.tuple
    if fib.hook == "connect":
        if f is None or f.proto != t.proto or f.src not in ("0.0.0.0", t.src):
            return False
        # followed by its socket, nat OUTPUT changed the destination; or it did not
        return rewritten or (f.dst, f.dport) == (t.dst, t.dport)
    if f is None or f.proto != t.proto or f.dst != t.dst:
        return False
    if f.src not in ("0.0.0.0", t.src):
        return False
    # a connect() looks the route up before its source port is chosen
    return t.proto not in (6, 17) or (f.sport in (0, t.sport) and f.dport in (0, t.dport))


class JourneyBuilder:
    """Feed events in time order with add(); read groups with groups()."""

    def __init__(self) -> None:
        self._groups: list[EventGroup] = []
        self._by_skb: dict[int, EventGroup] = {}
        self._recent_skb: dict[int, EventGroup] = {}  # also skbs that ended
        self._skb_identity: dict[int, tuple] = {}  # the packet an skb address held last
        self._by_identity: dict[tuple, EventGroup] = {}
        self._pending_lookups: list[ProbeEvent] = []
        self._next_id = 1

    def _new_group(self, reply: bool) -> EventGroup:
        g = EventGroup(self._next_id, reply=reply)
        self._next_id += 1
        self._groups.append(g)
        return g

    def add(self, events: list[ProbeEvent]) -> None:
        for e in sorted(events, key=lambda e: e.ts_ns):
            if e.hook in ("fib", "connect"):
                self._add_lookup(e)
            else:
                self._add_skb_event(e)

    def _add_lookup(self, e: ProbeEvent) -> None:
        g = self._by_skb.get(e.skb) if e.skb and not e.in_rx else None
        if g is not None:  # the input route lookup of a packet just received
            g.events.append(e)
            return
        self._expire_lookups(e.ts_ns)
        self._pending_lookups.append(e)

    def _expire_lookups(self, now_ns: int) -> None:
        """Lookups no packet claimed in time become journeys of their own (no route ...)."""
        keep = []
        for fib in self._pending_lookups:
            if now_ns - fib.ts_ns <= _LOOKUP_AHEAD_NS:
                keep.append(fib)
                continue
            handled = self._recent_skb.get(fib.skb) if fib.in_rx else None
            if handled is not None:  # made while the stack handled that packet
                handled.events.append(fib)
                continue
            last = self._groups[-1] if self._groups else None
            if (last and last.events and all(x.hook == "fib" for x in last.events)
                    and last.events[-1].tuple == fib.tuple
                    and fib.ts_ns - last.last_ts <= _LOOKUP_AHEAD_NS):
                last.events.append(fib)
            else:
                self._new_group(fib.reply).events.append(fib)
        self._pending_lookups = keep

    def _add_skb_event(self, e: ProbeEvent) -> None:
        self._expire_lookups(e.ts_ns)
        g = self._by_skb.get(e.skb)
        key = identity(e.tuple) if e.tuple else None
        if g is not None and key is not None and not e.rewritten and \
                self._skb_identity.get(e.skb, key) != key:
            g = None  # the address was freed without a tracepoint and now holds another packet
        if g is None and key is not None:
            known = self._by_identity.get(key)
            if known is not None and e.ts_ns - known.last_ts <= _SAME_PACKET_NS:
                g = known
        if g is None:
            g = self._new_group(e.reply)
            if e.tuple:
                self._claim_lookups(g, e.tuple, e.rewritten)
        g.events.append(e)
        if e.tuple:
            g.flows.add(e.tuple.flow())
        if key is not None:
            self._by_identity[key] = g
            self._skb_identity[e.skb] = key
        self._recent_skb[e.skb] = g
        if e.hook in _ENDING_HOOKS:
            self._by_skb.pop(e.skb, None)
        else:
            self._by_skb[e.skb] = g

    def _claim_lookups(self, g: EventGroup, t: PacketTuple, rewritten: bool) -> None:
        claimed = [f for f in self._pending_lookups if _lookup_matches(f, t, rewritten)]
        if claimed:
            g.events.extend(claimed)
            self._pending_lookups = [f for f in self._pending_lookups if f not in claimed]

    def expire(self, now_ns: int) -> None:
        """Turn route lookups that no packet followed in time into groups of their own."""
        self._expire_lookups(now_ns)

    def finish(self) -> list[EventGroup]:
        """All groups, with pending lookups turned into groups and replies linked."""
        self._expire_lookups(1 << 62)
        link_replies(self._groups)
        return list(self._groups)

    def groups(self) -> list[EventGroup]:
        link_replies(self._groups)
        return list(self._groups)

    def forget(self, group_ids: set[int]) -> None:
        """Drop finished groups (already shown) so a long trace does not grow without end."""
        self._groups = [g for g in self._groups if g.id not in group_ids]
        self._by_skb = {k: g for k, g in self._by_skb.items() if g.id not in group_ids}
        self._recent_skb = {k: g for k, g in self._recent_skb.items()
                            if g.id not in group_ids}
        self._skb_identity = {k: v for k, v in self._skb_identity.items()
                              if k in self._recent_skb}
        self._by_identity = {k: g for k, g in self._by_identity.items()
                             if g.id not in group_ids}


def link_replies(groups: list[EventGroup]) -> None:
    """Set reply_to on each reply group: the latest earlier group it answers.

    ICMP echo replies answer the request with the same id and sequence; other replies the
    latest earlier group whose flow (any of its NAT forms) is this one reversed.
    """
    for i, g in enumerate(groups):
        t = g.first_tuple
        if not g.reply or g.reply_to is not None or t is None:
            continue
        for earlier in reversed(groups[:i]):
            if earlier.reply or earlier.first_tuple is None:
                continue
            if t.reversed_flow() not in earlier.flows:
                continue
            if t.proto in (1, 58) and earlier.first_tuple.seq != t.seq:
                continue
            g.reply_to = earlier.id
            break
