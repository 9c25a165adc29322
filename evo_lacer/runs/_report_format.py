"""Markdown helpers of the report: table cells and tables, numbers, and a tree as text."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from evo_lacer.errors import EvoLacerError
from evo_lacer.tree import node_from_dict, render


def _cell(value: Any) -> str:
    text = str(value).replace("\n", " ").replace("|", "\\|")
    return text if len(text) <= 120 else text[:117] + "..."


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}g}"


def _tree_text(tree: Any) -> str:
    data = tree.get("tree") if isinstance(tree, Mapping) and "format" in tree else tree
    try:
        return render(node_from_dict(data))
    except EvoLacerError as exc:
        return f"(tree could not be read: {exc})\n{tree!r}"
