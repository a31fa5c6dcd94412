"""Snapshot -> networkx.MultiDiGraph. Pure: no I/O."""

from netscope.graph.build import EdgeKind, NodeKind, build_graph

__all__ = ["EdgeKind", "NodeKind", "build_graph"]
