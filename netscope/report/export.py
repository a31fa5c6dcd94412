"""Exports by format name: what `netscope export` and the TUI's save action call."""

from __future__ import annotations

from collections.abc import Callable

from netscope.model import Snapshot
from netscope.model.safe_text import safe_lines


def _dot(snapshot: Snapshot) -> str:
    from netscope.report.export_graph import to_dot

    return to_dot(snapshot)


def _mermaid(snapshot: Snapshot) -> str:
    from netscope.report.export_graph import to_mermaid

    return to_mermaid(snapshot)


_last_report: list = []  # [(snapshot, report)]: md and html of one snapshot run the doctor once


def _report(snapshot: Snapshot):
    from netscope.report.sections import build_report

    if not _last_report or _last_report[0][0] is not snapshot:
        _last_report[:] = [(snapshot, build_report(snapshot))]
    return _last_report[0][1]


def _markdown(snapshot: Snapshot) -> str:
    from netscope.report.export_md import to_markdown

    return to_markdown(snapshot, _report(snapshot))


def _html(snapshot: Snapshot) -> str:
    from netscope.report.export_html import to_html

    return to_html(snapshot, _report(snapshot))


def _graphml(snapshot: Snapshot) -> str:
    from netscope.graph.host import HostGraph
    from netscope.graph.io import to_graphml

    return to_graphml(HostGraph.of(snapshot))


def _node_link(snapshot: Snapshot) -> str:
    from netscope.graph.host import HostGraph
    from netscope.graph.io import to_node_link

    return to_node_link(HostGraph.of(snapshot))


def _json(snapshot: Snapshot) -> str:
    from netscope.snapshot import dumps

    return dumps(snapshot)


# format name -> (writer, usual file extension, what it is)
FORMATS: dict[str, tuple[Callable[[Snapshot], str], str, str]] = {
    "dot": (_dot, ".dot", "Graphviz DOT topology (render with `dot -Tsvg`)"),
    "mermaid": (_mermaid, ".mmd", "Mermaid flowchart of the topology, to paste into an issue"),
    "md": (_markdown, ".md", "Markdown report: summary, doctor findings, topology, tables"),
    "html": (_html, ".html", "one self-contained HTML page: findings, topology drawn, tables"),
    "graphml": (_graphml, ".graphml", "the host graph as GraphML: networkx, Gephi, yEd, "
                                      "Cytoscape (docs/graph.md)"),
    # before "json": a .graph.json file is the graph, not the snapshot
    "graph-json": (_node_link, ".graph.json", "the host graph as networkx node-link JSON "
                                              "(docs/graph.md)"),
    "json": (_json, ".json", "the snapshot itself (docs/snapshot.md)"),
}


def export(snapshot: Snapshot, fmt: str) -> str:
    """The snapshot rendered in `fmt` (a key of FORMATS), with the control characters of
    names, comments and DNS files escaped: a report is read in a terminal too (`cat`), and
    bidi overrides in an issue reorder what reviewers see. JSON keeps its exact value."""
    return safe_lines(FORMATS[fmt][0](snapshot))


def format_for_path(path: str) -> str | None:
    """The format a file name's extension implies, if any (".html" -> "html")."""
    if path.endswith((".pcapng", ".pcap")):
        return "pcapng"  # from a trace recording, not a snapshot: see netscope.report.pcapng
    for name, (_fn, ext, _what) in FORMATS.items():
        if path.endswith(ext) or (name == "md" and path.endswith(".markdown")) or (
                name == "html" and path.endswith(".htm")) or (
                name == "dot" and path.endswith(".gv")):
            return name
    return None
