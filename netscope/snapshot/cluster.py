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
import re
from datetime import datetime
from typing import Any

from netscope import __version__
from netscope.model import Snapshot
from netscope.model.snapshot import Header, NodeInfo

# model fields that hold an id (the object's own, or a reference to another object's):
# a new model field that refers to another object must use one of these names
REFERENCE_FIELDS = frozenset({"id", "netns", "link", "master", "parent", "shares_netns_with"})
NODE_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?")


class MergeError(ValueError):
    """The node snapshots cannot be merged; the message says why and what to do."""


def qualify_id(value: str, node: str) -> str:
    """`kind:rest` -> `kind:node@rest`: the id of the same object in a cluster document."""
    kind, sep, rest = value.partition(":")
    return f"{kind}:{node}@{rest}" if sep else value


def node_of_id(value: str) -> str | None:
    """The node a node-qualified id belongs to, None for a host snapshot's id."""
    _kind, sep, rest = value.partition(":")
    node, at, _ = rest.partition("@")
    return node if sep and at else None


def _qualify(obj: Any, node: str) -> Any:
    """A copy of a model object (dataclass tree) with every reference field node-qualified."""
    cls = type(obj)
    if cls is tuple:
        return tuple(_qualify(v, node) for v in obj)
    if not dataclasses.is_dataclass(obj):
        return obj
    changes = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.name in REFERENCE_FIELDS and isinstance(value, str):
            changes[f.name] = qualify_id(value, node)
        elif isinstance(value, tuple) or dataclasses.is_dataclass(value):
            changes[f.name] = _qualify(value, node)
    return dataclasses.replace(obj, **changes) if changes else obj


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


def merge(parts: list[tuple[str | None, Snapshot]], cluster: str = "cluster",
          note: str | None = None) -> Snapshot:
    """Node snapshots (and cluster documents) -> one cluster document.

    Each part is (node name or None, snapshot); a host snapshot without a name is named by
    its hostname. Cluster documents contribute their nodes as they are. Raises MergeError when
    two parts would be the same node name.
    """
    pieces: list[Snapshot] = []
    nodes: list[NodeInfo] = []
    for name, snap in parts:
        if snap.header.nodes:
            if name is not None:
                raise MergeError(f"{name}=: a cluster document keeps its own node names; "
                                 "give it without a name")
            pieces.append(snap)
            nodes.extend(snap.header.nodes)
            continue
        node = check_node_name(name if name is not None else snap.header.hostname)
        pieces.append(qualify(snap, node))
        nodes.append(node_info(node, snap))
    seen: set[str] = set()
    for n in nodes:
        if n.name in seen:
            raise MergeError(f"two snapshots are node {n.name!r}: name them apart with "
                             "NAME=FILE (e.g. node-a=a.json)")
        seen.add(n.name)
    if not pieces:
        raise MergeError("no snapshot to merge: give at least one NODE.json")
    fields = [f.name for f in dataclasses.fields(Snapshot) if f.name != "header"]
    merged = {f: tuple(x for p in pieces for x in getattr(p, f)) for f in fields}
    collectors = [c for c in nodes[0].collectors if all(c in n.collectors for n in nodes)]
    kernels = sorted({n.kernel for n in nodes})
    header = Header(netscope_version=__version__, kernel=", ".join(kernels), hostname=cluster,
                    captured_at=min(n.captured_at for n in nodes),
                    duration_ms=sum(p.header.duration_ms for p in pieces),
                    redacted=all(n.redacted for n in nodes), collectors=tuple(collectors),
                    note=note, nodes=tuple(nodes))
    return Snapshot(header=header, **merged)
