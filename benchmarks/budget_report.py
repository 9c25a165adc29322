"""The tables and plots of `hybrid_budgets.py`'s grid (also used by `helpful_model.py`): per task
and budget the median best over seeds with a bootstrap 90% interval of the median and the mean
rank; paired differences from one row on the same seeds; the held-out re-evaluations; the arms;
a best-so-far plot (median over seeds, band 25-75 %). Reads ``results.jsonl`` and
``reeval.jsonl`` as JSON records; runs nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def load(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def expand(rows: list[dict[str, Any]], budgets: list[int]) -> list[dict[str, Any]]:
    """Rows per (task, label, budget, seed). A smaller budget without a run of its own is read off
    the prefix of the largest run (marked ``derived``): exactly that budget's run for random, the
    best after that many evaluations of a run planned for the larger budget for the others."""
    out = {(r["task"], r["label"], r["budget"], r["seed"]): {**r, "run_budget": r["budget"]} for r in rows}
    for r in rows:
        for b in budgets:
            if b < r["budget"] and len(r["curve"]) >= b:
                key = (r["task"], r["label"], b, r["seed"])
                prefix = {"budget": b, "curve": r["curve"][:b], "best": r["curve"][b - 1],
                          "derived": r["strategy"] != "random", "run_budget": r["budget"]}
                out.setdefault(key, {**r, **prefix})
    return list(out.values())


def bootstrap_median(values: np.ndarray, rng: np.random.Generator, n: int = 2000) -> tuple[float, float]:
    """90% percentile-bootstrap interval of the median."""
    draws = rng.choice(values, size=(n, len(values)), replace=True)
    meds = np.median(draws, axis=1)
    return float(np.percentile(meds, 5)), float(np.percentile(meds, 95))


def ranks(table: dict[str, dict[int, float]]) -> dict[str, float]:
    """Mean rank per label over the seeds every label has (1 = best; ties share the mean rank)."""
    labels = sorted(table)
    seeds = sorted(set.intersection(*(set(table[lb]) for lb in labels))) if labels else []
    total = {lb: 0.0 for lb in labels}
    for s in seeds:
        values = np.array([-table[lb][s] for lb in labels])
        order = values.argsort().argsort().astype(float)
        for v in np.unique(values):  # ties share
            order[values == v] = order[values == v].mean()
        for lb, r in zip(labels, order, strict=True):
            total[lb] += r + 1
    return {lb: total[lb] / len(seeds) for lb in labels} if seeds else {}


def report(out: Path, budgets: list[int], paired: str | None = None) -> str:
    rows = expand(load(out / "results.jsonl"), budgets)
    reeval = load(out / "reeval.jsonl")
    held_out, k = held_out_means(reeval), max((len(r["values"]) for r in reeval), default=0)
    rng = np.random.default_rng(0)
    lines = ["# Hybrid vs its baselines", "",
             "Median best fitness over seeds [bootstrap 90% interval of the median], mean rank "
             "(1 = best); every row uses the seeds that all rows without an LLM have finished; "
             "`n` = seeds. (prefix): the best after that many "
             "evaluations of the largest budget's runs, which plan for that budget (their sizes scale "
             "with it); random's prefixes equal its runs at the smaller budget.", ""]
    for task in sorted({r["task"] for r in rows}):
        lines += [f"## {task}", ""]
        # compare on the same seeds: those every row without an LLM ("+" in its label) has finished
        plain = {r["label"] for r in rows if r["task"] == task and "+" not in r["label"]}
        seed_sets = [{r["seed"] for r in rows if r["task"] == task and r["label"] == lb} for lb in plain]
        common = set.intersection(*seed_sets) if seed_sets else set()
        rows_all = rows
        rows = [r for r in rows if r["task"] != task or r["seed"] in common]
        task_budgets = sorted({r["budget"] for r in rows if r["task"] == task})
        labels = sorted({r["label"] for r in rows if r["task"] == task})
        lines += ["The search's own best (the maximum of its measurements):", ""]
        lines += table(rows, task, task_budgets, labels, "best", rng)
        if paired is not None and paired in labels:
            lines += ["", f"Own best, paired: the mean difference from `{paired}` on the same seeds "
                      "[bootstrap 90% of the mean], and on how many seeds the row is higher:", ""]
            lines += paired_table(rows, task, task_budgets, labels, paired, rng)
        held = [{**r, "best": held_out.get((r["task"], r["label"], r["budget"], r["seed"]))}
                for r in rows if r["task"] == task]
        if any(r["best"] is not None for r in held):
            lines += ["", "Held-out re-evaluation of the encoder each search returns (the mean over "
                      f"{k} fresh seeds of the best of its first `b` evaluations; see "
                      "benchmarks/reeval.py): the figure that ranks strategies where a tree's score "
                      "moves from seed to seed.", ""]
            lines += table(held, task, task_budgets, labels, "best", rng)
            if paired is not None and paired in labels:
                lines += ["", f"Held-out, paired: the mean difference from `{paired}` on the same seeds "
                          "[bootstrap 90% of the mean], and on how many seeds the row is higher:", ""]
                lines += paired_table(held, task, task_budgets, labels, paired, rng)
            noise = within_tree_sd(reeval, task)
            if noise is not None:
                lines += ["", f"Seed-to-seed noise of one tree's score (median SD of those re-evaluations): "
                          f"{noise[0]:.3f}; spread between the trees searches returned (SD): {noise[1]:.3f}."]
        lines.append("")
        arms = [r for r in rows if r["task"] == task and r.get("arms") and len(r["arms"]) > 1
                and not r.get("derived")]
        if arms:
            lines += ["Arms of the rows with several arms (summed over runs): chosen / improved / "
                      "proposal seconds", ""]
            for lb in sorted({r["label"] for r in arms}):
                for b in sorted({r["budget"] for r in arms if r["label"] == lb}):
                    summed: dict[str, list[float]] = {}
                    for r in arms:
                        if r["label"] == lb and r["budget"] == b:
                            for arm, st in r["arms"].items():
                                acc = summed.setdefault(arm, [0, 0, 0.0, 0])
                                acc[0] += st["chosen"]
                                acc[1] += st["improved"]
                                acc[2] += st["seconds"]
                                acc[3] += st.get("screen_won", 0)
                    text = "; ".join(f"{a}: {int(c)} / {int(i)} / {sec:.0f} s"
                                     + (f" (screen chose the LLM {int(w)})" if a.endswith(":llm") else "")
                                     for a, (c, i, sec, w) in summed.items())
                    lines.append(f"- {lb}, budget {b}: {text}")
            lines.append("")
        plot(out, task, [r for r in rows if r["task"] == task and r["budget"] == max(task_budgets)])
        rows = rows_all
    text = "\n".join(lines)
    (out / "report.md").write_text(text + "\n")
    return text


def paired_table(rows: list[dict[str, Any]], task: str, budgets: list[int], labels: list[str], base: str,
                 rng: np.random.Generator) -> list[str]:
    """Markdown rows: per label and budget the mean of (label - `base`) over the seeds both have
    [bootstrap 90% of the mean], and the seeds where the label is higher / n. Runs of variants of
    one strategy share their start, so pairing removes much of the seed-to-seed spread."""
    lines = header(budgets)
    for lb in (x for x in labels if x != base):
        cells = []
        for b in budgets:
            mine, theirs = by_seed(rows, task, lb, b, "best"), by_seed(rows, task, base, b, "best")
            seeds = sorted(mine.keys() & theirs.keys())
            if not seeds:
                cells.append("-")
                continue
            d = np.array([mine[x] - theirs[x] for x in seeds])
            boot = d[rng.integers(0, len(d), size=(2000, len(d)))].mean(axis=1)
            lo, hi = np.percentile(boot, [5, 95])
            cells.append(f"{d.mean():+.3f} [{lo:+.3f}, {hi:+.3f}], {int((d > 0).sum())}/{len(d)}")
        lines.append(f"| {lb} | " + " | ".join(cells) + " |")
    return lines


def header(budgets: list[int]) -> list[str]:
    """A Markdown table's head: one column per budget."""
    return ["| row | " + " | ".join(f"budget {b}" for b in budgets) + " |", "|---|" + "---|" * len(budgets)]


def by_seed(rows: list[dict[str, Any]], task: str, label: str, budget: int, key: str) -> dict[int, float]:
    """`key` of one row and budget, per seed (seeds without a value left out)."""
    return {r["seed"]: r[key] for r in rows if r["task"] == task and r["budget"] == budget
            and r["label"] == label and r[key] is not None}


def table(rows: list[dict[str, Any]], task: str, budgets: list[int], labels: list[str], key: str,
          rng: np.random.Generator) -> list[str]:
    """Markdown rows: per label and budget the median of `key` over seeds [bootstrap 90%], mean rank, n."""
    lines = header(budgets)
    rank_by_budget = {}
    for b in budgets:
        tab = {lb: by_seed(rows, task, lb, b, key) for lb in labels}
        most = max((len(v) for v in tab.values()), default=0)  # rows with fewer seeds get no rank
        rank_by_budget[b] = ranks({lb: v for lb, v in tab.items() if v and len(v) == most})
    for lb in labels:
        cells = []
        for b in budgets:
            vals = np.array([r[key] for r in rows if r["task"] == task and r["budget"] == b
                             and r["label"] == lb and r[key] is not None], dtype=float)
            if len(vals) == 0:
                cells.append("-")
                continue
            lo, hi = bootstrap_median(vals, rng)
            rank = rank_by_budget[b].get(lb)
            rank_text = f", rank {rank:.1f}" if rank is not None else ", no rank (fewer seeds)"
            derived = any(r.get("derived") for r in rows if r["task"] == task and r["budget"] == b
                          and r["label"] == lb)
            mark = " (prefix)" if derived else ""
            cells.append(f"{np.median(vals):.3f} [{lo:.3f}, {hi:.3f}]{rank_text}, n={len(vals)}{mark}")
        lines.append(f"| {lb} | " + " | ".join(cells) + " |")
    return lines


def held_out_means(reeval: list[dict[str, Any]]) -> dict[tuple[str, str, int, int], float | None]:
    """(task, label, budget, seed) -> the mean of its held-out re-evaluations (None: all failed)."""
    found = {}
    for r in reeval:
        vals = [v for v in r["values"] if v is not None]
        found[(r["task"], r["label"], r["budget"], r["seed"])] = float(np.mean(vals)) if vals else None
    return found


def within_tree_sd(reeval: list[dict[str, Any]], task: str) -> tuple[float, float] | None:
    """(median SD of one tree's re-evaluations, SD of their means) over the task's re-evaluated trees."""
    rows = [r for r in reeval if r["task"] == task
            and len([v for v in r["values"] if v is not None]) >= 2]
    if len(rows) < 2:
        return None
    sds = [float(np.std([v for v in r["values"] if v is not None], ddof=1)) for r in rows]
    means = [float(np.mean([v for v in r["values"] if v is not None])) for r in rows]
    return float(np.median(sds)), float(np.std(means, ddof=1))


def plot(out: Path, task: str, rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for lb in sorted({r["label"] for r in rows}):
        curves = [r["curve"] for r in rows if r["label"] == lb]
        n = min(len(c) for c in curves)
        data = np.array([[np.nan if v is None else v for v in c[:n]] for c in curves], dtype=float)
        x = np.arange(1, n + 1)
        ax.plot(x, np.nanmedian(data, axis=0), label=f"{lb} (n={len(curves)})")
        ax.fill_between(x, np.nanpercentile(data, 25, axis=0), np.nanpercentile(data, 75, axis=0), alpha=0.2)
    ax.set_xlabel("evaluations")
    ax.set_ylabel("best fitness so far (median, band 25-75 %)")
    ax.set_title(f"{task}: best so far")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / f"best_so_far_{task}.png", dpi=110)
    plt.close(fig)
