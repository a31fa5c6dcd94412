"""Journeys for people and programs: the text `path`, `trace` and `check` print, and their
documented JSON (`path --json`: `netscope path --help`; `trace`/`check --json`: docs/trace.md).

One model (netscope.model.journey) underneath; the JSON keeps each command's documented keys
(expected hops: netns, netns_name, device, step, decision, explain, evidence, packet; observed
hops: ts_us, hook, namespace, device, detail, verdict, ... with netns as an inode).
"""

from __future__ import annotations

from collections.abc import Iterator

from netscope.model.journey import Hop, Journey, Verdict
from netscope.snapshot.codec import encode

MARK = {"delivered": "OK", "left_host": "->", "dropped": "XX", "no_route": "XX", "refused": "XX",
        "uncertain": "??", "unknown": "??"}
# the words `trace --json` has always used for how a journey ended
TRACE_OUTCOME = {Verdict.NO_ROUTE: "no route", Verdict.LEFT_HOST: "left",
                 Verdict.UNCERTAIN: "unknown"}


# ---------------------------------------------------------------------- expected (path)

def _walk_lines(journey: Journey, indent: str, first: int = 1) -> Iterator[str]:
    width = max((len(h.netns_name) for h in journey.hops), default=4)
    last_packet = None
    for n, h in enumerate(journey.hops, first):
        yield (f"{indent}{n:>3}  {h.netns_name:<{width}}  {h.device or '-':<12} "
               f"{h.step:<12} {h.decision}")
        if h.packet != last_packet and last_packet is not None:
            yield f"{indent}{'':>3}  {'':<{width}}  {'':<12} {'':<12} packet now: {h.packet}"
        last_packet = h.packet
    for i, branch in enumerate(journey.branches, 1):
        yield (f"{indent}  branch {i} of {len(journey.branches)} "
               f"({branch.probability:.0%}): {branch.choice}")
        yield from _walk_and_reply(branch.journey, indent + "    ", first + len(journey.hops))
    yield f"{indent}=> [{MARK.get(journey.verdict, '??')}] {journey.verdict}: {journey.summary}"


def _walk_and_reply(journey: Journey, indent: str, first: int = 1) -> Iterator[str]:
    yield from _walk_lines(journey, indent, first)
    if journey.reply is not None:
        yield ""
        yield f"{indent}reply: {journey.reply.packet}"
        yield from _walk_lines(journey.reply, indent)


def render_path(journey: Journey, netfilter_known: bool = True) -> Iterator[str]:
    """`netscope path`: one line per hop, then how it ended, then the reply the same way.

    A random choice (a service's endpoints) is followed by one indented branch per outcome,
    with its probability, hops numbered on from the choice, its end and its own reply."""
    if not netfilter_known:
        yield ("note: this snapshot has no netfilter rules (taken without the netfilter "
               "collector): NAT and filtering are not evaluated")
    yield f"path: {journey.packet}"
    yield from _walk_and_reply(journey, "")


def path_document(journey: Journey) -> dict:
    """`path --json`: {"packet", "hops", "end", "reason", "end_netns", "reply", "branches"}.

    `branches` (empty unless the walk met a random choice): [{"probability", "choice",
    "path"}], `path` being this same document for the rest of that outcome's walk."""
    flow = journey.flow
    packet = encode(flow) if flow is not None else None
    if packet is not None:
        packet.pop("tcp_flags", None)
    return {"packet": packet,
            "hops": [{"netns": h.netns, "netns_name": h.netns_name, "device": h.device,
                      "step": h.step, "decision": h.decision, "explain": h.explain,
                      "evidence": list(h.evidence), "packet": h.packet, "link": h.link}
                     for h in journey.hops],
            "end": str(journey.verdict), "reason": journey.summary,
            "end_netns": journey.end_netns,
            "reply": path_document(journey.reply) if journey.reply is not None else None,
            "branches": [{"probability": b.probability, "choice": b.choice,
                          "path": path_document(b.journey)} for b in journey.branches]}


# ---------------------------------------------------------------------- observed (trace)

def render_journey(j: Journey) -> list[str]:
    """`netscope trace`/`check`: the journey's title, how it ended, one row per hop."""
    title = f"journey {j.id}" + (f" (reply to {j.reply_to})" if j.reply_to else "")
    outcome = TRACE_OUTCOME.get(j.verdict, str(j.verdict))
    lines = [f"{title}: {j.packet}", f"  {outcome.upper()}: {j.summary}"]
    rows = []
    for h in j.hops:
        text = h.decision
        if h.verdict and h.step == "xmit":
            text = h.verdict
        if h.inferred:
            text += " (inferred from bridge ports)"
        rows.append((f"+{h.ts_us or 0:.1f}us", h.step, h.netns_name, h.device or "-", text))
    if rows:
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            cells = [r[0].rjust(widths[0]), *(c.ljust(w) for c, w in zip(r[1:4], widths[1:],
                                                                        strict=True))]
            lines.append("    " + "  ".join([*cells, r[4]]).rstrip())
    return lines


def trace_hop_document(h: Hop) -> dict:
    return {"ts_us": h.ts_us, "hook": h.step, "namespace": h.netns_name, "device": h.device,
            "detail": h.decision, "verdict": h.verdict, "drop_reason": h.drop_reason,
            "location": h.location, "nat": h.nat, "inferred": h.inferred, "netns": h.inode,
            "ifindex": h.ifindex, "rule": h.rule, "explain": h.explain}


def trace_journey_document(j: Journey) -> dict:
    """One journey of `trace --json` (docs/trace.md)."""
    f = j.flow
    return {"id": j.id, "packet": j.packet, "reply": j.is_reply, "reply_to": j.reply_to,
            "outcome": TRACE_OUTCOME.get(j.verdict, str(j.verdict)), "summary": j.summary,
            "hops": [trace_hop_document(h) for h in j.hops], "start_ns": j.start_ns,
            "src": f.src if f else None, "dst": f.dst if f else None,
            "proto": f.proto_number if f else 0, "sport": (f.sport or 0) if f else 0,
            "dport": (f.dport or 0) if f else 0, "tcp_flags": f.tcp_flags if f else 0}


def trace_document(result) -> dict:
    """`trace --json`: a netscope.trace.session.TraceResult."""
    return {"filter": result.filter, "attach_s": result.attach_s,
            "duration_s": result.duration_s, "events": result.events,
            "lost_events": result.lost_events,
            "journeys": [trace_journey_document(j) for j in result.journeys],
            "rule_tracing": list(result.rule_tracing)}


def check_document(result, comparison) -> dict:
    """`check --json`: a netscope.trace.check.CheckResult and the walk's Comparison."""
    def one(j: Journey | None) -> dict | None:
        return trace_journey_document(j) if j is not None else None

    return {"verdict": result.verdict, "answer": result.answer, "packet": result.packet,
            "source_netns": result.source_netns, "request": one(result.request),
            "reply": one(result.reply), "journeys": [one(j) for j in result.journeys],
            "attach_s": result.attach_s, "lost_events": result.lost_events,
            "rule_tracing": list(result.rule_tracing),
            "expected": comparison.document() if comparison is not None else None}
