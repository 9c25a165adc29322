"""The fault table: each fault test records what it injected and what came of it; the session
prints the table (and writes it as Markdown to $EVO_FAULTS_TABLE when set) -- docs/faults.md
is that output."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass(frozen=True)
class Row:
    test: str
    fault: str
    outcome: str
    searches: int
    crashed: int
    lost: int
    repeated: int


_ROWS: list[Row] = []


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Callable[..., None]:
    """record(fault, outcome, searches=1, crashed=0, lost=0, repeated=0): one row of the table."""

    def add(fault: str, outcome: str, *, searches: int = 1, crashed: int = 0, lost: int = 0,
            repeated: int = 0) -> None:
        test = request.node.nodeid.split("/")[-1]  # test_faults_x.py::test_name[param]
        _ROWS.append(Row(test, fault, outcome, searches, crashed, lost, repeated))

    return add


def table(rows: list[Row]) -> str:
    head = ["| fault injected | outcome | searches | crashed | evaluations lost | evaluations repeated "
            "| test |", "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    body = [f"| {r.fault} | {r.outcome} | {r.searches} | {r.crashed} | {r.lost} | {r.repeated} "
            f"| `{r.test}` |" for r in rows]
    total = (f"| **{len(rows)} faults** | | {sum(r.searches for r in rows)} | "
             f"{sum(r.crashed for r in rows)} | {sum(r.lost for r in rows)} | "
             f"{sum(r.repeated for r in rows)} | |")
    return "\n".join([*head, *body, total]) + "\n"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _ROWS:
        return
    text = table(sorted(_ROWS, key=lambda r: r.test))
    terminalreporter.write_sep("-", "fault table")
    terminalreporter.write(text)
    target = os.environ.get("EVO_FAULTS_TABLE")
    if target:
        Path(target).write_text(text, encoding="utf-8")
