"""Held-out re-evaluation of the encoder each search returns, for benchmarks/hybrid_budgets.py.

A search's own "best fitness" is the maximum of noisy measurements: where one tree's score moves
from seed to seed about as much as scores differ between trees (the ring's cheap fidelity at the
benchmark's size), that maximum mostly rewards luck -- the winner's curse -- and says little about
the encoder the user gets. So the tree a search would return after `b` evaluations (the best of
its first `b` evaluated candidates) is evaluated again on `k` fresh seeds that no search uses
(`HELD_OUT_SEED` + 0..k-1), and its mean is the figure that ranks strategies. Run folders are read
back as data (``candidates.jsonl``), never executed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evo_lacer.tree import Node

HELD_OUT_SEED = 1_000_003
"""First seed of the re-evaluations (search seeds are small integers; candidate seeds derive from them)."""


def scored(candidates: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """The candidates with a score and a tree among the first `budget` evaluated ones (in id
    order; the same count as the best-so-far curve)."""
    evaluated = [c for c in sorted(candidates, key=lambda c: int(c["id"])) if c.get("evaluated")][:budget]
    return [c for c in evaluated if (c.get("feedback") or {}).get("fitness") is not None and c.get("tree")]


def best_within(candidates: list[dict[str, Any]], budget: int) -> dict[str, Any] | None:
    """The best scored candidate among the first `budget` evaluated ones, or None."""
    ok = scored(candidates, budget)
    return max(ok, key=lambda c: float(c["feedback"]["fitness"])) if ok else None


def read_candidates(run_dir: Path) -> list[dict[str, Any]]:
    """A run folder's ``candidates.jsonl``, read as JSON records."""
    lines = (run_dir / "candidates.jsonl").read_text().splitlines()
    return [json.loads(x) for x in lines if x.strip()]


def rescore(task: str, tree: Node, k: int, device: str = "cpu") -> list[float | None]:
    """`tree`'s fitness on `task` with each of the `k` held-out seeds (None: that evaluation failed),
    on one torch thread."""
    import sys

    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from hybrid_budgets import task_evaluator

    torch.set_num_threads(1)
    evaluator = task_evaluator(task, device)
    values = [evaluator.evaluate(tree, HELD_OUT_SEED + j).fitness for j in range(k)]
    return [None if v is None else float(v) for v in values]


def reevaluate(job: dict[str, Any]) -> dict[str, Any]:
    """Re-evaluate one (task, label, seed, budget)'s returned tree on `k` held-out seeds."""
    from evo_lacer.tree import node_from_dict

    best = best_within(read_candidates(Path(job["run_dir"])), int(job["budget"]))
    key = {k: job[k] for k in ("task", "label", "budget", "seed")}
    if best is None:
        return {**key, "candidate": None, "values": []}
    values = rescore(job["task"], node_from_dict(best["tree"]), int(job["k"]), job.get("device", "cpu"))
    return {**key, "candidate": int(best["id"]), "search_fitness": float(best["feedback"]["fitness"]),
            "values": values}
