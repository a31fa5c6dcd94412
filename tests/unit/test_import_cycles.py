"""No two netscope modules import each other, directly or around a loop: layers point one
way (model <- host <- collect <- snapshot <- graph <- analysis <- actions <- tui/cli), and a
cycle hidden in a function-level import (check_cmd <-> trace_cmd was one) is one too.
Imports under `if TYPE_CHECKING:` are for type hints only and do not count."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[2] / "netscope"


def imports() -> nx.DiGraph:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    g = nx.DiGraph()
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
        for node in ast.walk(tree):
            if id(node) in typing_only or not isinstance(node, ast.ImportFrom):
                continue
            if not (node.module or "").startswith("netscope"):
                continue
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                target = target if target in modules else node.module
                if target in modules and target != name:
                    g.add_edge(name, target)
    return g


def test_no_module_imports_itself_around_a_loop():
    g = imports()
    assert g.number_of_edges() > 200, "the import graph was not read"
    assert sorted(nx.simple_cycles(g), key=len) == []
