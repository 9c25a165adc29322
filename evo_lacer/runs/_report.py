"""`report.md` + `best_so_far.png` (+ `report.html`, see `_html`) for one run, a folder of runs, or a
list of run folders."""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from evo_lacer.evaluate import Status
from evo_lacer.runs._files import atomic_write
from evo_lacer.runs._report_format import _cell, _fmt, _table
from evo_lacer.runs._report_llm import _llm_check_rows, _llm_rows, _timeout_advice, _trust_lines
from evo_lacer.runs._report_plot import _plot
from evo_lacer.runs._report_rows import (
    _arm_rows,
    _best_section,
    _screen_rows,
    _time_use_rows,
    _timing_rows,
    _waiting_advice,
)
from evo_lacer.runs._run_record import _Run, _run_folders, load_runs

REPORT = "report.md"
PLOT = "best_so_far.png"
STATUSES: tuple[str, ...] = tuple(s.value for s in Status if s is not Status.PENDING)
"""The statuses a recorded evaluation can have (a pending candidate is never recorded)."""


def _markdown(runs: list[_Run], plot_name: str, mixed: str = "") -> str:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    lines = ["# evo-lacer report", "", f"{len(runs)} run(s), generated {now}. Every candidate, the lineage, "
             "the arms and the LLM log: open `report.html` beside this file (works offline).", "",
             "## Runs", ""]
    rows = []
    for run in runs:
        best = run.best()
        evaluated = run.evaluated()
        rows.append([run.name, run.strategy, run.store.created, len(run.records), len(evaluated),
                     _fmt(best[1].fitness, 6) if best else "-", str(run.store.path)])
    lines += _table(["run", "strategy", "created", "candidates", "evaluations", "best fitness",
                     "folder"], rows)
    if mixed:  # (`mixed_tasks`)
        lines += [f"**{mixed}**", ""]

    lines += ["## Status counts", ""]
    rows = []
    for run in runs:
        counts = Counter(f.status.value for f in run.feedbacks if f is not None)
        rows.append([run.name, *(counts.get(s, 0) for s in STATUSES), len(run.unreadable), len(run.records)])
    lines += _table(["run", *STATUSES, "unreadable", "total"], rows)

    lines += ["## Best fitness vs evaluations", "", f"![best fitness so far]({plot_name})", ""]
    lines += ["## Best tree", "", *_best_section(runs)]

    lines += ["## Evaluation time", ""]
    rows = []
    for run in runs:
        seconds = [f.cost.seconds for _, f in run.evaluated()]
        rows.append([run.name, len(seconds), f"{sum(seconds):.1f}",
                     f"{sum(seconds) / len(seconds):.2f}" if seconds else "-",
                     f"{max(seconds):.2f}" if seconds else "-"])
    lines += _table(["run", "evaluations", "total s", "mean s", "max s"], rows)
    timing_rows = [row for run in runs for row in _timing_rows(run)]
    if timing_rows:
        lines += ["Per-candidate timings (from the `timings` of each record):", ""]
        lines += _table(["run", "phase", "total s", "mean s", "records"], timing_rows)

    time_rows = [row for run in runs for row in _time_use_rows(run)]
    if time_rows:
        lines += ["## Time use", "",
                  "Worker-seconds = workers x wall clock; idle = those not spent evaluating (waiting for "
                  "proposals, LLM calls, the gate, the slowest candidate of a batch); LLM share = seconds "
                  "inside LLM calls / wall clock.", ""]
        lines += _table(["run", "loop", "workers", "wall s", "evaluation s", "idle worker-s", "idle share",
                         "LLM s", "LLM share"], time_rows)
        lines += _waiting_advice(runs)

    arm_rows = [row for run in runs for row in _arm_rows(run)]
    if arm_rows:
        lines += ["## Arms (who made each child)", "",
                  "A child *improved* when it beat the median fitness of the population it came from. "
                  "With the hybrid's screen, an LLM arm's answer is screened beside random fills: its child "
                  "counts as improved only when the LLM's answer was evaluated (*LLM chosen*: the screen "
                  "chose it or, with `llm_trust=learned`, it was taken unscreened).", ""]
        lines += _table(["run", "arm", "chosen", "scored", "improved", "improvement rate",
                         "proposal seconds", "LLM chosen"], arm_rows)
    trust_lines = [line for run in runs for line in _trust_lines(run)]
    if trust_lines and not arm_rows:
        lines += ["## LLM trust (whether an LLM answer may skip the screen)"]
    lines += [*trust_lines, ""] if trust_lines else []

    screen_rows = [row for run in runs for row in _screen_rows(run)]
    if screen_rows:
        lines += ["## Screen (which drawn child was evaluated)", "",
                  "Each screened child was picked among several drawn children by a Gaussian process "
                  "over tree features; rho: rank correlation of its predicted and its real fitness.", ""]
        lines += _table(["run", "screened", "picked by the model", "evaluated OK", "rho (predicted, real)"],
                        screen_rows)

    check_rows = [row for run in runs for row in _llm_check_rows(run)]
    if check_rows:
        lines += ["## LLM check", "",
                  "Decision probes whose answer the prompt shows, asked before the search "
                  "(`evo-lacer llm-check`); a model at chance designs about as a random designer.", ""]
        lines += _table(["run", "model", "correct", "95% interval", "chance", "verdict", "valid",
                         "median s"], check_rows)

    lines += ["## LLM accounting", ""]
    llm_rows = [row for run in runs for row in _llm_rows(run)]
    if llm_rows:
        lines += _table(["run", "backend", "model", "calls", "prompt tokens", "from cache",
                         "completion tokens", "seconds", "fallbacks", "timed out", "differs from random"],
                        llm_rows)
        lines += _timeout_advice(runs)
    else:
        lines += ["No LLM exchanges recorded.", ""]

    errors = Counter((f.status.value, f.error.splitlines()[0] if f.error else "")
                     for run in runs for f in run.feedbacks
                     if f is not None and not f.ok and f.error)
    if errors:
        lines += ["## Most frequent errors", ""]
        lines += _table(["status", "count", "error"], [[s, n, e] for (s, e), n in errors.most_common(10)])
    unreadable = [f"{run.name}: {u}" for run in runs for u in run.unreadable]
    if unreadable:
        lines += ["## Unreadable records", ""] + [f"- {_cell(u)}" for u in unreadable[:20]] + [""]
    return "\n".join(lines).rstrip() + "\n"


def mixed_tasks(runs: list[_Run]) -> str:
    """A warning when the runs are of more than one task (their best and curves do not compare)."""
    tasks: dict[str, list[str]] = {}
    for run in runs:
        tasks.setdefault(str(run.store.config.get("task") or "?"), []).append(run.name)
    if len(tasks) < 2:
        return ""
    listed = "; ".join(f"{task.split('. ')[0][:80]}: {', '.join(names)}" for task, names in tasks.items())
    return (f"These runs are of {len(tasks)} different tasks ({listed}): the best tree and the curves "
            "below mix them. Report each task's runs apart (`evo-lacer report` on each task's folders).")


def write_report(run_dir: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
                 out: str | os.PathLike[str] | None = None) -> Path:
    """Write ``report.md``, ``best_so_far.png`` and ``report.html`` (one self-contained page with
    every candidate, the lineage, the arms and the LLM log) and return the markdown's path.

    `run_dir` is a run folder, a folder holding run folders, or a list of either; several runs
    are compared per strategy. `out` defaults to the folder given (the common parent for a list).
    """
    folders = _run_folders(run_dir)
    if out is not None:
        target = Path(out)
    elif isinstance(run_dir, str | os.PathLike):
        target = Path(run_dir)
    else:
        target = Path(os.path.commonpath([str(p.resolve()) for p in folders]))
    target.mkdir(parents=True, exist_ok=True)
    runs = load_runs(folders)
    mixed = mixed_tasks(runs)
    if mixed:
        warnings.warn(mixed, UserWarning, stacklevel=2)
    from evo_lacer.runs._html import HTML, write_html

    _plot(runs, target / PLOT)
    write_html(runs, target / HTML)
    report = target / REPORT
    atomic_write(report, _markdown(runs, PLOT, mixed))
    return report
