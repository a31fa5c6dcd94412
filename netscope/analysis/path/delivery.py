"""The last step of a walk: the socket a delivered packet reaches, or the kernel's refusal.

A packet for one of the namespace's own addresses goes up to the socket layer: a TCP SYN to
a listener, a UDP datagram to a bound socket. Where none takes it, the kernel answers: a TCP
RST ("connection refused"), for UDP an ICMP port unreachable. ICMP echo is answered by the
kernel itself, and a reply goes back to the socket that sent the request: neither is judged.
"""

from __future__ import annotations

from dataclasses import dataclass

from netscope.graph.host import HostGraph
from netscope.graph.sockets import SocketMatch, is_loopback
from netscope.model.journey import Packet
from netscope.model.journey import Verdict as End
from netscope.model.sockets import Socket


@dataclass(frozen=True)
class Delivery:
    """How a delivered packet ends: DELIVERED (to `sockets`) or REFUSED, in words.

    `decision` is the hop's short line, `reason` the walk's end, `explain` the sentence;
    `reply` the packet the kernel answers a refusal with (None when delivered)."""

    end: End
    decision: str
    reason: str
    explain: str
    sockets: tuple[Socket, ...] = ()
    reply: Packet | None = None


def _where(sock: Socket) -> str:
    host = f"[{sock.local}]" if ":" in sock.local else sock.local
    return f"{host}:{sock.local_port}"


def _delivered(g: HostGraph, pkt: Packet, match: SocketMatch, ns_name: str) -> Delivery:
    first = match.sockets[0]
    verb = "listening" if first.proto == "tcp" else "bound"
    if len(match.sockets) == 1:
        who = g.socket_owner(first)
        reason = f"delivered to {who} {verb} on {_where(first)} in {ns_name}"
        explain = (f"{pkt.dst}:{pkt.dport} is taken by {who}: its socket is {verb} on "
                   f"{_where(first)}" + (" (all addresses of the namespace)" if first.wildcard
                                        else "") + ".")
        decision = f"{verb} socket {_where(first)}: {who}"
    else:
        owners = "; ".join(f"{g.socket_owner(s)} on {_where(s)}" for s in match.sockets)
        reason = (f"delivered to one of {len(match.sockets)} sockets sharing "
                  f"{first.proto}/{first.local_port} in {ns_name} (SO_REUSEPORT): {owners}")
        explain = ("Several sockets listen on this port with SO_REUSEPORT: the kernel picks "
                   f"one per connection by a hash of the addresses and ports ({owners}).")
        decision = f"SO_REUSEPORT group of {len(match.sockets)} on {_where(first)}"
    return Delivery(End.DELIVERED, decision, reason, explain, match.sockets)


def _refused(g: HostGraph, pkt: Packet, match: SocketMatch, ns_name: str) -> Delivery:
    what = f"{pkt.proto}/{pkt.dport}"
    answer = ("the kernel answers with a RST" if pkt.proto == "tcp"
              else "the kernel answers with ICMP port unreachable")
    loopback = [s for s, _ in match.missed if is_loopback(s.local)]
    if loopback:
        bound = ", ".join(sorted({_where(s) for s in loopback}))
        reason = (f"listens on {bound} only: traffic to {pkt.dst} is refused "
                  f"({answer})")
        explain = (f"{g.socket_owner(loopback[0])} in {ns_name} listens on {bound}, the loopback "
                   f"address: only connections made inside {ns_name} to that address reach "
                   f"it. This packet is for {pkt.dst}, so no socket takes it and {answer}. "
                   "The service must listen on 0.0.0.0 (or on "
                   f"{pkt.dst}) to be reachable from outside.")
    elif match.missed:
        sock, why = match.missed[0]
        reason = (f"nothing takes {what} for {pkt.dst} in {ns_name}: {g.socket_owner(sock)} is on "
                  f"{_where(sock)} but {why}; {answer}")
        explain = (f"A socket is open on port {pkt.dport} in {ns_name}, but {why}, so this "
                   f"packet finds no socket and {answer}.")
    else:
        others = ""
        if match.other_ports:
            shown = ", ".join(str(p) for p in match.other_ports[:6])
            others = f" (it {('listens' if pkt.proto == 'tcp' else 'receives')} on " \
                     f"{pkt.proto}/{shown})"
        reason = f"nothing listens on {what} in {ns_name}{others}: {answer}"
        explain = (f"No socket in {ns_name} is bound to port {pkt.dport} ({pkt.proto}): the "
                   f"packet arrives, and {answer}; the client sees 'connection refused'"
                   + (" at once." if pkt.proto == "tcp" else "."))
    if pkt.proto == "tcp":
        reply = Packet(pkt.family, pkt.dst, pkt.src, "tcp", pkt.dport, pkt.sport, 0,
                       "established", pkt.ct_status)
    else:
        reply = Packet(pkt.family, pkt.dst, pkt.src, "icmp", None, None, 0, "related",
                       pkt.ct_status)
    decision = "refused: " + ("listens on loopback only" if loopback else
                              f"no socket for {what}")
    return Delivery(End.REFUSED, decision, reason, explain, (), reply)


def deliver(g: HostGraph, netns: str, pkt: Packet, iif: str | None) -> Delivery | None:
    """What the sockets of `netns` do with `pkt`, arrived on link id `iif`; None when the
    walk cannot or need not say (the sockets are unknown, an ICMP echo, a reply)."""
    if pkt.proto not in ("tcp", "udp") or pkt.dport is None or pkt.ct_state != "new":
        return None
    match = g.socket_lookup(netns, pkt.family, pkt.proto, pkt.dst, pkt.dport, pkt.src,
                            pkt.sport, iif)
    if match is None:
        return None
    if match.sockets:
        return _delivered(g, pkt, match, g.ns_name(netns))
    return _refused(g, pkt, match, g.ns_name(netns))
