"""Where the lab files are, and `lab` / `lab/variant` references resolved to topologies."""

from __future__ import annotations

import os
from pathlib import Path

from netscope.labs.loader import LabFile, TopologyError, load_lab_file
from netscope.labs.topology import Topology

ENV_DIR = "NETSCOPE_TOPOLOGY_DIR"


def topology_dir() -> Path:
    """$NETSCOPE_TOPOLOGY_DIR, else the lab files installed with netscope (topology/)."""
    from netscope.resources import shipped

    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env)
    return shipped("topology")


def lab_files(directory: Path | None = None) -> list[Path]:
    directory = directory or topology_dir()
    return sorted(directory.glob("*.toml"))


def load_all(directory: Path | None = None) -> list[LabFile]:
    """Every lab file, each validated with all its variants. Raises TopologyError."""
    return [load_lab_file(p) for p in lab_files(directory)]


def split_ref(ref: str) -> tuple[str, str | None]:
    """"docker-bridge/ip_forward_off" -> ("docker-bridge", "ip_forward_off");
    "./my-lab.toml/broken" -> ("./my-lab.toml", "broken") (a user's own lab file)."""
    if ".toml" in ref:
        path, _, rest = ref.rpartition(".toml")
        return path + ".toml", (rest.strip("/") or None)
    lab, _, variant = ref.partition("/")
    return lab, (variant or None)


def is_path(lab: str) -> bool:
    """True when a lab reference names a file (PATH.toml) rather than a lab of the catalog."""
    return lab.endswith(".toml")


def find_lab(name: str, directory: Path | None = None) -> LabFile:
    """The lab file named `name`. Raises LookupError listing the labs there are."""
    directory = directory or topology_dir()
    path = directory / f"{name}.toml"
    if "/" in name or not path.is_file():
        known = ", ".join(p.stem for p in lab_files(directory)) or f"none in {directory}"
        raise LookupError(f"no lab named {name!r} (labs: {known})")
    return load_lab_file(path)


def resolve(ref: str, containers: int | None = None,
            directory: Path | None = None) -> Topology:
    """The topology a `lab[/variant]` reference names. Raises LookupError or TopologyError."""
    lab, variant = split_ref(ref)
    if is_path(lab):
        if not os.path.exists(lab):
            raise LookupError(f"{lab}: no such lab file (the format is in topology/README.md)")
        return load_lab_file(lab).topology(variant, containers)
    return find_lab(lab, directory).topology(variant, containers)


__all__ = ["TopologyError", "find_lab", "load_all", "resolve", "split_ref", "topology_dir"]
