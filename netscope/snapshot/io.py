"""Write and read snapshot files. Reading is strict: bad input is one clear error."""

from __future__ import annotations

import json
import os
import tempfile

from netscope.model.snapshot import (
    CLUSTER_FORMAT_NAME,
    CLUSTER_FORMAT_VERSION,
    FORMAT_NAME,
    FORMAT_VERSION,
    Snapshot,
)
from netscope.snapshot.codec import DecodeError, decode, encode

# what each document format is, and the newest version of it this netscope reads
FORMATS = {FORMAT_NAME: FORMAT_VERSION, CLUSTER_FORMAT_NAME: CLUSTER_FORMAT_VERSION}


class SnapshotError(Exception):
    """A snapshot file cannot be used; the message says why and what to do."""


def document_format(snapshot: Snapshot) -> tuple[str, int]:
    """The file format name and version `snapshot` is written as: a host snapshot, or a
    cluster document when its header lists nodes."""
    name = CLUSTER_FORMAT_NAME if snapshot.header.nodes else FORMAT_NAME
    return name, FORMATS[name]


def dumps(snapshot: Snapshot, pretty: bool = False) -> str:
    """The snapshot as JSON text. Compact by default: json's C encoder does not indent, and
    at 200 namespaces indenting costs ~100 ms against ~20 ms."""
    name, version = document_format(snapshot)
    body = {"format": name, "version": version, **encode(snapshot)}
    if pretty:
        return json.dumps(body, indent=1) + "\n"
    return json.dumps(body, separators=(",", ":")) + "\n"


def save(snapshot: Snapshot, path: str, pretty: bool = False) -> None:
    """Write atomically: a crash never leaves a half-written snapshot under `path`.

    Anything that is not a regular file (/dev/null, a pipe, /dev/stdout) is written to
    directly: renaming over it would replace the device with a file.
    """
    if os.path.exists(path) and not os.path.isfile(path):
        with open(path, "w") as f:
            f.write(dumps(snapshot, pretty))
        return
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".netscope-", suffix=".json", dir=directory)
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; a snapshot is meant to be shared
    try:
        with os.fdopen(fd, "w") as f:
            f.write(dumps(snapshot, pretty))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def loads(text: str, source: str = "snapshot") -> Snapshot:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        stripped = text.rstrip()
        truncated = stripped.startswith("{") and not stripped.endswith("}")
        hint = "the file is truncated" if truncated else "the file is corrupt"
        raise SnapshotError(
            f"{source} is not valid JSON ({hint}: {e.msg} at line {e.lineno}); "
            "take a new one with `netscope snapshot -o FILE`") from None
    if not isinstance(data, dict) or data.get("format") not in FORMATS:
        raise SnapshotError(f"{source} is not a netscope snapshot (no \"format\": "
                            f"\"{FORMAT_NAME}\" field); pass a file written by `netscope snapshot`"
                            " or `netscope merge`")
    newest = FORMATS[data["format"]]
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SnapshotError(f"{source} has no valid format version; the file is corrupt")
    if version > newest:
        raise SnapshotError(f"{source} was written by a newer netscope (format {version}); this "
                            f"one reads up to format {newest}: upgrade netscope")
    if version < 1:
        raise SnapshotError(f"{source} has an unknown format version {version}")
    body = {k: v for k, v in data.items() if k not in ("format", "version")}
    try:
        snapshot = decode(Snapshot, body)
    except DecodeError as e:
        raise SnapshotError(f"{source} is not a valid snapshot: {e}") from None
    if (data["format"] == CLUSTER_FORMAT_NAME) != bool(snapshot.header.nodes):
        raise SnapshotError(f"{source} is not a valid snapshot: a {data['format']} document "
                            + ("without" if snapshot.header.nodes == () else "with")
                            + " header.nodes")
    return snapshot


def load(path: str) -> Snapshot:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise SnapshotError(f"{path}: no such file; take one with `netscope snapshot -o {path}`"
                            ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise SnapshotError(f"{path}: cannot read it ({e})") from None
    return loads(text, path)
