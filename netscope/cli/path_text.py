"""Text rendering of a path walk: one line per hop, then the end and the reply."""

from __future__ import annotations

from collections.abc import Iterator

from netscope.analysis.path import PathResult

MARK = {"delivered": "OK", "left_host": "->", "dropped": "XX", "no_route": "XX",
        "uncertain": "??", "unknown": "??"}


def _hops(result: PathResult, indent: str) -> Iterator[str]:
    width = max((len(h.netns_name) for h in result.hops), default=4)
    last_packet = None
    for n, h in enumerate(result.hops, 1):
        yield (f"{indent}{n:>3}  {h.netns_name:<{width}}  {h.device or '-':<12} "
               f"{h.step:<12} {h.decision}")
        if h.packet != last_packet and last_packet is not None:
            yield f"{indent}{'':>3}  {'':<{width}}  {'':<12} {'':<12} packet now: {h.packet}"
        last_packet = h.packet
    yield f"{indent}=> [{MARK.get(result.end, '??')}] {result.end}: {result.reason}"


def render_path(result: PathResult, netfilter_known: bool = True) -> Iterator[str]:
    if not netfilter_known:
        yield ("note: this snapshot has no netfilter rules (taken without the netfilter "
               "collector): NAT and filtering are not evaluated")
    yield f"path: {result.packet.describe()}"
    yield from _hops(result, "")
    if result.reply is not None:
        yield ""
        yield f"reply: {result.reply.packet.describe()}"
        yield from _hops(result.reply, "")
