"""Do `path`, `trace` and the doctor agree on sources, routes and peers?

For a snapshot file and a pair of namespaces, as a user runs them:
- `netscope path --snapshot FILE SRC DST --json` (its packet's source and first route);
- `netscope trace SRC DST`'s filter (cli.trace_cmd.trace_filter over the same snapshot);
- the hop explainer the trace and the TUI use, on the route hop the tracer would report;
- every veth crossing of the walk against the peer the doctor's segments join;
- the doctor's representative flows (container -> upstream) against the graph's source.
`problems()` returns what disagrees, in words; empty when everything agrees.
"""

from __future__ import annotations

import contextlib
import io
import json
from types import SimpleNamespace

from netscope.analysis.doctor.checks.flows import bridge_networks
from netscope.analysis.hop_explain import explain_hop
from netscope.cli.errors import UserError
from netscope.cli.main import main
from netscope.cli.trace_cmd import trace_filter
from netscope.graph.host import HostGraph
from netscope.model.journey import Hop
from netscope.model.labels import route_text


def path_json(snapshot_file: str, src: str, dst: str) -> dict | None:
    """`netscope path --json` as a user runs it; None when it refuses SRC/DST (exit 2)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["path", "--snapshot", snapshot_file, src, dst, "--json"])
    if code == 2:
        return None
    return json.loads(out.getvalue())


def endpoint_pairs(graph: HostGraph, names: list[str] | None = None) -> list[tuple[str, str]]:
    """Ordered pairs of namespace names that have an IPv4 address (both unique names)."""
    named = [graph.ns_name(n) for n in graph.ns_order() if graph.primary_address(n)]
    unique = [n for n in named if named.count(n) == 1 and (names is None or n in names)]
    return [(a, b) for a in unique for b in unique if a != b]


def problems(snapshot_file: str, graph: HostGraph, src: str, dst: str) -> list[str]:
    doc = path_json(snapshot_file, src, dst)
    args = SimpleNamespace(src=src, dst=dst, proto=None, port=None)
    try:
        flt = trace_filter(args, graph)
    except UserError as e:
        return [] if doc is None else [f"{src} -> {dst}: path walks, trace refuses: {e}"]
    if doc is None:
        return [f"{src} -> {dst}: trace resolves, path refuses"]
    out = []
    where = f"{src} -> {dst}"
    if (doc["packet"]["src"], doc["packet"]["dst"]) != (flt.src, flt.dst):
        out.append(f"{where}: path sends {doc['packet']['src']} -> {doc['packet']['dst']}, "
                   f"trace filters {flt.src} -> {flt.dst}")
    first = doc["hops"][0]
    src_ns = first["netns"]
    lk = graph.route_lookup(src_ns, doc["packet"]["family"], doc["packet"]["src"],
                            doc["packet"]["dst"], iif="lo")
    if first["step"] == "output-route":
        if lk.route is None or lk.route.id not in first["evidence"]:
            out.append(f"{where}: path's route {first['evidence']} is not the graph's "
                       f"{lk.route.id if lk.route else None}")
        # what `trace` and the TUI say for the route hop the tracer reports there
        table = {254: "main", 255: "local"}.get(lk.route.table, str(lk.route.table))
        observed = Hop(src_ns, first["netns_name"], first["device"], "route",
                       f"table {table}: out via {first['device']}", src=flt.src, dst=flt.dst)
        said = explain_hop(graph, observed)
        if route_text(lk.route, graph) not in said:
            out.append(f"{where}: the trace's explanation {said!r} does not name the route "
                       f"path took ({route_text(lk.route, graph)})")
    hops = doc["hops"]
    for i, hop in enumerate(hops):
        if hop["step"] != "veth":
            continue
        # the walk sent it out of a veth (an xmit hop) or a bridge port (a bridge hop, then
        # br_netfilter's hooks)
        sender = next(h for h in reversed(hops[:i]) if h["step"] in ("xmit", "bridge"))
        sent_by = [sender["link"], *sender["evidence"]]
        peer = graph.veth_peer(hop["link"])
        if peer is None or peer.id not in sent_by:
            out.append(f"{where}: path arrives on {hop['link']} from {sent_by}, the graph's "
                       f"peer is {peer.id if peer else None}")
        elif hop["link"] not in graph.segment(peer.id):
            out.append(f"{where}: {hop['link']} and its peer are on two segments")
    return out


def doctor_problems(graph: HostGraph) -> list[str]:
    """The doctor's representative flows start from the address the kernel would use."""
    out = []
    for net in bridge_networks(graph):
        if net.upstream is None:
            continue
        chosen = graph.source_for(net.container_ns, net.upstream)
        if chosen != net.container_ip:
            out.append(f"doctor walks {graph.ns_name(net.container_ns)} -> {net.upstream} "
                       f"from {net.container_ip}, the kernel would send from {chosen}")
    return out
