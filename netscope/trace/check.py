"""The active check: send one test packet from a namespace, trace it and its reply, and say
in one line whether it was delivered, or where and why it died."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from netscope.analysis.path.delivery import deliver
from netscope.graph.host import HostGraph
from netscope.model.journey import Journey, Packet, Verdict
from netscope.trace.places import Places
from netscope.trace.probe_packet import NoRoute, Sender, plan_packet, source_address
from netscope.trace.session import run_trace
from netscope.trace.tracer import TraceFilter

CHECK_TIMEOUT_S = 4.0
TCP_SYN, TCP_RST, TCP_ACK = 0x02, 0x04, 0x10


@dataclass(frozen=True)
class CheckResult:
    """verdict: delivered, refused, dropped, no route, no reply, left, not seen."""

    verdict: str
    answer: str
    packet: str
    source_netns: int
    request: Journey | None
    reply: Journey | None
    journeys: tuple[Journey, ...]
    attach_s: float = 0.0
    lost_events: int = 0
    rule_tracing: tuple[int, ...] = ()


def run_check(places: Places, src_inode: int, src_path: str, dst: str, proto: str = "icmp",
              port: int | None = None, rule_targets: dict[int, str] | None = None,
              timeout: float = CHECK_TIMEOUT_S, size: int = 0) -> CheckResult:
    """Send the test packet from the namespace at src_path to dst and trace both ways
    (`size`: an ICMP echo of that many bytes, don't-fragment)."""
    src_name = places.namespace(src_inode)
    try:
        src = source_address(src_path, dst)
    except NoRoute as e:
        return CheckResult("no route", f"no route: {src_name} has no route to {dst} ({e}); "
                           "no packet can leave", f"{proto} -> {dst}", src_inode, None, None,
                           ())
    packet = plan_packet(proto, src, dst, port, size)
    flt = TraceFilter(src=src, dst=dst, proto=proto, port=port if proto != "icmp" else None)
    with Sender(src_path, packet) as sender:
        def fire(_attach_s: float) -> None:
            threading.Thread(target=_send_and_listen, args=(sender,), daemon=True).start()

        result = run_trace(flt, places, count=1, timeout=timeout, on_attached=fire,
                           rules=rule_targets is not None and bool(rule_targets),
                           rule_targets=rule_targets)
    request = next((j for j in result.journeys if not j.is_reply and j.flow is not None
                    and j.flow.sport == packet.sport and j.flow.proto == proto), None)
    reply = next((j for j in result.journeys if request and j.reply_to == request.id), None)
    verdict, answer = judge(request, reply, proto, port, src_inode, places)
    return CheckResult(verdict, answer, packet.describe(), src_inode, request, reply,
                       result.journeys, result.attach_s, result.lost_events,
                       result.rule_tracing)


def _send_and_listen(sender: Sender) -> None:
    sender.send()
    sender.read_replies()


def _reached(j: Journey, inode: int) -> bool:
    return any(h.inode == inode and h.step in ("receive", "deliver") for h in j.hops)


# check's verdict words for how the request ended (documented in docs/trace.md)
_ANSWER = {Verdict.DELIVERED: "delivered", Verdict.DROPPED: "dropped",
           Verdict.NO_ROUTE: "no route", Verdict.LEFT_HOST: "left"}


def rst_origin_state(graph: HostGraph, rst: Journey) -> str | None:
    """What the sockets of the namespace a RST came from say about the connection it
    refused (as read in the snapshot taken just before the test); None when unknown."""
    first = rst.hops[0] if rst.hops else None
    flow = rst.flow
    if first is None or flow is None or flow.sport is None or not first.netns:
        return None
    # the SYN as it arrived there: the RST's addresses and ports reversed
    syn = Packet(flow.family, flow.dst, flow.src, "tcp", flow.dport, flow.sport)
    got = deliver(graph, first.netns, syn, first.link)
    if got is None:
        return None
    if got.end == Verdict.REFUSED:
        return got.reason
    return (f"yet {got.reason.removeprefix('delivered to ')} (sockets read just before the "
            "test): the RST came from a reject rule, a full accept queue, or a socket that "
            "closed since")


def judge(request: Journey | None, reply: Journey | None, proto: str, port: int | None,
          src_inode: int, places: Places) -> tuple[str, str]:
    """(verdict, one-line answer) from the traced request and reply."""
    if request is None:
        return "not seen", ("not seen: the test packet never showed up at any probe "
                            "(were events lost? see `netscope probes`)")
    flags = reply.flow.tcp_flags if reply is not None and reply.flow is not None else 0
    if proto == "tcp" and reply is not None and flags & TCP_RST:
        origin = reply.hops[0] if reply.hops else None
        where = f"{origin.netns_name} ({origin.device})" if origin else "?"
        why = rst_origin_state(places.graph, reply)
        if why is None:
            why = ("no socket listens there" if "NO_SOCKET" in request.summary
                   else "a reject rule or the peer's stack sent it")
        return "refused", f"refused: tcp port {port}: the RST came from {where}: {why}"
    if request.verdict in (Verdict.DROPPED, Verdict.NO_ROUTE):
        hint = ""
        if "NO_SOCKET" in request.summary and port:
            hint = f": nothing listens on {proto}/{port} there"
        return _ANSWER[request.verdict], request.summary + hint
    if request.verdict == Verdict.LEFT_HOST:
        return "left", f"left the host: {request.summary}; netscope cannot see further"
    if proto == "tcp" and reply is not None:
        origin = reply.hops[0] if reply.hops else None
        where = f"{origin.netns_name} ({origin.device})" if origin else "?"
        if flags & TCP_SYN and flags & TCP_ACK:
            back = "and the SYN-ACK came back" if _reached(reply, src_inode) else (
                f"but the SYN-ACK did not get back: {reply.summary}")
            return ("delivered" if _reached(reply, src_inode) else "no reply",
                    f"delivered: tcp port {port} is open in {where} {back}")
    if request.verdict == Verdict.DELIVERED:
        if proto == "udp":
            return "delivered", f"{request.summary} (udp: no reply expected)"
        if reply is None:
            return "no reply", f"no reply: {request.summary}, but no reply was seen"
        if _reached(reply, src_inode):
            return "delivered", (f"{request.summary}; the reply came back to "
                                 f"{places.namespace(src_inode)}")
        return "no reply", f"no reply: {request.summary}, but the reply {reply.summary}"
    return _ANSWER.get(request.verdict, "unknown"), request.summary
