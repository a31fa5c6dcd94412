"""Exports: DOT that Graphviz parses, Mermaid, Markdown and a self-contained HTML page."""

from __future__ import annotations

import dataclasses
import html
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from netscope.cli.main import main
from netscope.graph.host import HostGraph
from netscope.report.export import FORMATS, export
from netscope.report.redact import redact
from netscope.snapshot import load, save
from tests.support.leaks import holds

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
NAMES = ("docker-like-lab", "docker-engine", "bundle-before", "bundle-after")
WEIRD = 'we"ird\\ <ns> $(rm -rf) & |pipe|'


def _weird(snapshot):
    """The snapshot with a namespace and a device named with quotes, brackets and pipes."""
    target = next(ns for ns in snapshot.namespaces if not ns.is_self)
    links = tuple(dataclasses.replace(link, name=WEIRD[:15])
                  if link.netns == target.id and link.name == "eth0" else link
                  for link in snapshot.links)
    namespaces = tuple(dataclasses.replace(ns, name=WEIRD) if ns is target else ns
                       for ns in snapshot.namespaces)
    return dataclasses.replace(snapshot, namespaces=namespaces, links=links)


@pytest.fixture(scope="module", params=[*NAMES, "weird", "redacted"])
def snapshot(request):
    if request.param == "weird":
        return _weird(load(str(FIXTURES / "bundle-after.json")))
    if request.param == "redacted":
        return redact(load(str(FIXTURES / "docker-engine.json")), names=True).snapshot
    return load(str(FIXTURES / f"{request.param}.json"))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
def test_dot_parses_with_graphviz(snapshot):
    p = subprocess.run(["dot", "-Tsvg"], input=export(snapshot, "dot"), capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "syntax error" not in p.stderr
    topo = HostGraph.of(snapshot).topology
    # graphviz drew one cluster per namespace and one edge per veth/port/lower link
    assert p.stdout.count('class="cluster"') == len(topo.groups)
    assert p.stdout.count('class="edge"') == len(topo.edges)
    drawn = html.unescape(p.stdout)
    for ns in snapshot.namespaces:
        assert ns.name in drawn, ns.name


def test_mermaid_structure(snapshot):
    text = export(snapshot, "mermaid")
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    topo = HostGraph.of(snapshot).topology
    assert sum(line.strip().startswith("subgraph ") for line in lines) == len(topo.groups)
    assert sum(line.strip() == "end" for line in lines) == len(topo.groups)
    edges = [line for line in lines if re.fullmatch(r"\s*n\d+ (---|-\.-|-\.->) n\d+", line)]
    assert len(edges) == len(topo.edges)
    for line in lines:  # a label never holds a raw quote or bracket that ends it early
        for label in re.findall(r'\["(.*)"\]', line):
            assert '"' not in label and "<" not in label.replace("<br/>", "")


def test_markdown_report(snapshot):
    text = export(snapshot, "md")
    assert text.startswith("# netscope report: ")
    for heading in ("## Summary", "## Doctor findings", "## Topology", "## Namespaces"):
        assert heading in text
    for line in text.splitlines():  # every table row has as many cells as its header
        if line.startswith("|"):
            cells = re.split(r"(?<!\\)\|", line)
            assert len(cells) >= 3
    tables = re.findall(r"((?:^\|.*\|\n)+)", text, flags=re.M)
    for table in tables:
        widths = {len(re.split(r"(?<!\\)\|", row)) for row in table.splitlines()}
        assert len(widths) == 1, table[:200]


class _Tags(HTMLParser):
    VOID = {"meta", "br", "rect", "path", "img", "hr", "link", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.text: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith("#"):
                self.external.append(value)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained_and_balanced(snapshot):
    page = export(snapshot, "html")
    parser = _Tags()
    parser.feed(page)
    parser.close()
    assert parser.stack == []
    assert parser.external == []
    assert not re.search(r"<script|@import|url\(", page)
    text = "".join(parser.text)
    for ns in snapshot.namespaces:
        assert ns.name[:31] in text  # in the SVG box title (clipped) and the tables
    assert page.count('class="ns"') == len(snapshot.namespaces)


def test_report_shows_doctor_findings():
    snap = load(str(FIXTURES / "bundle-after.json"))
    for fmt in ("md", "html"):
        assert "missing_masquerade@" in export(snap, fmt)


def test_cli_export(tmp_path, capsys):
    src = FIXTURES / "bundle-after.json"
    out = tmp_path / "report.html"
    assert main(["export", str(src), "-o", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert main(["export", str(src), "--format", "dot"]) == 0
    assert capsys.readouterr().out.startswith("digraph netscope {")
    assert main(["export", str(src)]) == 2
    assert "--format" in capsys.readouterr().err
    md, dot = tmp_path / "r.md", tmp_path / "r.gv"
    assert main(["export", str(src), "-o", str(md), "-o", str(dot)]) == 0
    assert md.read_text().startswith("# netscope report")
    assert dot.read_text().startswith("digraph")
    assert main(["export", str(src), "-f", "md", "-o", str(md), "-o", str(dot)]) == 2
    capsys.readouterr()
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main(["export", str(bad), "--format", "md"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not valid JSON" in err
    assert set(FORMATS) == {"dot", "mermaid", "md", "html", "graphml", "graph-json", "json"}
    assert main(["export", "--format", "md"]) == 2
    assert "give a snapshot FILE, or --live" in capsys.readouterr().err


def test_cli_export_redacts_a_file_into_a_bundle(tmp_path):
    src = FIXTURES / "bundle-after.json"
    outs = [tmp_path / f"public.{ext}" for ext in ("json", "html", "md")]
    assert main(["export", str(src), "--redact", *(x for o in outs for x in ("-o", str(o)))]) == 0
    red = load(str(outs[0]))
    assert red.header.redacted and red.header.hostname == "redacted-host"
    for out in outs:
        text = out.read_text()
        for original in ("10.217.0.2", "198.18.17.1", "2001:db8:17::2", "ACME", "ticket 4711"):
            assert not holds(text, original), (out.name, original)
    assert "missing_masquerade@" in outs[1].read_text()


def test_export_of_redacted_snapshot_leaks_nothing(tmp_path):
    snap = load(str(FIXTURES / "bundle-after.json"))
    red = redact(snap, names=True).snapshot
    path = tmp_path / "red.json"
    save(red, str(path))
    for fmt in FORMATS:
        text = export(load(str(path)), fmt)
        for original in ("10.217.0.2", "198.18.17.1", "2001:db8:17::2", "nsl-nsr76a10", "ACME"):
            assert not holds(text, original), (fmt, original)
