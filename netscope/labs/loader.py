"""Load a topology file (TOML), apply a variant overlay and validate it, all before any change.

Errors name the file, the key and the problem: `topology/x.toml: links.veth1.master: 'br9'
is not a link of this lab`. Every variant of a file is validated when the file is loaded,
so `netscope lab list` already reports a broken variant.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from netscope.labs.faults import FAULTS
from netscope.labs.scale import expand_containers
from netscope.labs.schema import (
    KEY_RE,
    LAB_FIELDS,
    NODE_KEY_RE,
    SCALE_FIELDS,
    SECTIONS,
    Spec,
    type_problem,
)
from netscope.labs.topology import Topology
from netscope.labs.validate import build_topology, check_variant_target
from netscope.snapshot.files import FileRefused, depth_exceeds, read_regular

# the biggest lab here is a few KiB; a user's own is read up to this
LAB_FILE_LIMIT = 1024 * 1024

TOP_LEVEL = ("lab", "scale", *SECTIONS)


class TopologyError(ValueError):
    """A topology file that cannot be used; `problems` holds every (key, message) found."""

    def __init__(self, path: str, problems: list[tuple[str, str]], context: str = "") -> None:
        self.path = path
        self.problems = problems
        where = f"{path}{f' ({context})' if context else ''}"
        key, message = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(f"{where}: {key}: {message}{more}" if key else f"{where}: {message}")

    def lines(self) -> list[str]:
        return [f"{self.path}: {key}: {msg}" if key else f"{self.path}: {msg}"
                for key, msg in self.problems]


def check_fields(where: str, table: object, spec: Spec, problems: list[tuple[str, str]]) -> None:
    """Unknown keys, missing required keys and wrongly typed values of one table."""
    if not isinstance(table, dict):
        problems.append((where, "must be a table"))
        return
    for key in table:
        if key not in spec:
            problems.append((f"{where}.{key}",
                             f"unknown key (known: {', '.join(sorted(spec))})"))
    for key, (kind, required) in spec.items():
        if key not in table:
            if required:
                problems.append((f"{where}.{key}", "is required"))
            continue
        problem = type_problem(kind, table[key])
        if problem:
            problems.append((f"{where}.{key}", problem))


def check_document(doc: dict, problems: list[tuple[str, str]]) -> None:
    """Shape of the whole document: sections, keys, field types."""
    for section in doc:
        if section not in TOP_LEVEL:
            problems.append((section, f"unknown section (known: {', '.join(TOP_LEVEL)})"))
    check_fields("lab", doc.get("lab"), LAB_FIELDS, problems)
    if "scale" in doc:
        check_fields("scale", doc["scale"], SCALE_FIELDS, problems)
    for section, spec in SECTIONS.items():
        items = doc.get(section, {})
        if not isinstance(items, dict):
            problems.append((section, "must be a table of named entries"))
            continue
        key_re = NODE_KEY_RE if section == "nodes" else KEY_RE
        for key, table in items.items():
            if not key_re.match(key):
                problems.append((f"{section}.{key}", "bad key: use lowercase letters, digits, "
                                 "'-' and '_'" + (" (at most 20)" if section == "nodes" else "")))
            check_fields(f"{section}.{key}", table, spec, problems)
    if not doc.get("nodes"):
        problems.append(("nodes", "a lab needs at least one node"))


def merge(base: dict, overlay: dict) -> dict:
    """`overlay` deep-merged onto a copy of `base`: tables merge, other values replace."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def remove_path(doc: dict, path: str) -> bool:
    """Delete the entry a dotted path names; keys may hold dots (sysctl names). False if absent."""
    node, rest = doc, path
    while True:
        if rest in node:
            del node[rest]
            return True
        head = next((k for k in node if rest.startswith(k + ".")
                     and isinstance(node[k], dict)), None)
        if head is None:
            return False
        node, rest = node[head], rest[len(head) + 1:]


@dataclass(frozen=True)
class LabFile:
    """A parsed, fully validated topology file: the base lab and every variant."""

    path: str
    doc: dict
    base: Topology

    @property
    def name(self) -> str:
        return self.base.name

    def topology(self, variant: str | None = None, containers: int | None = None) -> Topology:
        """The lab with `variant` applied and, if asked, N generated containers."""
        doc = self.doc
        if containers is not None:
            if "scale" not in doc:
                raise TopologyError(self.path, [("scale", "this lab has no [scale] section: "
                                                 "--containers is not available")])
            try:
                doc = expand_containers(doc, containers)
            except ValueError as e:
                raise TopologyError(self.path, [("scale", str(e))]) from None
        if variant is None:
            topo = _validated(self.path, doc, None, "" if containers is None else "scaled")
        elif variant not in self.doc.get("variants", {}):
            known = ", ".join(self.doc.get("variants", {})) or "none"
            raise TopologyError(self.path, [("variants", f"no variant {variant!r} "
                                             f"(known: {known})")])
        else:
            topo = _with_variant(self.path, doc, variant)
        return topo if containers is None else replace(topo, scaled=containers)


def _with_variant(path: str, doc: dict, key: str) -> Topology:
    spec = doc["variants"][key]
    merged = merge({k: v for k, v in doc.items() if k != "variants"}, spec.get("set", {}))
    merged["variants"] = doc.get("variants", {})
    problems = []
    for item in spec.get("remove", []):
        if not remove_path(merged, item):
            problems.append((f"variants.{key}.remove", f"{item!r} names nothing in the lab"))
    if problems:
        raise TopologyError(path, problems)
    return _validated(path, merged, key, f"variant {key}")


def _validated(path: str, doc: dict, variant_key: str | None, context: str) -> Topology:
    problems: list[tuple[str, str]] = []
    check_document(doc, problems)
    if not problems:
        topo = build_topology(path, doc, problems)
    if problems:
        raise TopologyError(path, problems, context)
    if variant_key is None:
        return topo
    topo = replace(topo, variant=next(v for v in topo.variants if v.key == variant_key))
    check_variant_target(topo, problems)
    if problems:
        raise TopologyError(path, problems, context)
    return topo


def load_lab_file(path: Path | str) -> LabFile:
    """Parse and validate a topology file and every variant in it. Raises TopologyError."""
    path = str(path)
    try:
        raw = read_regular(path, LAB_FILE_LIMIT, "lab")
        doc = tomllib.loads(raw.decode("utf-8"))
    except FileRefused as e:
        raise TopologyError(path, [("", str(e).removeprefix(path + " "))]) from None
    except OSError as e:
        raise TopologyError(path, [("", f"cannot read: {e.strerror}")]) from None
    except UnicodeDecodeError as e:
        raise TopologyError(path, [("", f"not UTF-8 text (byte {e.start}: {e.reason}); "
                                        "TOML files are UTF-8")]) from None
    except tomllib.TOMLDecodeError as e:
        raise TopologyError(path, [("", f"not valid TOML: {e}")]) from None
    except RecursionError:
        raise TopologyError(path, [("", "nested too deeply to be a lab file")]) from None
    if depth_exceeds(doc):
        raise TopologyError(path, [("", "nested too deeply to be a lab file")])
    base = _validated(path, doc, None, "")
    stem = Path(path).stem
    if base.name != stem:
        raise TopologyError(path, [("lab.name", f"is {base.name!r} but the file is "
                                    f"{stem}.toml: they must match")])
    for variant in base.variants:
        if variant.fault not in FAULTS:
            raise TopologyError(path, [(f"variants.{variant.key}.fault",
                                        f"unknown fault id {variant.fault!r} (known: "
                                        f"{', '.join(FAULTS)})")])
        _with_variant(path, doc, variant.key)
    return LabFile(path, doc, base)
