"""Writing a redacted snapshot for `netscope snapshot --redact`: the redaction's own text,
written atomically, without decoding and re-encoding it (seconds at hundreds of namespaces)."""

from __future__ import annotations

import sys

from netscope.cli.errors import UserError
from netscope.model import Snapshot


def write_redacted(snapshot: Snapshot, output: str | None, names: bool) -> int:
    """Redact `snapshot` and write it to `output` (a path, or None/"-" for stdout)."""
    from netscope.report.redact import redact

    text = redact(snapshot, names=names).text
    if not output or output == "-":
        sys.stdout.write(text)
        return 0
    from netscope.snapshot.files import write_file

    try:
        write_file(output, text, private=False)  # redacted: meant to be shared
    except OSError as e:
        raise UserError(f"cannot write {output}: {e.strerror}; choose a writable path with -o"
                        ) from None
    print(f"netscope: wrote {output} (redacted{', names too' if names else ''}): "
          f"{len(snapshot.namespaces)} namespaces, {len(snapshot.links)} links, "
          f"{len(snapshot.containers)} containers, {len(snapshot.errors)} collector errors, "
          f"collected in {snapshot.header.duration_ms:.0f} ms", file=sys.stderr)
    return 0
