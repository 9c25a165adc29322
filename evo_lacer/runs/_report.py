"""`report.md` + `best_so_far.png` (+ `report.html`, see `_html`) for one run, a folder of runs, or a
list of run folders."""

from __future__ import annotations

import json
import math
import os
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from evo_lacer.errors import EvoLacerError, LLMTimeout, RunStoreError
from evo_lacer.evaluate import Feedback, Status
from evo_lacer.runs._store import RunStore, _atomic_write, is_run_dir
from evo_lacer.tree import node_from_dict, render

REPORT = "report.md"
PLOT = "best_so_far.png"
STATUSES: tuple[str, ...] = tuple(s.value for s in Status if s is not Status.PENDING)
"""The statuses a recorded evaluation can have (a pending candidate is never recorded)."""


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


def _plot(runs: list[_Run], path: Path) -> None:
    from matplotlib.figure import Figure

    fidelities = sorted({f for run in runs for f in run.fidelities()}, key=_fidelity_rank) or ["full"]
    fig = Figure(figsize=(7.5, 4.5 if len(fidelities) == 1 else 3.2 * len(fidelities)), layout="tight")
    axes = fig.subplots(len(fidelities), 1, sharex=True, squeeze=False)[:, 0]
    strategies = sorted({r.strategy for r in runs})
    for ax, fidelity in zip(axes, fidelities):
        _plot_fidelity(ax, runs, strategies, None if len(fidelities) == 1 else fidelity)
        ax.set_ylabel("best fitness so far" if len(fidelities) == 1 else f"best so far ({fidelity})")
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("evaluations (all fidelities)" if len(fidelities) > 1 else "evaluations")
    axes[0].set_title("Best fitness vs evaluations" + (", one panel per fidelity (their fitness scales "
                                                       "differ)" if len(fidelities) > 1 else ""))
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=100, format=path.suffix.lstrip(".") or "png")
    os.replace(tmp, path)  # a kill leaves the old plot or the new one, whole


def _plot_fidelity(ax: Any, runs: list[_Run], strategies: list[str], fidelity: str | None) -> None:
    plotted = False
    for index, strategy in enumerate(strategies):
        group = [r for r in runs if r.strategy == strategy]
        label = strategy if len(group) == 1 else f"{strategy} ({len(group)} runs)"
        for run in group:
            curve = run.best_so_far(fidelity)
            if not curve or all(math.isnan(v) for v in curve):
                continue
            ax.step(range(1, len(curve) + 1), curve, where="post", color=f"C{index % 10}",
                    linewidth=1.8 if len(group) == 1 else 1.0, alpha=1.0 if len(group) == 1 else 0.7,
                    label=label)
            label = "_nolegend_"
            plotted = True
    if not plotted:
        ax.text(0.5, 0.5, "no successful evaluation yet", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.legend(loc="lower right")


def _tree_text(tree: Any) -> str:
    data = tree.get("tree") if isinstance(tree, Mapping) and "format" in tree else tree
    try:
        return render(node_from_dict(data))
    except EvoLacerError as exc:
        return f"(tree could not be read: {exc})\n{tree!r}"


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


def _llm_rows(run: _Run) -> list[list[Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for ex in run.llm:
        groups[(str(ex.get("backend", "?")), str(ex.get("model", "?")))].append(ex)

    def total(items: list[dict[str, Any]], key: str) -> float:
        return sum(float(x.get(key) or 0) for x in items)

    rows = []
    for (backend, model), items in sorted(groups.items()):
        judged = [x["differs_from_random"] for x in items if x.get("differs_from_random") is not None]
        differs = f"{sum(bool(v) for v in judged)}/{len(judged)}" if judged else "-"
        counted = [x for x in items if isinstance(x.get("cached_tokens"), int) and x.get("prompt_tokens")]
        cached = (f"{100 * total(counted, 'cached_tokens') / total(counted, 'prompt_tokens'):.0f}%"
                  if counted else "-")
        rows.append([run.name, backend, model, len(items), int(total(items, "prompt_tokens")), cached,
                     int(total(items, "completion_tokens")), f"{total(items, 'seconds'):.1f}",
                     sum(bool(x.get("fallback")) for x in items), len(_timed_out(items)), differs])
    return rows


def _timed_out(exchanges: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [x for x in exchanges if str(x.get("error") or "").startswith(LLMTimeout.__name__)]


def _timeout_advice(runs: list[_Run]) -> list[str]:
    """What to change when calls hit the time limit: each such call's choice fell back to random,
    so a run whose calls all time out measures a random designer that waits."""
    lines = []
    for run in runs:
        late = _timed_out(run.llm)
        if not late:
            continue
        limit = run.store.config.get("llm_timeout_s")
        setting = "`llm_timeout_s`" if limit is None else f"`llm_timeout_s` = {limit} s"
        finished = [float(x["seconds"]) for x in run.llm
                    if x.get("ok") and isinstance(x.get("seconds"), int | float)]
        slowest = f"; the slowest call that finished took {max(finished):.0f} s" if finished else ""
        lines.append(
            f"- {run.name}: {len(late)} of {len(run.llm)} calls hit the time limit "
            f"({setting}) and fell back to "
            f"random choices{slowest}. To give the model the time it needs, raise the limit: "
            "`--llm-timeout-s 300` for `evo-lacer search`, or for `evo-lacer resume` of a run not "
            "finished yet; `llm_timeout_s=300` from Python.")
    return [*lines, ""] if lines else []


def _llm_check_rows(run: _Run) -> list[list[Any]]:
    """The run's `llm_check` (``artifacts/llm_check.json``, written when an LLM strategy started)."""
    path = run.store.path / "artifacts" / "llm_check.json"
    try:
        data = json.loads(path.read_text())
        low, high = data["interval"]
        row = [run.name, f"{data['backend']}:{data['model']}", f"{data['correct']}/{data['probes']}",
               f"{100 * low:.0f}-{100 * high:.0f}%", f"{100 * data['chance']:.0f}%", data["verdict"],
               f"{data['valid']}/{data['probes']}", f"{float(data['median_s']):.2f}"]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [[run.name, f"unreadable {path.name}: {type(exc).__name__}: {exc}", *["-"] * 6]]
    return [row]


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


def _trust_lines(run: _Run) -> list[str]:
    """With ``llm_trust="learned"``: how many answers were taken unscreened, and the two records the
    trust was drawn from (the model's evaluated answers and the screen's picks, won / lost). With
    ``"auto"``: which of the two it became, and why (the run's LLM check)."""
    try:
        summary = run.store.load_state("summary") or {}
    except EvoLacerError:
        return []
    trust = summary.get("llm_trust") if isinstance(summary, Mapping) else None
    if not isinstance(trust, Mapping):
        return []
    lines = []
    if run.store.config.get("llm_trust") == "auto":
        verdict = _check_verdict(run)
        why = f"the LLM check found the model {verdict}" if verdict else "no LLM check result"
        lines += ["", f"{run.name}, `llm_trust=auto` became `{trust.get('mode')}`: {why} (learned only "
                  "above chance)."]
    if trust.get("mode") != "learned":
        return lines
    answers = trust.get("answers") or {}
    said = ", ".join(f"{arm} {r.get('wins', 0)} won / {r.get('losses', 0)} lost"
                     for arm, r in sorted(answers.items()))
    picks = trust.get("screen_picks") or {}
    return [*lines, "", f"{run.name}, `llm_trust=learned`: {trust.get('trusted', 0)} LLM answers taken "
            f"without the screen; the model's evaluated answers: {said or 'none yet'}; the screen's picks: "
            f"{picks.get('wins', 0)} won / {picks.get('losses', 0)} lost (won: beat the population's "
            "median)."]


def _check_verdict(run: _Run) -> str | None:
    """The verdict of the run's LLM check (``artifacts/llm_check.json``, read as data), if any."""
    try:
        data = json.loads((run.store.path / "artifacts" / "llm_check.json").read_text())
    except (OSError, ValueError):
        return None
    verdict = data.get("verdict") if isinstance(data, dict) else None
    return verdict if isinstance(verdict, str) else None


def _markdown(runs: list[_Run], plot_name: str) -> str:
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


def load_runs(folders: list[Path]) -> list[_Run]:
    """The run folders, read, each named by its path below their common parent."""
    base = Path(os.path.commonpath([str(p.resolve()) for p in folders])) if len(folders) > 1 else None
    return [_load(path, str(path.resolve().relative_to(base)) if base is not None else path.resolve().name)
            for path in folders]


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
    from evo_lacer.runs._html import HTML, write_html

    _plot(runs, target / PLOT)
    write_html(runs, target / HTML)
    report = target / REPORT
    _atomic_write(report, _markdown(runs, PLOT))
    return report
