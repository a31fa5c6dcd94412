"""`netscope export FILE|--live [--redact] --format FORMAT [-o OUT]`: a snapshot as a picture,
a report to attach to a bug, or the host graph for graph tools; a trace recording as pcapng.

`sudo netscope export --live --redact -o host.json -o host.html -o host.md` is the whole
bug-report bundle in one process: collect, redact, then every format from that one snapshot.
"""

from __future__ import annotations

import argparse
import sys

from netscope.cli.convention import add_command, completes
from netscope.cli.errors import UserError

EPILOG = """\
formats:
  dot      Graphviz DOT topology (render with `dot -Tsvg`)
  mermaid  Mermaid flowchart of the topology, to paste into a GitHub/GitLab issue
  md       Markdown report: summary, doctor findings, topology (Mermaid), per-namespace tables
  html     one self-contained HTML page (no network access needed to view it)
  graphml  the host graph (namespaces, interfaces, veth pairs, bridge ports, containers,
           netfilter chains and rules, typed) for networkx, Gephi, yEd, Cytoscape (docs/graph.md)
  graph-json  the same graph as networkx node-link JSON (-o host.graph.json)
  json     the snapshot itself (with --redact: redacted; `netscope show --snapshot` opens it)
  pcapng   from a trace recording (`netscope trace --record FILE`): every hop of every traced
           packet, its namespace/device/hook/verdict as the packet comment (tshark, Wireshark)
A bug-report bundle in one command (about 1 s at 200 namespaces; needs root):
  netscope export --live --redact -o host.json -o host.html -o host.md
"""


def add_parser(sub) -> None:
    from netscope.report.export import FORMATS

    p = add_command(
        sub, "export", help="write a snapshot as DOT, Mermaid, Markdown, HTML (a bug-report "
                            "bundle)",
        description="Render a saved snapshot (or the live host) as a topology picture (DOT, "
                    "Mermaid) or a report (Markdown, HTML) with the doctor's findings and "
                    "per-namespace tables, redacted on request; a trace recording as pcapng.",
        epilog=EPILOG, run=run, snapshot=True, exits=((0, "written"),))
    # FILE and --snapshot FILE are one argument: a global --snapshot names what to export
    completes(p.add_argument("snapshot", metavar="FILE", nargs="?", default=argparse.SUPPRESS,
                             help="a snapshot written by `netscope snapshot` (or a trace "
                                  "recording, for pcapng)"), "file")
    p.add_argument("--live", action="store_true",
                   help="read the live host instead of FILE (needs root)")
    p.add_argument("--redact", action="store_true",
                   help="redact first, as `netscope snapshot --redact` does (addresses, MACs, "
                        "hostname, note, comments, aliases, DNS names)")
    p.add_argument("--redact-names", action="store_true",
                   help="with --redact: also container names, ids, images and namespace names")
    p.add_argument("--format", "-f", choices=(*FORMATS, "pcapng"),
                   help="output format (default: from the extension of -o)")
    completes(p.add_argument(
        "-o", "--output", metavar="OUT", action="append",
        help="file to write (default: standard output); repeat it to write several formats "
             "from one read of the snapshot (-o host.html -o host.md)"), "file")


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
            raise UserError("which format? add --format dot|mermaid|md|html|graphml|graph-json|"
                            "json|pcapng (or give -o a .dot, .mmd, .md, .html, .graphml, "
                            ".graph.json, .json or .pcapng file name)")
        pairs.append((out, fmt))
    return pairs


def _write(path: str, content: str | bytes, private: bool = True) -> None:
    """Write one output file: 0600 when it holds host data, as the umask says when redacted
    (an existing file keeps its mode)."""
    from netscope.snapshot.files import write_file

    try:
        write_file(path, content, private=private)
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror}; choose a writable path "
                        "with -o") from None


def _pcapng(args, out: str | None) -> int:
    import datetime

    from netscope.report.pcapng import journeys_pcapng, recording_journeys
    from netscope.trace.recording import load_recording

    try:
        recording = load_recording(args.snapshot)
        captured = recording.captured_at
    except FileNotFoundError:
        raise UserError(f"{args.snapshot}: no such file; record one with "
                        "`netscope trace ... --record FILE`") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise UserError(f"{args.snapshot} is not a trace recording ({e}); record one with "
                        "`netscope trace ... --record FILE`") from None
    journeys = recording_journeys(recording)
    offset = 0
    if captured and recording.events:  # the recording ends about when it was saved
        wall = datetime.datetime.fromisoformat(captured).timestamp()
        offset = int(wall * 1e9) - max(e.ts_ns for e in recording.events)
    data = journeys_pcapng(journeys, offset)
    if out is None:
        sys.stdout.buffer.write(data)
        return 0
    _write(out, data)
    print(f"netscope: wrote {out} (pcapng, {len(journeys)} journeys, "
          f"{sum(len(j.hops) for j in journeys)} hops)", file=sys.stderr)
    return 0


def _source(args):
    """The snapshot to export, and the redacted file text when redacting."""
    from netscope.cli.source import collect_live
    from netscope.snapshot import SnapshotError, load

    if args.live:
        snapshot = collect_live(quiet=True)
    else:
        try:
            snapshot = load(args.snapshot)
        except SnapshotError as e:
            raise UserError(str(e)) from None
    if not (args.redact or args.redact_names):
        return snapshot, None
    from netscope.report.redact import redact

    redaction = redact(snapshot, names=args.redact_names)
    return redaction.snapshot, redaction.text


def run(args) -> int:
    from netscope.report.export import export

    args.snapshot = getattr(args, "snapshot", None)
    if args.live == bool(args.snapshot):
        raise UserError("export what? give a snapshot FILE, or --live for the live host")
    pairs = _formats(args)
    if any(fmt == "pcapng" for _out, fmt in pairs):
        if len(pairs) > 1 or args.live or args.redact or args.redact_names:
            raise UserError("pcapng comes from a trace recording FILE (no --live, no "
                            "--redact), the other formats from a snapshot: export them in "
                            "separate commands")
        return _pcapng(args, pairs[0][0])
    snapshot, redacted_text = _source(args)
    for out, fmt in pairs:
        text = redacted_text if fmt == "json" and redacted_text else export(snapshot, fmt)
        if out is None:
            sys.stdout.write(text)
            continue
        _write(out, text, private=not snapshot.header.redacted)
        print(f"netscope: wrote {out} ({fmt}, {len(text):,} bytes)", file=sys.stderr)
    return 0
