"""Hybrid against TPE on ring-large, pooled over seeds whose run folders are gone and seeds whose
folders you have: the earlier seeds' own best and held-out figures (three decimals, as printed in
`docs/hybrid_evidence.md`: seeds 10-14 under "Ring (`ring-large`): five seeds", 20-24 under "What
came of it (session 36)") joined with the ``results.jsonl`` and ``reeval.jsonl`` of the folders
named, through `budget_report.py`'s own `table` and `paired_table` (rng seeded 0). Runs nothing.

    python benchmarks/ring_pool.py benchmarks/out/rl25_{hybrid,hybrid_b,tpe}   # session 38's folders

A seed enters a table only when both strategies have it at both budgets; the figures of the
earlier seeds alone are printed first, to check them against the evidence file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import budget_report as br
import numpy as np

TASK, BUDGETS, LABELS = "ring-large", [24, 48], ["hybrid", "tpe"]
CELLS = [(label, budget) for label in LABELS for budget in BUDGETS]
"""The order of each earlier seed's four figures below."""

OWN: dict[int, tuple[float, float, float, float]] = {
    # seed: (hybrid after 24, hybrid after 48, tpe after 24, tpe after 48), each search's own best
    10: (0.673, 0.695, 0.651, 0.686), 11: (0.645, 0.680, 0.601, 0.633), 12: (0.608, 0.674, 0.571, 0.710),
    13: (0.642, 0.673, 0.596, 0.618), 14: (0.678, 0.717, 0.609, 0.721),
    20: (0.619, 0.719, 0.685, 0.707), 21: (0.526, 0.581, 0.651, 0.703), 22: (0.569, 0.621, 0.696, 0.721),
    23: (0.694, 0.737, 0.678, 0.693), 24: (0.617, 0.695, 0.694, 0.716)}
HELD: dict[int, tuple[float, float, float, float]] = {
    # the same, for the returned encoder's mean over 3 held-out seeds
    10: (0.645, 0.591, 0.547, 0.588), 11: (0.556, 0.618, 0.566, 0.511), 12: (0.675, 0.547, 0.523, 0.601),
    13: (0.539, 0.606, 0.560, 0.527), 14: (0.584, 0.700, 0.612, 0.613),
    20: (0.513, 0.697, 0.423, 0.672), 21: (0.506, 0.414, 0.632, 0.620), 22: (0.556, 0.559, 0.704, 0.641),
    23: (0.591, 0.551, 0.604, 0.591), 24: (0.574, 0.651, 0.667, 0.642)}


def rows_of(figures: dict[int, tuple[float, float, float, float]]) -> list[dict[str, Any]]:
    """`budget_report` rows (key ``best``) of a table of earlier seeds."""
    rows = []
    for seed, values in figures.items():
        for (label, budget), value in zip(CELLS, values, strict=True):
            rows.append({"task": TASK, "label": label, "budget": budget, "seed": seed, "best": value})
    return rows


def _complete(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of seeds that both labels have at both budgets."""
    have = {(r["label"], r["budget"], r["seed"]) for r in rows}
    seeds = {r["seed"] for r in rows
             if all((lb, b, r["seed"]) in have for lb, b in CELLS)}
    return [r for r in rows if r["seed"] in seeds and r["label"] in LABELS and r["budget"] in BUDGETS]


def own_rows(folders: list[Path]) -> list[dict[str, Any]]:
    """Own best per (label, budget, seed) in the folders' ``results.jsonl``, to three decimals."""
    rows = []
    for folder in folders:
        for r in br.expand(br.load(folder / "results.jsonl"), BUDGETS):
            if r["task"] == TASK:
                rows.append({"task": TASK, "label": r["label"], "budget": r["budget"], "seed": r["seed"],
                             "best": round(r["best"], 3)})
    return _complete(rows)


def held_rows(folders: list[Path]) -> list[dict[str, Any]]:
    """Held-out means per (label, budget, seed) in the folders' ``reeval.jsonl``, to three decimals."""
    rows = []
    for folder in folders:
        for (task, label, budget, seed), value in br.held_out_means(br.load(folder / "reeval.jsonl")).items():
            if task == TASK and value is not None:
                rows.append({"task": TASK, "label": label, "budget": budget, "seed": seed,
                             "best": round(value, 3)})
    return _complete(rows)


def show(rows: list[dict[str, Any]], title: str) -> None:
    """Print the medians and the paired table (tpe - hybrid) of `rows`."""
    rng = np.random.default_rng(0)
    seeds = sorted({r["seed"] for r in rows})
    print(f"## {title} (n = {len(seeds)}: seeds {', '.join(map(str, seeds))})")
    print("\n".join(br.table(rows, TASK, BUDGETS, LABELS, "best", rng)))
    print("\n".join(br.paired_table(rows, TASK, BUDGETS, LABELS, "hybrid", rng)))
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="hybrid_budgets.py output folders")
    folders = parser.parse_args().folders
    for name, earlier, new in (("own best", OWN, own_rows(folders)), ("held-out", HELD, held_rows(folders))):
        show(rows_of(earlier), f"{name}, earlier seeds")
        if new:
            for seed in sorted({r["seed"] for r in new}):
                print(seed, {f"{r['label']} {r['budget']}": r["best"] for r in new if r["seed"] == seed})
            show(new, f"{name}, the folders' seeds")
            show(rows_of(earlier) + new, f"{name}, pooled")


if __name__ == "__main__":
    main()
