"""The HTML report: one self-contained page (inline CSS and SVG, no scripts, nothing fetched)
with the summary, doctor findings, the topology drawn, and per-namespace tables."""

from __future__ import annotations

from html import escape

from netscope.graph.host import HostGraph
from netscope.model import Snapshot
from netscope.report.sections import Report, Table, build_report
from netscope.report.svg import topology_svg

OPEN_SECTIONS_MAX = 12  # more namespaces than this: their tables start folded

CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#263238;background:#fff}
h1{font-size:22px;margin:0 0 8px} h2{font-size:18px;margin:28px 0 8px;
border-bottom:1px solid #cfd8dc} h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}
td,th{border:1px solid #cfd8dc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eceff1} td.mono,code{font-family:monospace;font-size:12px}
.facts td:first-child{font-weight:bold}
.finding{border-left:5px solid #9e9e9e;padding:6px 12px;margin:10px 0;background:#fafafa}
.error{border-color:#c62828} .warning{border-color:#ef6c00} .info{border-color:#1565c0}
.sev{font-weight:bold;text-transform:uppercase;font-size:12px}
.topology{overflow:auto;border:1px solid #cfd8dc;padding:6px;max-height:900px}
details>summary{cursor:pointer;font-weight:bold;font-size:15px;margin:10px 0}
.muted{color:#607d8b;font-size:12px}
"""


def _table(table: Table, cls: str = "", mono: frozenset[str] = frozenset()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in table.headers)
    rows = []
    for row in table.rows:
        cells = "".join(
            f'<td class="mono">{escape(c)}</td>' if table.headers[i] in mono
            else f"<td>{escape(c)}</td>" for i, c in enumerate(row))
        rows.append(f"<tr>{cells}</tr>")
    cls_attr = f' class="{cls}"' if cls else ""
    return f"<table{cls_attr}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


MONO = frozenset({"addresses", "mac", "route", "rule", "connection", "selector"})


def _findings(report: Report) -> list[str]:
    if not report.findings:
        return ["<p>No findings: the doctor's checks found nothing wrong.</p>"]
    out = []
    for f in report.findings:
        evidence = "".join(f"<li><code>{escape(e)}</code></li>" for e in f.evidence)
        out.append(
            f'<div class="finding {escape(f.severity)}"><span class="sev">'
            f"{escape(f.severity)}</span> {escape(f.title)}<br><code>{escape(f.id)}</code>"
            f"<p>{escape(f.summary)}</p><p class=\"muted\">Why: {escape(f.explain)}</p>"
            + (f"<ul>{evidence}</ul>" if evidence else "") + "</div>")
    return out


def to_html(snapshot: Snapshot, report: Report | None = None) -> str:
    """The whole page as one string; open it in any browser, offline."""
    report = report or build_report(snapshot)
    title = escape(report.title)
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{title}</title>", f"<style>{CSS}</style></head><body>",
           f"<h1>{title}</h1>",
           _table(Table("", ("", ""), report.facts), "facts"),
           "<h2>Summary</h2>",
           _table(Table("", ("what", "count"), tuple((k, str(v)) for k, v in report.counts)))]
    if report.errors:
        out.append("<p>Collector errors:</p><ul>"
                   + "".join(f"<li>{escape(e)}</li>" for e in report.errors) + "</ul>")
    out.append(f"<h2>Doctor findings ({len(report.findings)})</h2>")
    out += _findings(report)
    out += ["<h2>Topology</h2>",
            '<p class="muted">Boxes are namespaces, rows their interfaces (green up, red down, '
            "grey no carrier); blue curves join veth pairs, dashed purple brackets join bridge "
            "ports to their bridge.</p>",
            f'<div class="topology">{topology_svg(HostGraph.of(snapshot).topology)}</div>',
            f"<h2>Namespaces ({len(report.namespaces)})</h2>"]
    fold = len(report.namespaces) > OPEN_SECTIONS_MAX
    for ns in report.namespaces:
        label = escape(ns.name)
        if ns.containers and ns.containers != (ns.name,):
            label += " <span class=\"muted\">containers: " + escape(", ".join(ns.containers)) \
                + "</span>"
        out.append(f'<details{"" if fold else " open"} id="{escape(ns.id)}">'
                   f'<summary>{label} <span class="muted">{escape(ns.id)}</span></summary>')
        for table in ns.tables:
            out.append(f"<h3>{escape(table.title)}</h3>")
            out.append(_table(table, mono=MONO))
        out.append("</details>")
    out.append('<p class="muted">Written by netscope export; self-contained, '
               "no network access needed.</p></body></html>")
    return "\n".join(out) + "\n"
