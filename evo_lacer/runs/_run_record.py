"""Run folders read once into `_Run` records (candidates, feedback, LLM log, time use) for the
report, the page and the export."""

from __future__ import annotations

import math
import os
import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from evo_lacer.errors import EvoLacerError, RunStoreError
from evo_lacer.evaluate import Feedback, Status
from evo_lacer.runs._store import RunStore, is_run_dir


@dataclass(frozen=True)
class _TimeUse:
    """A finished run's wall clock, workers and the seconds spent evaluating and in LLM calls."""

    loop: str
    workers: int
    wall_s: float
    eval_s: float
    llm_s: float

    @property
    def idle_s(self) -> float:
        return max(0.0, self.workers * self.wall_s - self.eval_s)


@dataclass
class _Run:
    """One run folder, read once."""

    name: str
    store: RunStore
    strategy: str
    records: list[dict[str, Any]]
    feedbacks: list[Feedback | None]
    llm: list[dict[str, Any]]
    unreadable: list[str] = field(default_factory=list)

    @cached_property
    def timings(self) -> dict[str, list[float]]:
        """Each numeric entry of the records' `timings`, by key, in record order."""
        out: dict[str, list[float]] = defaultdict(list)
        for record in self.records:
            timings = record.get("timings")
            if isinstance(timings, Mapping):
                for key, value in timings.items():
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        out[str(key)].append(float(value))
        return dict(out)

    @cached_property
    def time_use(self) -> _TimeUse | None:
        """From ``state/summary.json``, written when a search ends (None before: killed or running)."""
        try:
            summary = self.store.load_state("summary")
        except (EvoLacerError, OSError, ValueError):
            return None
        if not isinstance(summary, Mapping) or not isinstance(summary.get("wall_s"), int | float):
            return None
        llm = summary.get("llm")
        return _TimeUse(loop=str(summary.get("loop") or "generational"),  # older runs ran generationally
                        workers=max(1, int(self.store.config.get("workers") or 1)),
                        wall_s=float(summary["wall_s"]), eval_s=float(summary.get("eval_s") or 0.0),
                        llm_s=float(llm.get("seconds") or 0.0) if isinstance(llm, Mapping) else 0.0)

    def evaluated(self) -> list[tuple[dict[str, Any], Feedback]]:
        """Candidates that cost an evaluation, in order: not rejected by the gate and not
        answered from the cache (records carry `evaluated` / `cached` flags when written by
        the search engine; older or foreign records fall back to the status)."""
        return [(r, f) for r, f in zip(self.records, self.feedbacks)
                if f is not None and f.status is not Status.REJECTED
                and r.get("evaluated", not r.get("cached", False))]

    def fidelities(self) -> list[str]:
        """The fidelities of the evaluations (cheap screening and full PPO under halving)."""
        return sorted({fb.fidelity for _, fb in self.evaluated()}, key=_fidelity_rank)

    def best_so_far(self, fidelity: str | None = None) -> list[float]:
        """Best fitness after each evaluation, among those of `fidelity` (None: all); one value
        per evaluation of any fidelity, so curves of one run share the x axis."""
        best, out = -math.inf, []
        for _, fb in self.evaluated():
            if fb.ok and fb.fitness is not None and fidelity in (None, fb.fidelity):
                best = max(best, fb.fitness)
            out.append(best if best > -math.inf else math.nan)
        return out

    def best(self) -> tuple[dict[str, Any], Feedback] | None:
        """The best evaluation at the run's highest fidelity (fitness scales differ between
        fidelities, so a cheap score never outranks a full one)."""
        fids = self.fidelities()
        ok = [(r, f) for r, f in self.evaluated()
              if f.ok and f.fitness is not None and f.fidelity == (fids[-1] if fids else f.fidelity)]
        return max(ok, key=lambda rf: rf[1].fitness or 0.0) if ok else None


def _fidelity_rank(fidelity: str) -> tuple[int, str]:
    """Lower fidelities first, "full" last."""
    return (1 if fidelity == "full" else 0), fidelity


def _run_folders(run_dirs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[Path]:
    items = [run_dirs] if isinstance(run_dirs, str | os.PathLike) else list(run_dirs)
    if not items:
        raise RunStoreError("no run folder given")
    folders: list[Path] = []
    for item in items:
        path = Path(item)
        if is_run_dir(path):
            folders.append(path)
            continue
        nested = _nested_runs(path) if path.is_dir() else []
        if nested:
            folders += nested
        else:
            RunStore.open(path)  # raises the precise error (missing, no run.json, ...)
    return folders


def _nested_runs(path: Path, depth: int = 3) -> list[Path]:
    """Run folders under `path`, up to `depth` levels down (``runs/STRATEGY/SEED`` layouts)."""
    found: list[Path] = []
    for child in sorted(p for p in path.iterdir() if p.is_dir()):
        if is_run_dir(child):
            found.append(child)
        elif depth > 1:
            found += _nested_runs(child, depth - 1)
    return found


def _load(path: Path, name: str) -> _Run:
    store = RunStore.open(path)
    records = store.candidates()
    feedbacks: list[Feedback | None] = []
    unreadable: list[str] = []
    for record in records:
        try:
            feedbacks.append(Feedback.from_dict(record["feedback"]))
        except (EvoLacerError, KeyError, TypeError) as exc:
            feedbacks.append(None)
            unreadable.append(f"candidate {record.get('id', '?')}: {exc}")
    if unreadable:
        warnings.warn(f"{path}: {len(unreadable)} candidate(s) with unreadable feedback were skipped",
                      RuntimeWarning, stacklevel=3)
    strategy = store.config.get("strategy") or next(
        (str(r["strategy"]) for r in records if r.get("strategy")), path.name)
    return _Run(name, store, str(strategy), records, feedbacks, store.llm_exchanges(), unreadable)


def load_runs(folders: list[Path]) -> list[_Run]:
    """The run folders, read, each named by its path below their common parent."""
    base = Path(os.path.commonpath([str(p.resolve()) for p in folders])) if len(folders) > 1 else None
    return [_load(path, str(path.resolve().relative_to(base)) if base is not None else path.resolve().name)
            for path in folders]
