"""The NumPy ring at smoke size for the darts / enas tests, and an RL evaluator that sleeps before
each evaluation and logs it (so a test can kill a search mid-evaluation and count evaluations)."""

from __future__ import annotations

import os
import time
from typing import Any

from evo_lacer.evaluate import Feedback, RLEvaluator
from evo_lacer.tree import Node, tree_hash

RING = "evo_lacer/RingTraffic-v0"
RL_OPTIONS: dict[str, Any] = {"steps": 64, "eval_episodes": 1,
                              "env_kwargs": {"backend": "numpy", "horizon": 20}}
"""One candidate: 64 PPO env steps (one PPO update), one held-out episode of 20 steps."""


class SlowRingEvaluator(RLEvaluator):
    """`RLEvaluator` on the ring with `RL_OPTIONS`; each evaluation first sleeps $EVO_TEST_SLEEP
    seconds and, once done, appends the tree's hash to $EVO_TEST_LOG."""

    def __init__(self) -> None:
        super().__init__(RING, **RL_OPTIONS)

    def evaluate(self, tree: Node, seed: int) -> Feedback:
        time.sleep(float(os.environ.get("EVO_TEST_SLEEP", "0")))
        feedback = super().evaluate(tree, seed)
        path = os.environ.get("EVO_TEST_LOG")
        if path:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(tree_hash(tree) + "\n")
        return feedback
