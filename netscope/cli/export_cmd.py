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
    p.add_argument("-o", "--output", metavar="OUT",
                   help="file to write (default: standard output)")
    p.set_defaults(func=run)


def run(args) -> int:
    from netscope.report.export import export, format_for_path
    from netscope.snapshot import SnapshotError, load

    fmt = args.format or (format_for_path(args.output) if args.output else None)
    if fmt is None:
        raise UserError("which format? add --format dot|mermaid|md|html "
                        "(or give -o a .dot, .mmd, .md or .html file name)")
    try:
        snapshot = load(args.snapshot)
    except SnapshotError as e:
        raise UserError(str(e)) from None
    text = export(snapshot, fmt)
    if not args.output or args.output == "-":
        sys.stdout.write(text)
        return 0
    tmp = f"{args.output}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, args.output)
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise UserError(f"cannot write {args.output}: {e.strerror}; choose a writable path "
                        "with -o") from None
    print(f"netscope: wrote {args.output} ({fmt}, {len(text):,} bytes)", file=sys.stderr)
    return 0
