"""`netscope export FILE --format dot|mermaid|md|html [-o OUT]`: a snapshot as a picture or
a report to attach to a bug."""

from __future__ import annotations

import argparse
import os
import sys

from netscope.cli.errors import UserError

EPILOG = """\
formats:
  dot      Graphviz DOT topology (render with `dot -Tsvg`)
  mermaid  Mermaid flowchart of the topology, to paste into a GitHub/GitLab issue
  md       Markdown report: summary, doctor findings, topology (Mermaid), per-namespace tables
  html     one self-contained HTML page (no network access needed to view it)
Redact first for a public report: `netscope snapshot --redact -o host.json`.
"""


def add_parser(sub) -> None:
    from netscope.report.export import FORMATS

    p = sub.add_parser(
        "export", help="write a snapshot as DOT, Mermaid, Markdown or HTML",
        description="Render a saved snapshot as a topology picture (DOT, Mermaid) or a report "
                    "(Markdown, HTML) with the doctor's findings and per-namespace tables.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("snapshot", metavar="FILE", help="a snapshot written by `netscope snapshot`")
    p.add_argument("--format", "-f", choices=tuple(FORMATS),
                   help="output format (default: from the extension of -o)")
    p.add_argument("-o", "--output", metavar="OUT", action="append",
                   help="file to write (default: standard output); repeat it to write several "
                        "formats from one read of the snapshot (-o host.html -o host.md)")
    p.set_defaults(func=run)


def _formats(args) -> list[tuple[str | None, str]]:
    """(output path or None for stdout, format) pairs."""
    from netscope.report.export import format_for_path

    outputs = [o for o in (args.output or []) if o != "-"] or [None]
    if args.format and len(outputs) > 1:
        raise UserError("--format names one format but several -o files were given: drop "
                        "--format and let each file's extension (.dot .mmd .md .html) decide")
    pairs = []
    for out in outputs:
        fmt = args.format or (format_for_path(out) if out else None)
        if fmt is None:
            raise UserError("which format? add --format dot|mermaid|md|html "
                            "(or give -o a .dot, .mmd, .md or .html file name)")
        pairs.append((out, fmt))
    return pairs


def _write(path: str, text: str) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise UserError(f"cannot write {path}: {e.strerror}; choose a writable path "
                        "with -o") from None


def run(args) -> int:
    from netscope.report.export import export
    from netscope.snapshot import SnapshotError, load

    pairs = _formats(args)
    try:
        snapshot = load(args.snapshot)
    except SnapshotError as e:
        raise UserError(str(e)) from None
    for out, fmt in pairs:
        text = export(snapshot, fmt)
        if out is None:
            sys.stdout.write(text)
            continue
        _write(out, text)
        print(f"netscope: wrote {out} ({fmt}, {len(text):,} bytes)", file=sys.stderr)
    return 0
