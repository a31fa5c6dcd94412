"""Journeys rebuilt from recorded real traces (fixtures/trace/*.json, see their header notes):
hop order and names, bridge hops, NAT rewrites, drops with reasons and rules, reply links."""

from __future__ import annotations

from pathlib import Path

import pytest

from netscope.trace.events import PacketTuple, ProbeEvent
from netscope.trace.hops import HopNamer, journey_of
from netscope.trace.journey import JourneyBuilder
from netscope.trace.places import Places
from netscope.trace.recording import load_recording

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "trace"


def journeys(name: str, with_rules: bool = True):
    rec = load_recording(str(FIXTURES / f"{name}.json"))
    builder = JourneyBuilder()
    builder.add(list(rec.events))
    namer = HopNamer(Places(rec.snapshot), rec.drop_reasons, rec.symbols)
    return [journey_of(g, namer, list(rec.verdicts) if with_rules else None)
            for g in builder.finish()]


def steps(journey) -> list[tuple[str, str, str]]:
    return [(h.step, h.netns_name, h.device) for h in journey.hops]


def test_ping_through_the_bridge_has_every_hop_in_order():
    request, reply = journeys("ping-bridge")
    assert request.verdict == "delivered" and not request.is_reply
    assert [s for s in steps(request) if s[0] != "route"] == [
        ("consume", "nstrxA", "eth0"),  # the first ping waits for ARP: a copy goes on
        ("queue", "nstrxA", "eth0"), ("xmit", "nstrxA", "eth0"),
        ("receive", "nstrxBr", "vA"), ("bridge", "nstrxBr", "br0"),
        ("queue", "nstrxBr", "vB"), ("xmit", "nstrxBr", "vB"),
        ("receive", "nstrxB", "eth0"), ("deliver", "nstrxB", "eth0")]
    assert request.hops[1].decision == "__neigh_event_send: freed, a copy goes on"
    bridge = next(h for h in request.hops if h.step == "bridge")
    assert bridge.decision == "forward vA -> vB" and bridge.inferred
    assert request.summary == "delivered in nstrxB via eth0"
    assert reply.is_reply and reply.reply_to == request.id
    assert reply.verdict == "delivered" and "nstrxA" in reply.summary
    assert reply.hops[0].step == "route" and reply.hops[0].netns_name == "nstrxB"


def test_forward_drop_is_at_the_bridge_with_the_rule_that_dropped_it():
    (request,) = journeys("forward-drop")
    assert request.verdict == "dropped"
    drop = request.hops[-1]
    assert (drop.step, drop.netns_name, drop.drop_reason) == ("drop", "nstrxBr",
                                                             "NETFILTER_DROP")
    assert drop.location.startswith("nft_do_chain")
    hooks = [h.step for h in request.hops]
    assert hooks[-3:] == ["bridge", "netfilter", "drop"]
    rule = request.hops[-2]
    assert rule.verdict == "drop"
    assert rule.rule == ("ip filter FORWARD: meta l4proto icmp ip saddr 10.231.0.1 "
                         "ip daddr 10.231.0.2 counter drop")
    assert request.summary.startswith("dropped in nstrxBr at bridge br0 (forward vA -> vB): "
                                      "NETFILTER_DROP")


def test_forward_drop_without_rule_tracing_still_names_the_place_and_reason():
    (request,) = journeys("forward-drop", with_rules=False)
    assert not any(h.step == "netfilter" for h in request.hops)
    assert "at bridge br0" in request.summary and "by " not in request.summary


def test_unrouted_destination_dies_in_the_router_with_the_routing_reason():
    (request,) = journeys("unrouted")
    assert request.verdict == "dropped"
    route = [h for h in request.hops if h.step == "route" and h.netns_name == "nstrxBr"]
    assert route and route[0].verdict == "no route"
    assert "no route to 10.232.9.9" in route[0].decision
    drop = request.hops[-1]
    assert (drop.netns_name, drop.device, drop.drop_reason) == ("nstrxBr", "br0",
                                                               "IP_INNOROUTES")


def test_dnat_rewrite_is_shown_and_the_reply_is_followed_back_through_the_reverse_nat():
    found = journeys("dnat-tcp")
    syn = found[0]
    assert syn.packet.startswith("tcp 198.18.99.1:") and syn.packet.endswith("[SYN]")
    nat = next(h for h in syn.hops if h.step == "nat")
    assert nat.netns_name == "nstrxBr" and nat.nat == "dst 198.18.99.2:8080 -> 10.231.0.2:80"
    assert syn.verdict == "delivered" and "nstrxB" in syn.summary
    synack = next(j for j in found if j.reply_to == syn.id)
    assert synack.packet.endswith("[SYN,ACK]")
    back = next(h for h in synack.hops if h.step == "nat")
    assert back.nat == "src 10.231.0.2:80 -> 198.18.99.2:8080"
    assert synack.verdict == "delivered" and "nstrxI" in synack.summary


def _event(ts, hook, skb, tup, netns=1, ifindex=2, **kw):
    return ProbeEvent(ts, hook, netns, ifindex, skb, tup, **kw)


def test_an_skb_address_reused_by_another_packet_starts_a_new_journey():
    a = PacketTuple(4, 6, "10.0.0.1", "10.0.0.2", 1000, 80, tcp_flags=0x10, ip_id=1)
    b = PacketTuple(4, 6, "10.0.0.3", "10.0.0.4", 2000, 80, tcp_flags=0x10, ip_id=7)
    builder = JourneyBuilder()
    # TCP frees the first packet where no tracepoint fires; its address then holds another
    builder.add([_event(1, "queue", 0xA, a), _event(2, "xmit", 0xA, a),
                 _event(3, "queue", 0xA, b), _event(4, "xmit", 0xA, b)])
    groups = builder.finish()
    assert [len(g.events) for g in groups] == [2, 2]


def test_a_nat_rewritten_packet_stays_one_journey():
    a = PacketTuple(4, 6, "10.0.0.1", "10.0.0.2", 1000, 8080, tcp_flags=0x02, ip_id=1)
    n = a._replace(dst="10.9.9.9", dport=80)
    builder = JourneyBuilder()
    builder.add([_event(1, "receive", 0xB, a), _event(2, "queue", 0xB, n, rewritten=True),
                 _event(3, "xmit", 0xB, n)])
    (group,) = builder.finish()
    assert len(group.events) == 3


@pytest.mark.parametrize("order", [[0, 1, 2], [2, 0, 1], [1, 2, 0]])
def test_events_are_put_in_time_order_whatever_order_they_arrive_in(order):
    t = PacketTuple(4, 1, "10.0.0.1", "10.0.0.2", 5, 5, icmp_type=8, ip_id=3, seq=1)
    events = [_event(10, "queue", 0xC, t), _event(20, "xmit", 0xC, t),
              _event(30, "receive", 0xC, t, netns=2)]
    builder = JourneyBuilder()
    builder.add([events[i] for i in order])
    (group,) = builder.finish()
    assert [e.hook for e in group.events] == ["queue", "xmit", "receive"]
