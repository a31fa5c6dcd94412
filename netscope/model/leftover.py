"""Leftovers: what a netscope process added to the host and did not remove because it was
killed or crashed (its owner mark names a process that is gone)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Leftover:
    """One leftover, found by the collector, reported by the doctor with the repair that
    removes it, and removed by the next netscope that changes the host.

    kind "nft_table": `name` is "<family> <table>", e.g. "inet netscope_trace_4242_918273".
    """

    id: str
    netns: str
    kind: str
    name: str
    owner_pid: int
