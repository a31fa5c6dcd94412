"""Cluster documents: node snapshots merged into one, each node keeping its own namespaces.

A cluster document is a Snapshot whose header lists its nodes (`Header.nodes`) and whose
objects are node-qualified: every id and every reference to an id gains the node's name
(`ns:4026531833` on node `a` becomes `ns:a@4026531833`, `link:a@4026531833/5` ...), every
namespace names its node (`Namespace.node`) and is called `<node>:<name>`. Ids therefore stay
unique however many nodes share inode numbers, and everything that reads a host snapshot
(the host graph, the doctor, the path walk, redaction, diff, exports) reads a cluster
document the same way. The file says `"format": "netscope-cluster"`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import multiprocessing
import os
import re
import typing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from netscope import __version__
from netscope.model import Snapshot
from netscope.model.snapshot import (
    CLUSTER_FORMAT_NAME,
    CLUSTER_FORMAT_VERSION,
    Header,
    NodeInfo,
)
from netscope.snapshot.codec import encode

# model fields that hold an id (the object's own, or a reference to another object's):
# a new model field that refers to another object must use one of these names
REFERENCE_FIELDS = frozenset({"id", "netns", "link", "master", "parent", "shares_netns_with"})
NODE_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?")


class MergeError(ValueError):
    """The node snapshots cannot be merged; the message says why and what to do."""


def qualify_id(value: str, node: str) -> str:
    """`kind:rest` -> `kind:node@rest`: the id of the same object in a cluster document."""
    return value.replace(":", f":{node}@", 1)


def node_of_id(value: str) -> str | None:
    """The node a node-qualified id belongs to, None for a host snapshot's id."""
    _kind, sep, rest = value.partition(":")
    node, at, _ = rest.partition("@")
    return node if sep and at else None


_PLANS: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {}


def _plan(cls: type) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(reference fields, other fields) of a model class, made once per class."""
    plan = _PLANS.get(cls)
    if plan is None:
        names = [f.name for f in dataclasses.fields(cls)]
        plan = (tuple(n for n in names if n in REFERENCE_FIELDS),
                tuple(n for n in names if n not in REFERENCE_FIELDS))
        _PLANS[cls] = plan
    return plan


def _qualify(obj: Any, node: str) -> Any:
    """A copy of a model object (dataclass tree) with every reference field node-qualified.

    Frozen dataclasses are copied field by field without re-running their __init__ (a
    cluster of 5,000 namespaces has hundreds of thousands of objects)."""
    cls = type(obj)
    if cls is tuple:
        return tuple(_qualify(v, node) for v in obj)
    if not dataclasses.is_dataclass(obj) or not hasattr(obj, "__dict__"):
        return obj
    refs, others = _plan(cls)
    values = dict(obj.__dict__)
    for name in refs:
        value = values[name]
        if isinstance(value, str):
            values[name] = qualify_id(value, node)
    for name in others:
        value = values[name]
        nested = type(value) is tuple and value and not isinstance(value[0], str | int | float)
        if nested or dataclasses.is_dataclass(value):
            values[name] = _qualify(value, node)
    new = object.__new__(cls)
    new.__dict__.update(values)
    return new


def qualify(snapshot: Snapshot, node: str) -> Snapshot:
    """One node's snapshot with node-qualified ids and namespaces named `<node>:<name>`."""
    out = _qualify(snapshot, node)
    namespaces = tuple(dataclasses.replace(ns, node=node, name=f"{node}:{ns.name}")
                       for ns in out.namespaces)
    return dataclasses.replace(out, namespaces=namespaces)


def node_info(name: str, snapshot: Snapshot) -> NodeInfo:
    h = snapshot.header
    return NodeInfo(name=name, hostname=h.hostname, kernel=h.kernel,
                    captured_at=h.captured_at, netscope_version=h.netscope_version,
                    collectors=h.collectors, redacted=h.redacted, note=h.note)


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def capture_skew_s(nodes: tuple[NodeInfo, ...]) -> float | None:
    """Seconds between the first and the last node capture (None if a time is unreadable)."""
    times = [_parse_time(n.captured_at) for n in nodes]
    if not times or any(t is None for t in times):
        return None
    try:
        return (max(times) - min(times)).total_seconds()
    except TypeError:  # naive and aware times mixed
        return None


def check_node_name(name: str) -> str:
    if not NODE_NAME.fullmatch(name):
        raise MergeError(f"node name {name!r} is not usable: use letters, digits, '.', '-' or "
                         "'_' (a Kubernetes node name), e.g. NAME=FILE")
    return name


def _named_parts(parts: list[tuple[str | None, Snapshot]]) -> list[tuple[str | None, NodeInfo]]:
    """(node name to qualify with, or None for a cluster document; its nodes) per part, the
    names checked: usable, and no node twice."""
    out = []
    for name, snap in parts:
        if snap.header.nodes:
            if name is not None:
                raise MergeError(f"{name}=: a cluster document keeps its own node names; "
                                 "give it without a name")
            out.extend((None, n) for n in snap.header.nodes)
            continue
        node = check_node_name(name if name is not None else snap.header.hostname)
        out.append((node, node_info(node, snap)))
    _check_unique([n for _, n in out])
    return out


def _check_unique(nodes: list[NodeInfo]) -> None:
    """No node twice, and at least one. Raises MergeError."""
    seen: set[str] = set()
    for n in nodes:
        if n.name in seen:
            raise MergeError(f"two snapshots are node {n.name!r}: name them apart with "
                             "NAME=FILE (e.g. node-a=a.json)")
        seen.add(n.name)
    if not nodes:
        raise MergeError("no snapshot to merge: give at least one NODE.json")


def _cluster_header(nodes: list[NodeInfo], pieces: list[Snapshot], cluster: str,
                    note: str | None) -> Header:
    collectors = [c for c in nodes[0].collectors if all(c in n.collectors for n in nodes)]
    kernels = sorted({n.kernel for n in nodes})
    return Header(netscope_version=__version__, kernel=", ".join(kernels), hostname=cluster,
                  captured_at=min(n.captured_at for n in nodes),
                  duration_ms=sum(p.header.duration_ms for p in pieces),
                  redacted=all(n.redacted for n in nodes), collectors=tuple(collectors),
                  note=note, nodes=tuple(nodes))


# ---------------------------------------------------------------------- JSON data

_DATA_PLANS: dict[type, tuple] = {}


def _data_plan(cls: type) -> tuple:
    """Per field of a model class: (name, "ref" | "one" | "many" | None, nested class)."""
    plan = _DATA_PLANS.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        rows = []
        for f in dataclasses.fields(cls):
            if f.name in REFERENCE_FIELDS:
                rows.append((f.name, "ref", None))
                continue
            inner = [t for t in typing.get_args(hints[f.name]) if t is not type(None)]
            origin = typing.get_origin(hints[f.name])
            if dataclasses.is_dataclass(hints[f.name]):
                rows.append((f.name, "one", hints[f.name]))
            elif origin is tuple and inner and dataclasses.is_dataclass(inner[0]):
                rows.append((f.name, "many", inner[0]))
            elif inner and dataclasses.is_dataclass(inner[0]):
                rows.append((f.name, "one", inner[0]))
        plan = _DATA_PLANS[cls] = tuple(rows)
    return plan


def _qualify_data(cls: type, data: dict, node: str) -> None:
    """Node-qualify every reference field of `data` (a model object as JSON data), in place."""
    at = f":{node}@"
    for name, kind, nested in _data_plan(cls):
        value = data.get(name)
        if value is None:
            continue
        if kind == "ref":
            if type(value) is str:
                data[name] = value.replace(":", at, 1)
        elif kind == "one":
            _qualify_data(nested, value, node)
        else:
            for v in value:
                _qualify_data(nested, v, node)


@dataclass(frozen=True)
class _Part:
    """One input, ready to join: its nodes, collection time, namespace count, and each list
    of the document as JSON text (the items, comma-separated, qualified)."""

    nodes: tuple[NodeInfo, ...]
    duration_ms: float
    namespaces: int
    fragments: dict[str, str]


def _fields() -> list[str]:
    return [f.name for f in dataclasses.fields(Snapshot) if f.name != "header"]


def _part(name: str | None, data: dict, snap: Snapshot) -> _Part:
    """An input document as a _Part: a host snapshot qualified with its node's name (`name`,
    else its hostname), a cluster document as it is. Consumes `data`."""
    if snap.header.nodes:
        if name is not None:
            raise MergeError(f"{name}=: a cluster document keeps its own node names; "
                             "give it without a name")
        nodes, node = snap.header.nodes, None
    else:
        node = check_node_name(name if name is not None else snap.header.hostname)
        nodes = (node_info(node, snap),)
    fragments = {}
    for f in _fields():
        items = data.get(f, [])
        if node is not None:
            cls = _item_class(f)
            for item in items:
                _qualify_data(cls, item, node)
            if f == "namespaces":
                for ns in items:
                    ns["node"], ns["name"] = node, f"{node}:{ns['name']}"
        fragments[f] = json.dumps(items, separators=(",", ":"))[1:-1]
    return _Part(tuple(nodes), snap.header.duration_ms, len(data.get("namespaces", [])),
                 fragments)


def _file_part(name: str | None, path: str) -> _Part:
    """The _Part of a file (a worker's job: read, check, qualify, write as text)."""
    from netscope.snapshot.io import read_document

    return _part(name, *read_document(path))


def _assemble(parts: list[_Part], cluster: str, note: str | None) -> tuple[str, Header, int]:
    nodes = [n for p in parts for n in p.nodes]
    _check_unique(nodes)
    collectors = [c for c in nodes[0].collectors if all(c in n.collectors for n in nodes)]
    header = Header(netscope_version=__version__, kernel=", ".join(sorted({n.kernel
                                                                          for n in nodes})),
                    hostname=cluster, captured_at=min(n.captured_at for n in nodes),
                    duration_ms=sum(p.duration_ms for p in parts),
                    redacted=all(n.redacted for n in nodes), collectors=tuple(collectors),
                    note=note, nodes=tuple(nodes))
    head = json.dumps({"format": CLUSTER_FORMAT_NAME, "version": CLUSTER_FORMAT_VERSION,
                       "header": encode(header)}, separators=(",", ":"))[:-1]
    body = [head]
    for f in _fields():
        joined = ",".join(x for x in (p.fragments[f] for p in parts) if x)
        body.append(f',"{f}":[{joined}]')
    return "".join(body) + "}\n", header, sum(p.namespaces for p in parts)


def merge_documents(parts: list[tuple[str | None, dict, Snapshot]], cluster: str = "cluster",
                    note: str | None = None) -> tuple[str, Header, int]:
    """Like `merge`, on documents already read (`netscope.snapshot.io.parse`: the JSON data
    and its checked Snapshot): (the cluster document's text, its header, its number of
    namespaces). The objects are qualified as JSON data, in place (the data is consumed),
    and written as they are, not rebuilt (a 50-node cluster document holds about a million
    values)."""
    return _assemble([_part(*p) for p in parts], cluster, note)


def merge_files(inputs: list[tuple[str | None, str]], cluster: str = "cluster",
                note: str | None = None, workers: int | None = None
                ) -> tuple[str, Header, int]:
    """`merge_documents` of files ((node name or None, path)), each read, checked and
    qualified in a worker process, as many at once as there are CPUs. Raises MergeError and
    netscope.snapshot.io.SnapshotError."""
    workers = workers or os.cpu_count() or 1
    if workers < 2 or len(inputs) < 4:
        return _assemble([_file_part(n, p) for n, p in inputs], cluster, note)
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=min(workers, len(inputs)), mp_context=ctx) as pool:
        parts = list(pool.map(_file_part, *zip(*inputs, strict=True)))
    return _assemble(parts, cluster, note)


@functools.cache
def _item_class(field: str) -> type:
    hint = typing.get_type_hints(Snapshot)[field]
    return typing.get_args(hint)[0]


def merge(parts: list[tuple[str | None, Snapshot]], cluster: str = "cluster",
          note: str | None = None) -> Snapshot:
    """Node snapshots (and cluster documents) -> one cluster document.

    Each part is (node name or None, snapshot); a host snapshot without a name is named by
    its hostname. Cluster documents contribute their nodes as they are. Raises MergeError when
    two parts would be the same node name.
    """
    named = _named_parts(parts)
    pieces: list[Snapshot] = []
    names = iter(named)
    for _name, snap in parts:
        if snap.header.nodes:
            pieces.append(snap)
            for _ in snap.header.nodes:
                next(names)
        else:
            pieces.append(qualify(snap, next(names)[0]))
    fields = [f.name for f in dataclasses.fields(Snapshot) if f.name != "header"]
    merged = {f: tuple(x for p in pieces for x in getattr(p, f)) for f in fields}
    header = _cluster_header([info for _, info in named], [p for _, p in parts], cluster,
                             note)
    return Snapshot(header=header, **merged)
