"""Does today's code make the trees a stored run made? A replay, without evaluating anything.

A benchmark pairs runs made at different commits only if the code between them makes the same
searches. This script runs today's search again with the stored run's strategy, budget, seed and
settings, but its evaluator answers each tree with the feedback the stored run recorded for it
(the n-th evaluation of a tree gets the tree's n-th recorded feedback). A tree the stored run
never evaluated gets a failure feedback ("not in the record"), so the replay ends in seconds
per candidate (the gate's forward passes, the planner, the screen) instead of the evaluations'
hours. It then compares the two runs candidate by candidate, by tree hash:

    python benchmarks/replay.py benchmarks/out/rl20_none/runs/ring-large/hybrid/b48-s20 --task ring-large

prints, per run, how many candidates were compared and where the trees first differ (none: the
same search). Runs without an LLM only (``llm`` "none"): a model's answers are not replayed.
Nothing in the stored folder is executed: ``run.json`` and ``candidates.jsonl`` are read as JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from eval_cache import Wrapping  # noqa: E402  (sibling modules)
from hybrid_budgets import task_evaluator  # noqa: E402
from llm_parting import candidates, parting  # noqa: E402

from evo_lacer.evaluate import Feedback, Status  # noqa: E402
from evo_lacer.tree import Node, node_to_dict  # noqa: E402

PASSED = ("strategy", "budget", "seed", "llm", "workers")
"""Settings `replay` passes by name; every other stored setting that differs from today's default
is passed as an option."""


def tree_key(tree: dict[str, Any]) -> str:
    return json.dumps(tree, sort_keys=True)


class ReplayEvaluator(Wrapping):
    """Answers from a stored run's record; an evaluator's other attributes are the inner one's."""

    def __init__(self, inner: Any, records: list[dict[str, Any]]) -> None:
        self._inner = inner
        self._answers: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in records:
            if r.get("evaluated") and r.get("feedback"):
                self._answers[tree_key(r["tree"])].append(r["feedback"])
        self.misses = 0

    def evaluate(self, tree: Node, seed: int) -> Feedback:
        queue = self._answers.get(tree_key(node_to_dict(tree)))
        if queue:
            return Feedback.from_dict(queue.pop(0))
        self.misses += 1
        return Feedback.failure(Status.FAILED, "not in the record (replay)")


def stored_options(config: dict[str, Any]) -> dict[str, Any]:
    """The stored settings that differ from today's defaults, except those passed by name."""
    from evo_lacer.engine import SearchConfig

    defaults = json.loads(json.dumps(dataclasses.asdict(SearchConfig()), default=str))
    return {k: v for k, v in config.items()
            if k in defaults and k not in PASSED and v != defaults[k]}


def replay(run: Path, inner: Any) -> dict[str, Any]:
    """Replay the stored `run` with `inner` (the task's evaluator) answering nothing but its
    attributes; returns where the trees first differ (None: nowhere) and the counts."""
    import torch

    import evo_lacer

    torch.set_num_threads(1)
    config = json.loads((run / "run.json").read_text())["config"]
    if config.get("llm", "none") != "none":
        raise SystemExit(f"{run}: llm={config['llm']!r}; only runs without an LLM can be replayed")
    recorded = candidates(run)
    evaluator = ReplayEvaluator(inner, recorded)
    options = stored_options(config)
    with tempfile.TemporaryDirectory() as tmp:
        result = evo_lacer.search(evaluator=evaluator, strategy=config["strategy"], budget=config["budget"],
                                  seed=config["seed"], llm="none", workers=1, run_dir=Path(tmp) / "replay",
                                  **options)
        made = candidates(Path(tmp) / "replay")
    return {"run": str(run), "options": options, "recorded": len(recorded), "replayed": len(made),
            "first_difference": parting(recorded, made)["parted_at"], "misses": evaluator.misses,
            "best": None if result.best_feedback is None else result.best_feedback.fitness}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", type=Path, help="stored run folders (run.json, candidates.jsonl)")
    p.add_argument("--task", required=True, help="the task the runs searched (hybrid_budgets.py's names)")
    args = p.parse_args()
    inner = task_evaluator(args.task)
    differ = 0
    for run in args.runs:
        row = replay(run, inner)
        same = row["first_difference"] is None and row["replayed"] == row["recorded"]
        differ += not same
        at = row["first_difference"]
        where = ("the same trees" if same else f"trees differ from candidate {at}" if at is not None
                 else f"{row['replayed']} candidates against {row['recorded']}")
        print(f"{run}: {row['recorded']} recorded, {row['replayed']} replayed, {where}; "
              f"misses {row['misses']}; best {row['best']}; options {row['options']}", flush=True)
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
