"""The Markdown report: summary, doctor findings, topology (Mermaid), per-namespace tables."""

from __future__ import annotations

from netscope.model import Snapshot
from netscope.report.export_graph import to_mermaid
from netscope.report.sections import Report, Table, build_report

MERMAID_MAX_NAMESPACES = 40


def _cell(text: str) -> str:
    """Text safe in a Markdown table cell (pipes escaped, no line breaks)."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ") or " "


def _table(table: Table) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in table.headers) + " |",
             "|" + "|".join("---" for _ in table.headers) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    return lines


def to_markdown(snapshot: Snapshot, report: Report | None = None) -> str:
    """A report to paste into an issue; GitHub renders the Mermaid block as a picture."""
    report = report or build_report(snapshot)
    out = [f"# {report.title}", ""]
    out += [*_table(Table("", ("", ""), report.facts)), ""]
    out += ["## Summary", ""]
    out += _table(Table("", ("what", "count"), tuple((k, str(v)) for k, v in report.counts)))
    if report.errors:
        out += ["", "Collector errors:", ""] + [f"- {_cell(e)}" for e in report.errors]
    out += ["", "## Doctor findings", ""]
    if not report.findings:
        out.append("No findings: the doctor's checks found nothing wrong.")
    for f in report.findings:
        out += [f"### {f.severity.upper()}: {f.title}", "", f"`{f.id}`", "", f.summary, "",
                f"*Why:* {f.explain}", ""]
        out += [f"- `{e}`" for e in f.evidence]
        if f.evidence:
            out.append("")
    out += ["", "## Topology", ""]
    if len(snapshot.namespaces) <= MERMAID_MAX_NAMESPACES:
        out += ["```mermaid", to_mermaid(snapshot).rstrip("\n"), "```"]
    else:
        out.append(f"{len(snapshot.namespaces)} namespaces are too many for a Mermaid picture: "
                   "`netscope export FILE --format html` (or `dot`) draws them.")
    out += ["", "## Namespaces"]
    for ns in report.namespaces:
        title = ns.name + (f" (containers: {', '.join(ns.containers)})"
                           if ns.containers and ns.containers != (ns.name,) else "")
        out += ["", f"### {_cell(title)}", "", f"`{ns.id}`"]
        for table in ns.tables:
            out += ["", f"**{table.title}**", "", *_table(table)]
    return "\n".join(out) + "\n"
