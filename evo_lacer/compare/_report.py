"""The comparison's outputs: a Markdown table, best-so-far curves with 95% bands, raw JSON."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from evo_lacer.compare._comparison import CompareResult, Reference, dump_json
from evo_lacer.evaluate._budget import scaled_steps


def _pm(values: list[float], digits: int = 3) -> str:
    vals = [v for v in values if math.isfinite(v)]
    if not vals:
        return "-"
    if len(vals) == 1:
        return f"{vals[0]:.{digits}g}"
    return f"{np.mean(vals):.{digits}g} ± {np.std(vals, ddof=1):.{digits}g}"


def evals_to_threshold(curve: list[float], threshold: float) -> int | None:
    """1-based index of the first evaluation whose best-so-far reaches ``threshold``."""
    for i, v in enumerate(curve):
        if math.isfinite(v) and v >= threshold:
            return i + 1
    return None


def _strategy_rows(result: CompareResult) -> list[list[str]]:
    out = []
    confirm = result.config.confirm_steps > 0
    for strategy in dict.fromkeys(r.strategy for r in result.rows):
        runs = [r for r in result.rows if r.strategy == strategy]
        reached = [evals_to_threshold(r.curve, result.threshold) for r in runs]
        hits = [n for n in reached if n is not None]
        to_thr = f"{np.mean(hits):.1f} ({len(hits)}/{len(runs)})" if hits else f"- (0/{len(runs)})"
        llm = {k: sum(r.llm.get(k, 0.0) for r in runs) for k in ("calls", "tokens", "seconds", "fallbacks")}
        row = [strategy, str(len(runs)), _pm([r.best for r in runs]), _pm([r.best_reward for r in runs])]
        if confirm:
            row.append(_pm([r.confirm for r in runs]))
        row += [to_thr, f"{np.mean([r.env_steps for r in runs]):.0f}",
                f"{llm['calls']:.0f}", f"{llm['tokens']:.0f}", f"{llm['seconds']:.0f}",
                f"{llm['fallbacks']:.0f}", f"{np.mean([r.wall_s for r in runs]):.0f}"]
        out.append(row)
    return out


def _reference_rows(refs: list[Reference], confirm: bool) -> list[list[str]]:
    rows = []
    for ref in refs:
        row = [f"*{ref.name}*", str(max(len(ref.fitness), 1)), _pm(ref.fitness), _pm(ref.reward)]
        if confirm:
            row.append(_pm(ref.confirm))
        rows.append([*row, "-", "-", "-", "-", "-", "-", ref.note])
    return rows


def markdown(result: CompareResult, plot_name: str) -> str:
    cfg = result.config
    confirm = cfg.confirm_steps > 0
    if cfg.imitation:
        fitness = "imitation skill (1 - BC loss / constant-guess loss, held-out episodes)"
    else:
        steps = scaled_steps(cfg.steps, cfg.short_fraction, 8) if cfg.fidelity == "cheap" else cfg.steps
        seeds = cfg.fidelity == "full" and cfg.ppo_seeds > 1
        agents = f", mean of {cfg.ppo_seeds} PPO seeds" if seeds else ""
        short = " (ppo-short)" if cfg.fidelity == "cheap" else ""
        fitness = f"mean held-out episodic reward after {steps} PPO steps{short}{agents}"
    header = ["strategy", "runs", "final best fitness", "reward of best"]
    if confirm:
        header.append(f"PPO reward of best ({cfg.confirm_steps} steps)")
    header += ["evals to threshold (reached)", "env steps / run", "LLM calls", "LLM tokens", "LLM s",
               "LLM fallbacks", "wall s / run"]
    ring = cfg.env == "evo_lacer/RingTraffic-v0"
    which = f" ({cfg.cheap_fidelity})" if cfg.fidelity == "cheap" else ""
    where = f"Backend {cfg.backend}, horizon {cfg.horizon}, " if ring else f"Env `{cfg.env}`, "
    lines = [
        f"# Strategy comparison on {'the ring road' if ring else cfg.env}", "",
        f"Fidelity **{cfg.fidelity}**{which} — fitness = {fitness}. {where}"
        f"budget {cfg.budget} evaluations, {cfg.seeds} seed(s), LLM `{cfg.llm}`, gate latency bound "
        f"{cfg.max_latency_ms} ms (batch of 8). "
        f"Threshold {result.threshold:.4g} (default: the median final best of all runs). "
        "darts and enas count their supernet's training as candidates (budget N = N candidates' "
        "worth of PPO env steps, or of cloning gradient steps at the imitation fidelity), so their "
        "first evaluation sits at N - finalists on the curves and in 'evals to "
        "threshold'. "
        "Mean ± sample std over seeds; LLM columns are totals over seeds. LACER's nested ablation: "
        "lacer-nofeatures hides the feature statistics from the LLM, lacer-noreward also the reward "
        "(fitness included), lacer-noinit also skips the initial evaluation.", "",
        "| " + " | ".join(header) + " |", "|" + "---|" * len(header),
    ]
    for row in _strategy_rows(result) + _reference_rows(result.references, confirm):
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", f"![best fitness so far]({plot_name})", ""]
    return "\n".join(lines)


def _t95(n: np.ndarray) -> np.ndarray:
    """Two-sided 95 % Student-t quantiles for samples of size ``n`` (normal 1.96 without SciPy)."""
    try:
        from scipy import stats
    except ImportError:
        return np.full(n.shape, 1.96)
    return np.asarray(stats.t.ppf(0.975, np.maximum(n - 1, 1)), dtype=float)


def plot(result: CompareResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5))
    x = np.arange(1, result.config.budget + 1)
    strategies = list(dict.fromkeys(r.strategy for r in result.rows))
    colors = plt.get_cmap("tab10")
    seen: list[float] = []  # every seed's values and the references: the y range shown
    for i, strategy in enumerate(strategies):
        curves = np.full((0, len(x)), np.nan)
        for r in (r for r in result.rows if r.strategy == strategy):
            c = np.full(len(x), np.nan)
            c[: min(len(r.curve), len(x))] = r.curve[: len(x)]
            curves = np.vstack([curves, c])
            seen += [v for v in c if math.isfinite(v)]
        with warnings.catch_warnings():  # all-NaN columns (no success yet) are expected
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(curves, axis=0)
            n = np.sum(np.isfinite(curves), axis=0)
            half = _t95(n) * np.nanstd(curves, axis=0, ddof=1) / np.sqrt(np.maximum(n, 1))
        style = "--" if "-" in strategy else "-"
        ax.plot(x, mean, style, color=colors(i % 10), label=strategy, marker="o", markersize=3)
        if curves.shape[0] > 1:
            ax.fill_between(x, mean - half, mean + half, color=colors(i % 10), alpha=0.15)
    for ref, style in zip(result.references, (":", "-.")):
        vals = [v for v in ref.fitness if math.isfinite(v)]
        if vals:
            ax.axhline(float(np.mean(vals)), color="black", linestyle=style, linewidth=1, label=ref.name)
            seen.append(float(np.mean(vals)))
    if seen:  # wide bands (few seeds) are cut at the range of the data rather than squash it
        low, high = min(seen), max(seen)
        pad = 0.1 * max(high - low, 1e-6)
        ax.set_ylim(low - pad, high + pad)
    ax.set_xlabel("evaluations")
    ax.set_ylabel("best fitness so far" + (" (imitation skill)" if result.config.imitation else " (reward)"))
    task = "ring road" if result.config.env == "evo_lacer/RingTraffic-v0" else result.config.env
    fidelity = result.config.cheap_fidelity if result.config.fidelity == "cheap" else "full"
    ax.set_title(f"{task}, {fidelity} fidelity, mean and 95% t-band over "
                 f"{result.config.seeds} seed(s)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(result: CompareResult, out: Path) -> dict[str, str]:
    paths = {"markdown": out / "compare.md", "plot": out / "compare.png", "json": out / "compare.json"}
    plot(result, paths["plot"])
    paths["markdown"].write_text(markdown(result, paths["plot"].name), encoding="utf-8")
    dump_json(result, paths["json"])
    return {k: str(v) for k, v in paths.items()}

