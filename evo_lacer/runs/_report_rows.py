"""The report's rows on the search itself: the best tree, where the time went (and what kept the
workers waiting), the arms of a tree strategy and the hybrid's screen."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from evo_lacer.errors import EvoLacerError
from evo_lacer.runs._report_format import _fmt, _table, _tree_text
from evo_lacer.runs._run_record import _Run


def _best_section(runs: list[_Run]) -> list[str]:
    candidates = [(run, *best) for run in runs if (best := run.best()) is not None]
    if not candidates:
        return ["No candidate has been evaluated successfully yet.", ""]
    run, record, fb = max(candidates, key=lambda c: c[2].fitness or 0.0)
    lines = [
        f"Fitness **{_fmt(fb.fitness, 6)}** — candidate `{record.get('id')}` of run `{run.name}` "
        f"(strategy {run.strategy}, generation {record.get('generation')}, designer "
        f"{record.get('designer')}, hash `{str(record.get('tree_hash'))[:12]}`).",
        "",
        "```text",
        _tree_text(record.get("tree")),
        "```",
        "",
        f"Cost: {fb.cost.seconds:.2f} s, {fb.cost.env_steps} env steps; fidelity {fb.fidelity}.",
        "",
    ]
    values = [(f"metric {k}", v) for k, v in sorted(fb.metrics.items())]
    values += [(f"feature {k}", v) for k, v in sorted(fb.features.items())]
    if values:
        lines += _table(["signal", "value"], [[k, _fmt(v)] for k, v in values])
    return lines


def _timing_rows(run: _Run) -> list[list[Any]]:
    return [[run.name, key, f"{sum(v):.2f}", f"{sum(v) / len(v):.3f}", len(v)]
            for key, v in sorted(run.timings.items())]


def _time_use_rows(run: _Run) -> list[list[Any]]:
    """Where the run's wall clock went: the workers' seconds, how many of them evaluated and how
    many idled, and the LLM's share."""
    use = run.time_use
    if use is None:
        return []
    wall = use.wall_s
    idle_share = f"{100 * use.idle_s / (use.workers * wall):.0f}%" if wall > 0 else "-"
    llm_share = f"{100 * use.llm_s / wall:.0f}%" if wall > 0 else "-"
    return [[run.name, use.loop, use.workers, f"{wall:.1f}", f"{use.eval_s:.1f}", f"{use.idle_s:.1f}",
             idle_share, f"{use.llm_s:.1f}", llm_share]]


IDLE_WORTH_SAYING = 0.25
"""Idle share of the workers' seconds above which the report says what kept them waiting."""


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _waiting_advice(runs: list[_Run]) -> list[str]:
    """What kept the workers waiting when the search process could not keep up with them: its own
    seconds per candidate (proposing, then the gate) above an evaluation's seconds per worker."""
    lines = []
    for run in runs:
        use, proposing = run.time_use, run.timings.get("propose_s", [])
        propose, gate = _mean(proposing), _mean(run.timings.get("gate_s", []))
        evaluate = _mean(run.timings.get("eval_s", []))
        if use is None or use.wall_s <= 0 or propose is None or not evaluate:
            continue
        own = propose + (gate or 0.0)
        idle = use.idle_s / (use.workers * use.wall_s)
        if idle < IDLE_WORTH_SAYING or own < evaluate / use.workers:
            continue
        text = (f"- {run.name}: the workers idled {100 * idle:.0f}% of their time, waiting on the search "
                f"process: it spent {1e3 * own:.0f} ms a candidate proposing ({1e3 * propose:.0f} ms) and "
                f"checking it (the gate, {1e3 * (gate or 0.0):.0f} ms), against {1e3 * evaluate:.0f} ms an "
                f"evaluation shared by {use.workers} worker(s), so more workers will not help.")
        if use.llm_s >= 0.5 * sum(proposing):
            text += (f" LLM calls took {use.llm_s:.0f} s of it: a faster model or server (README, "
                     "\"Which model?\") or `--llm none` keeps the workers busy.")
        elif run.strategy == "hybrid":
            text += (" The hybrid draws and screens several children for each one it evaluates, which pays "
                     "when an evaluation takes seconds; for an evaluation this cheap, `--strategy tpe` "
                     "needs about a third of its time a candidate (README, \"Measured\").")
        lines.append(text)
    return [*lines, ""] if lines else []


def _screen_rows(run: _Run) -> list[list[Any]]:
    """The hybrid's screen: children it chose among its drawn variants, how many of those its model
    picked (the rest were uniform, before it had data), and how well the model's predicted fitness
    ranked the picked children's real fitness (Spearman rho)."""
    screened = [r for r in run.records if isinstance((r.get("extra") or {}).get("screen"), Mapping)]
    if not screened:
        return []
    pairs = []
    for r in screened:
        mean = r["extra"]["screen"].get("mean")
        fitness = (r.get("feedback") or {}).get("fitness")
        if isinstance(mean, int | float) and isinstance(fitness, int | float) and r.get("evaluated"):
            pairs.append((float(mean), float(fitness)))
    modelled = sum(1 for r in screened if "mean" in r["extra"]["screen"])
    rho = _spearman(pairs)
    return [[run.name, len(screened), modelled, len(pairs), "-" if rho is None else f"{rho:.2f}"]]


def _spearman(pairs: list[tuple[float, float]]) -> float | None:
    if len(pairs) < 3:
        return None
    import numpy as np
    from scipy.stats import spearmanr

    a, b = np.array(pairs).T
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(spearmanr(a, b).statistic)


def _arm_rows(run: _Run) -> list[list[Any]]:
    """Per arm of a tree strategy (who made the child): times chosen, children scored, children
    that beat the population median, that rate, and proposal seconds (the LLM's time included).
    From the run's summary when it has one; while it runs, from the records."""
    try:
        summary = run.store.load_state("summary") or {}
    except EvoLacerError:
        summary = {}
    arms = summary.get("arms") if isinstance(summary, Mapping) else None
    if not isinstance(arms, Mapping):
        counts: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        for r in run.records:
            arm = (r.get("extra") or {}).get("arm")
            if isinstance(arm, str):
                counts[arm][0] += 1
                counts[arm][1] += float((r.get("timings") or {}).get("propose_s", 0.0))
        return [[run.name, a, int(c), "-", "-", "-", f"{sec:.1f}", "-"]
                for a, (c, sec) in sorted(counts.items())]
    rows = []
    for arm, st in sorted(arms.items()):
        if not isinstance(st, Mapping):
            continue
        rate = st.get("improvement_rate")
        rows.append([run.name, arm, st.get("chosen", 0), st.get("scored", 0), st.get("improved", 0),
                     "-" if rate is None else f"{float(rate):.2f}", f"{float(st.get('seconds', 0.0)):.1f}",
                     st.get("screen_won", "-") if arm.endswith(":llm") else "-"])  # the LLM arms
    return rows
