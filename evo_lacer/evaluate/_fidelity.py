"""Multi-fidelity bookkeeping: how many cheap results go on to the full fidelity, and the record a
promoted candidate keeps.

The search's one promotion path is `evo_lacer.engine._promotion.promote` (``fidelity="halving"``):
it ranks the cheap results in the parent process and evaluates the best `n_promoted` of them with
the full evaluator, through the same executor as the search. Fitnesses of different fidelities
are on different scales (imitation skill vs. reward): compare a candidate only with others of the
same ``Feedback.fidelity``; best-so-far curves use the full fidelity.
"""

from __future__ import annotations

import math
from dataclasses import replace

from evo_lacer.evaluate._feedback import Feedback


def n_promoted(n_ok: int, keep: float, min_keep: int = 1) -> int:
    """How many of ``n_ok`` successful cheap results go on to the full fidelity."""
    return min(n_ok, max(min_keep, math.ceil(keep * n_ok)))


def promote_record(cheap: Feedback, full: Feedback) -> Feedback:
    """The full Feedback, remembering the cheap fitness and adding the cheap cost."""
    metrics = dict(full.metrics)
    if cheap.fitness is not None:
        metrics["cheap_fitness"] = cheap.fitness
    return replace(full, metrics=metrics, cost=cheap.cost + full.cost)
