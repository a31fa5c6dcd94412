"""Write and read snapshot files. Reading is strict: bad input is one clear error."""

from __future__ import annotations

import json

from netscope.model.snapshot import (
    CLUSTER_FORMAT_NAME,
    CLUSTER_FORMAT_VERSION,
    FORMAT_NAME,
    FORMAT_VERSION,
    Snapshot,
)
from netscope.snapshot.codec import DecodeError, decode, encode
from netscope.snapshot.files import (
    SNAPSHOT_LIMIT,
    FileRefused,
    parse_json,
    read_regular,
    write_file,
)

# what each document format is, and the newest version of it this netscope reads
FORMATS = {FORMAT_NAME: FORMAT_VERSION, CLUSTER_FORMAT_NAME: CLUSTER_FORMAT_VERSION}


class SnapshotError(Exception):
    """A snapshot file cannot be used; the message says why and what to do."""


def document_format(snapshot: Snapshot) -> tuple[str, int]:
    """The file format name and version `snapshot` is written as: a host snapshot, or a
    cluster document when its header lists nodes."""
    name = CLUSTER_FORMAT_NAME if snapshot.header.nodes else FORMAT_NAME
    return name, FORMATS[name]


def _fields(obj):
    """json's `default` hook: a model object's fields, in declaration order (its __dict__:
    model objects are plain frozen dataclasses whose __dict__ holds exactly their fields,
    in that order, however they were made; tests compare with encode())."""
    try:
        return obj.__dict__
    except AttributeError:
        raise TypeError(f"{type(obj).__name__} is not JSON serializable") from None


def dumps(snapshot: Snapshot, pretty: bool = False) -> str:
    """The snapshot as JSON text. Compact by default: json's C encoder does not indent, and
    at 200 namespaces indenting costs ~100 ms against ~20 ms. The C encoder walks the model
    objects itself (asking _fields for each): at 1,000 namespaces building encode()'s dicts
    first cost 285 ms of a 445 ms write."""
    name, version = document_format(snapshot)
    if pretty:
        body = {"format": name, "version": version, **encode(snapshot)}
        return json.dumps(body, indent=1) + "\n"
    body = {"format": name, "version": version, **snapshot.__dict__}
    return json.dumps(body, separators=(",", ":"), default=_fields) + "\n"


def save(snapshot: Snapshot, path: str, pretty: bool = False) -> None:
    """Write atomically: a crash never leaves a half-written snapshot under `path`.

    A new file is readable by its owner only (0600) unless the snapshot is redacted: it holds
    the host's addresses and names. An existing file keeps its mode; a device or a pipe
    (/dev/null, /dev/stdout) is written to directly. Raises OSError.
    """
    write_file(path, dumps(snapshot, pretty), private=not snapshot.header.redacted)


def loads(text: str | bytes, source: str = "snapshot") -> Snapshot:
    """The snapshot (or cluster document) in `text`. Raises SnapshotError."""
    return parse(text, source)[1]


def parse(text: str | bytes, source: str = "snapshot") -> tuple[dict, Snapshot]:
    """The document as JSON data (format and version included) and as a Snapshot, checked
    as `loads` checks it. Raises SnapshotError."""
    try:
        data = parse_json(text, source, max_depth=None)
    except FileRefused as e:
        raise SnapshotError(f"{e}; take a new one with `netscope snapshot -o FILE`") from None
    except UnicodeDecodeError as e:
        raise SnapshotError(f"{source} is not UTF-8 text ({e.reason} at byte {e.start}); "
                            "take a new one with `netscope snapshot -o FILE`") from None
    except json.JSONDecodeError as e:
        stripped = (text.decode(errors="replace") if isinstance(text, bytes) else text).rstrip()
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
    except RecursionError:
        raise SnapshotError(f"{source} is not a valid snapshot: nested too deeply") from None
    if (data["format"] == CLUSTER_FORMAT_NAME) != bool(snapshot.header.nodes):
        raise SnapshotError(f"{source} is not a valid snapshot: a {data['format']} document "
                            + ("without" if snapshot.header.nodes == () else "with")
                            + " header.nodes")
    return data, snapshot


def load(path: str) -> Snapshot:
    """The snapshot in `path`: a regular file of at most SNAPSHOT_LIMIT bytes (a device, a
    FIFO or a bigger file is refused in one line, never read). Raises SnapshotError."""
    return read_document(path)[1]


def read_document(path: str) -> tuple[dict, Snapshot]:
    """The document in `path` as JSON data and as a Snapshot (see `parse`), read as `load`
    reads it. Raises SnapshotError."""
    try:
        data = read_regular(path, SNAPSHOT_LIMIT, "snapshot")
    except FileNotFoundError:
        raise SnapshotError(f"{path}: no such file; take one with `netscope snapshot -o {path}`"
                            ) from None
    except FileRefused as e:
        raise SnapshotError(str(e)) from None
    except OSError as e:
        raise SnapshotError(f"{path}: cannot read it ({e.strerror or e})") from None
    return parse(data, path)
