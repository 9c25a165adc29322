"""Imports run one way: the subpackage graph read from the import statements has no circle, and
each subpackage imported alone loads only what that graph says it needs (so `evaluate` loads
neither the API, the engine nor the comparison that sits above them)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "evo_lacer"
ROOT = "evo_lacer"

KNOWN_CYCLES: frozenset[frozenset[str]] = frozenset()
"""Circles between subpackages tolerated for now, each with the reason why (none today)."""


def units() -> list[str]:
    """The subpackages and top-level modules of evo_lacer (``api``, ``errors``, ``signals``)."""
    names = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    names |= {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    return sorted(names)


def _imported(tree: ast.AST) -> Iterator[str]:
    """Absolute module names named by the import statements of a module (nested ones included)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "evo_lacer uses absolute imports only"
            if node.module == ROOT:  # from evo_lacer import evaluate
                yield from (f"{ROOT}.{alias.name}" for alias in node.names)
            elif node.module:
                yield node.module


def import_graph() -> dict[str, set[str]]:
    """Subpackage -> the other subpackages its import statements name (the package root is
    ``""``: every subpackage import runs it first)."""
    known = set(units())
    graph: dict[str, set[str]] = {name: set() for name in [*known, ""]}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        unit = "" if parts == ("__init__.py",) else parts[0].removesuffix(".py")
        for module in _imported(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            names = module.split(".")
            if names[0] != ROOT:
                continue
            target = names[1] if len(names) > 1 and names[1] in known else ""
            if target != unit:
                graph[unit].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            members = set()
            while True:
                w = stack.pop()
                members.add(w)
                if w == v:
                    break
            if len(members) > 1:
                found.append(frozenset(members))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for w in graph[todo.pop()] - seen:
            seen.add(w)
            todo.append(w)
    return seen


def test_the_subpackage_import_graph_has_no_circle() -> None:
    graph = import_graph()
    assert {"api", "compare", "engine", "evaluate"} <= set(graph), sorted(graph)
    assert "compare" in graph["cli"] and "api" in graph["compare"], "the graph reader lost edges"
    found = [c for c in cycles(graph) if c not in KNOWN_CYCLES]
    assert not found, f"import circles between subpackages: {[sorted(c) for c in found]}"
    assert not graph["evaluate"] & {"api", "engine", "compare", "cli"}, graph["evaluate"]


def test_the_cycle_finder_finds_a_circle() -> None:
    graph = {"": set(), "a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [frozenset("abc")]


def _loaded_alone(unit: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter imports ``evo_lacer.<unit>`` and prints the subpackages it loaded."""
    code = (f"import json, sys, {ROOT}.{unit}\n"
            f"print(json.dumps(sorted({{m.split('.')[1] for m in sys.modules if m.startswith('{ROOT}.')}})))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def loaded_alone() -> dict[str, subprocess.CompletedProcess[str]]:
    """Every unit's fresh-interpreter import, run side by side (one per core: each waits mostly on
    importing torch, so running them one after another cost about a minute of the default run)."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return dict(zip(units(), pool.map(_loaded_alone, units()), strict=True))


@pytest.mark.parametrize("unit", units())
def test_a_subpackage_imported_alone_loads_only_what_it_imports(
        unit: str, loaded_alone: dict[str, subprocess.CompletedProcess[str]]) -> None:
    proc = loaded_alone[unit]
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    graph = import_graph()
    allowed = (reachable(graph, unit) | reachable(graph, "")) - {""}
    assert unit in loaded and loaded <= allowed, f"{unit} loaded {sorted(loaded - allowed)}, not imported"
    if unit == "evaluate":
        assert not loaded & {"api", "engine", "compare"}, sorted(loaded)
