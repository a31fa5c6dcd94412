"""The files netscope ships beside its code: eBPF probe sources, lab topologies, docs.

A wheel carries them inside the package (netscope/probes, netscope/topology, netscope/docs:
setup.py maps the repository's top-level directories there when it builds); a source
checkout, an editable install or a PYTHONPATH run uses the repository's own top-level
directories. `shipped()` finds them the same way in all those cases.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SHIPPED = ("probes", "topology", "docs")


def shipped(name: str) -> Path:
    """The directory `name` (one of SHIPPED): inside the installed package, else the
    repository's top-level one next to the package (which may not exist: callers say so)."""
    if name not in SHIPPED:
        raise ValueError(f"netscope ships no directory {name!r}")
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PACKAGE_DIR.parent / name
