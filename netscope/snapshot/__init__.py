"""Snapshots on disk: versioned, documented JSON (docs/snapshot.md), loaded strictly."""

from netscope.snapshot.io import SnapshotError, dumps, load, loads, save

__all__ = ["SnapshotError", "dumps", "load", "loads", "save"]
