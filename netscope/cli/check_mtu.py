"""`netscope check SRC DST --mtu`: the largest packet that gets there and back, where the next
size dies, and what the static walk predicts from the MTUs on the path.

Don't-fragment ICMP echoes of growing size find the limit (netscope.trace.mtu); one probe of
the first size that is lost is traced with eBPF to name the hop that drops it; the walk's path
MTU (netscope.analysis.path.mtu) is the prediction it is compared with.
"""

from __future__ import annotations

import json

from netscope.cli.errors import UserError
from netscope.cli.journey_text import check_document, render_journey

JSON_FORMAT = "netscope-check-mtu"
JSON_VERSION = 1


def _drop_hop(result) -> object | None:
    """The hop of the traced journey where the probe was dropped (None: not seen dropped)."""
    journey = result.request if result is not None else None
    if journey is None or journey.drop_index is None:
        return None
    return journey.hops[journey.drop_index]


def _same_place(graph, observed, expected) -> bool:
    """The traced drop and the walk's limit are at one device (or its bridge)."""
    if observed is None or expected is None or observed.inode != expected.inode:
        return False
    if observed.device == expected.device:
        return True
    link = graph.link_named(expected.netns, expected.device)
    master = graph.master(link) if link is not None else None
    return master is not None and master.name == observed.device


def run_mtu(args, graph, source_ns, dst_address: str, places, targets) -> int:
    """Probe, trace the first lost size, compare with the walk; print; exit status."""
    from netscope.analysis.path import EndpointError
    from netscope.analysis.path.mtu import path_mtu
    from netscope.trace.check import run_check
    from netscope.trace.errors import ProbeError
    from netscope.trace.mtu import probe_path_mtu
    from netscope.trace.probe_packet import NoRoute, source_address

    path = source_ns.origins[0].path
    try:
        src = source_address(path, dst_address)
        found = probe_path_mtu(path, src, dst_address)
        traced = None
        if found.first_lost is not None:
            traced = run_check(places, source_ns.inode, path, dst_address, "icmp", None,
                               targets, timeout=args.timeout, size=found.first_lost)
    except NoRoute as e:
        raise UserError(f"{source_ns.name} has no route to {dst_address} ({e})") from None
    except ProbeError as e:
        raise UserError(str(e)) from None
    except PermissionError as e:
        raise UserError(f"cannot send from {source_ns.name}: {e.strerror}; run as root") \
            from None
    try:
        expected = path_mtu(graph, args.src, dst_address)
    except (EndpointError, ValueError, KeyError):
        expected = None
    drop = _drop_hop(traced)
    agrees = (expected is not None and expected.mtu == found.largest
              and (found.first_lost is None or _same_place(graph, drop, expected.limit)))
    if args.json:
        print(json.dumps(_document(found, traced, drop, expected, agrees), indent=2))
    else:
        _print(found, traced, drop, expected, agrees, dst_address)
    return 0 if found.largest == found.route_mtu else 1


def _hop_words(hop) -> str:
    return f"{hop.netns_name} {hop.device or '-'} ({hop.decision})"


def _print(found, traced, drop, expected, agrees, dst: str) -> None:
    if found.largest is None:
        print(f"MTU: not even a {found.probes[-1][0]}-byte echo comes back from {dst}: the "
              "path fails for another reason (run check without --mtu)")
    elif found.first_lost is None:
        print(f"MTU: {found.largest}-byte packets (the source's route MTU) get to {dst} and "
              "back: no smaller limit on the path")
    else:
        where = f" at {_hop_words(drop)}" if drop is not None else (
            ": the trace did not see where" if traced is not None else "")
        print(f"MTU: {found.largest}-byte packets get to {dst} and back; "
              f"{found.first_lost}-byte ones are lost{where} (the source's route MTU is "
              f"{found.route_mtu})")
    print("probes (don't fragment): " + ", ".join(f"{size} {outcome}"
                                                   for size, outcome in found.probes))
    if found.frag_needed:
        print(f"a router said 'fragmentation needed': {found.frag_needed[0]} "
              f"(MTU {found.frag_needed[1]})")
    if traced is not None and traced.request is not None:
        print(f"the {found.first_lost}-byte probe, traced:")
        for line in render_journey(traced.request):
            print("  " + line)
    if expected is None:
        print("static path walk: cannot walk it")
        return
    limit = f", limited by {_hop_words(expected.limit)}" if expected.limit else ""
    verdict = "agrees" if agrees else "DISAGREES"
    print(f"static path walk predicts {expected.mtu}{limit}: {verdict}")


def _document(found, traced, drop, expected, agrees) -> dict:
    def hop(h) -> dict | None:
        return None if h is None else {"netns": h.netns, "netns_name": h.netns_name,
                                       "device": h.device, "decision": h.decision}

    return {
        "format": JSON_FORMAT, "version": JSON_VERSION, "route_mtu": found.route_mtu,
        "largest": found.largest, "first_lost": found.first_lost,
        "probes": [{"size": s, "outcome": o} for s, o in found.probes],
        "frag_needed": ({"router": found.frag_needed[0], "mtu": found.frag_needed[1]}
                        if found.frag_needed else None),
        "drop": hop(drop),
        "traced": check_document(traced, None) if traced is not None else None,
        "expected": None if expected is None else {
            "mtu": expected.mtu, "limit": hop(expected.limit), "agrees": agrees},
    }

